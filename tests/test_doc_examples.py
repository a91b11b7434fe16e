"""The examples in docs/*.md run as tests (Sybil), so a page cannot drift from the code.

Per page, in order (conventions: docs/README.md#examples-in-these-pages):

- ```` ```toml ```` blocks parse; complete files validate: configuration files against the
  settings model (:func:`riskd.settings.load_settings`), rule files with the rules loader
  (the one ``riskd check`` uses), rule test files run (``riskd test``), scenario files with
  :func:`riskd.sim.load_scenario`. Which kind a block is follows from its page: rules.md
  (rules, or rule tests when the block has ``[[test]]``), scenarios.md (scenarios), any other
  page (configuration).
- ```` ```json ```` blocks parse (one document, or one per line).
- ```` ```console ```` blocks: each ``$ riskd …`` command that runs offline — ``check``,
  ``test``, ``--help``, and ``status``/``journal`` on a journal the page creates — runs in the
  page's working directory (a copy of the repository's ``rules/``) and must exit 0 and print
  the lines shown under it (a line ``...`` stands for any lines, ``...`` inside a line for
  any text). Other commands (``riskd run``, ``riskd api``, a server's paths) are not run.
- ``<!-- example: partial -->`` before a block: a fragment (parsed only, not validated, not
  run); ``<!-- example: file=PATH -->``: the block is also saved as PATH in the working
  directory; ``<!-- example: journal=PATH -->``: an example journal is created at PATH
  before the block; ``<!-- example: exit=N -->``: the commands exit N;
  ``<!-- skip: next -->`` (Sybil's): the block is not checked at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import re
import shlex
import shutil
import time
import tomllib
import unittest
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
#: Subcommands run offline whatever the page; status and journal only on a page's journal.
OFFLINE = ("check", "test")
ON_JOURNAL = ("status", "journal")


# --- the page's state: directives for the next block, the working directory -------------------
def _directives(example: Example) -> dict[str, str]:
    """The ``<!-- example: … -->`` directives given for this block (consumed); the block
    counts as checked."""
    example.namespace["checked"] = example.namespace.get("checked", 0) + 1
    pending: dict[str, str] = example.namespace.pop("next", {})
    return pending


def _workdir(example: Example) -> Path:
    path: Path = example.namespace["workdir"]
    return path


def evaluate_directive(example: Example) -> str | None:
    """``<!-- example: partial file=riskd.toml -->``: remembered for the next block."""
    words: dict[str, str] = {}
    for word in str(example.parsed).split():
        key, _, value = word.partition("=")
        if key not in ("partial", "file", "journal", "exit"):
            return f"unknown example directive {key!r} (partial, file=, journal=, exit=)"
        words[key] = value
    example.namespace["next"] = words
    return None


class DirectiveParser:
    """Finds ``<!-- example: … -->`` comments."""

    def __init__(self) -> None:
        self.lexer = DirectiveInHTMLCommentLexer(directive="example", arguments=".+?")

    def __call__(self, document: Document) -> Iterator[Region]:
        for lexed in self.lexer(document):
            yield Region(lexed.start, lexed.end, lexed.lexemes["arguments"], evaluate_directive)


@contextlib.contextmanager
def _clean_env(cwd: Path) -> Iterator[None]:
    """No RISKD_*/systemd variables of the test run leak into an example; run in ``cwd``."""
    saved = dict(os.environ)
    old = Path.cwd()
    for key in list(os.environ):
        if key.startswith("RISKD_") or key in ("STATE_DIRECTORY", "CREDENTIALS_DIRECTORY"):
            del os.environ[key]
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(old)
        os.environ.clear()
        os.environ.update(saved)


# --- toml and json ------------------------------------------------------------------------------
def _toml_kind(example: Example, data: dict[str, object]) -> str:
    page = Path(example.path).name
    if page == "rules.md":
        return "rule test" if "test" in data else "rules"
    return "scenario" if page == "scenarios.md" else "configuration"


def evaluate_toml(example: Example) -> str | None:
    """Parse; validate a complete file as what its page documents."""
    directives = _directives(example)
    text = str(example.parsed)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return f"TOML does not parse: {exc}"
    workdir = _workdir(example)
    if "file" in directives:
        target = workdir / directives["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    if "partial" in directives:
        return None
    kind = _toml_kind(example, data)
    name = f"example_line{example.line}.toml"
    with _clean_env(workdir):
        if kind == "configuration":
            return _check_config(workdir / "examples" / name, text)
        if kind == "rules":
            return _check_rules(workdir / "examples" / name, text)
        if kind == "rule test":
            return _check_rule_test(workdir / "rules" / "tests" / name, text)
        return _check_scenario(workdir / "examples" / name, text)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _check_config(path: Path, text: str) -> str | None:
    from riskd.settings import ConfigError, load_settings

    try:
        load_settings(_write(path, text))
    except ConfigError as exc:
        return f"not a valid configuration: {exc}"
    return None


def _check_rules(path: Path, text: str) -> str | None:
    from riskd.rules.loader import load

    result = load([_write(path, text)])
    if result.errors or result.ruleset is None:
        return "rules do not load: " + "; ".join(str(p) for p in result.problems)
    return None


def _check_rule_test(path: Path, text: str) -> str | None:
    from riskd.rules.testing import format_results, run_file

    result = run_file(_write(path, text))
    return None if result.passed else "rule test fails:\n" + format_results([result])


def _check_scenario(path: Path, text: str) -> str | None:
    from riskd.sim import ScenarioError, load_scenario

    try:
        load_scenario(_write(path, text))
    except ScenarioError as exc:
        return f"not a valid scenario: {exc}"
    return None


def evaluate_json(example: Example) -> str | None:
    """One JSON document, or one per line."""
    if "partial" in _directives(example):
        return None
    text = str(example.parsed)
    try:
        json.loads(text)
    except json.JSONDecodeError:
        for n, line in enumerate(text.splitlines(), 1):
            try:
                json.loads(line) if line.strip() else None
            except json.JSONDecodeError as exc:
                return f"JSON does not parse (line {n}): {exc}"
    return None


# --- console ------------------------------------------------------------------------------------
def commands(text: str) -> list[tuple[str, list[str]]]:
    """``$ command`` lines with the output lines shown under each."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:].strip(), []))
        elif out:
            out[-1][1].append(line)
    return out


#: What differs from run to run, compared as a placeholder: date-times, ages, pids.
_VOLATILE = (
    (re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\b"), "<time>"),
    (re.compile(r"\b\d+[smhd](?: \d+[smhd])?(?= (?:ago|old)\b)"), "<age>"),
    (re.compile(r"\bpid \d+"), "pid <pid>"),
)


def normalize(text: str) -> str:
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def output_pattern(expected: list[str]) -> re.Pattern[str]:
    """A line ``...`` matches any lines; ``...`` within a line any text; times, ages and
    pids match any (:func:`normalize` the output first)."""
    parts: list[str] = []
    for line in map(normalize, expected):
        if line.strip() in ("...", "…"):
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            escaped = re.escape(line.rstrip())
            parts.append(escaped.replace(re.escape("..."), ".*?") + r"[ \t]*\n")
    return re.compile("".join(parts) + r"\Z")


def _runnable(args: list[str], workdir: Path) -> bool:
    """Whether the example command runs offline in the page's working directory."""
    if len(args) < 2 or args[0] != "riskd":  # also: a command with VAR=value before it
        return False
    if "--help" in args or args[1] in OFFLINE:
        return True
    if args[1] not in ON_JOURNAL:
        return False
    for flag in ("--journal", "--config"):
        if flag in args and args.index(flag) + 1 < len(args):
            target = workdir / args[args.index(flag) + 1]
            if flag == "--journal":
                return target.exists()
            return target.exists() and (workdir / ".example-journal").exists()
    return False


def evaluate_console(example: Example) -> str | None:
    """Run each offline ``riskd`` command; compare its output with the lines shown."""
    from riskd.cli.main import cli

    directives = _directives(example)
    workdir = _workdir(example)
    if "journal" in directives:
        seed_journal(workdir / directives["journal"])
        (workdir / ".example-journal").touch()
    if "partial" in directives:
        return None
    want_exit = int(directives.get("exit") or 0)
    for command, expected in commands(str(example.parsed)):
        args = shlex.split(command, comments=True)
        if not _runnable(args, workdir):
            continue
        with _clean_env(workdir):
            argv = [m for a in args[1:] for m in (sorted(glob.glob(a)) or [a])]
            result = CliRunner().invoke(cli, argv)
        shown = result.output if result.output.endswith("\n") else result.output + "\n"
        if result.exit_code != want_exit:
            return f"`{command}` exited {result.exit_code}, not {want_exit}:\n{shown}"
        if expected and not output_pattern(expected).match(normalize(shown)):
            return f"`{command}` printed:\n{shown}\nthe page shows:\n" + "\n".join(expected)
    return None


def seed_journal(path: Path) -> None:
    """The example journal: a daemon running (this process) for an hour, account main in
    dry-run with a calm cross and isolated scope, a budget key, a healthy notifier."""
    from riskd.daemon.journal import Journal
    from riskd.daemon.status_model import ScopeRow

    now = time.time()
    d = Decimal
    common = {
        "warning_risk_ratio": d("0.8"), "liquidation_risk_ratio": d("1"),
        "risk_reading": "liabilities/assets", "reading_checked": True,
        "observed_at": now - 6, "data_age_s": 2.0,
    }  # fmt: skip
    rows = [
        ScopeRow(
            "main", "cross", risk_rate=d("0.19036629"), reported_risk_rate=d("0.19036629"),
            local_risk_rate=d("0.19036629"), price_move_to_liquidation=d("-0.6211"),
            risk_samples=((now - 66, d("0.18936629")), (now - 6, d("0.19036629"))),
            **common,  # type: ignore[arg-type]
        ),
        ScopeRow(
            "main", "isolated:BTCUSDT", risk_rate=d("0.20080529"),
            reported_risk_rate=d("0.20080529"), local_risk_rate=d("0.20080529"),
            price_move_to_liquidation=d("-0.1996"),
            risk_samples=((now - 66, d("0.20080529")), (now - 6, d("0.20080529"))),
            **common,  # type: ignore[arg-type]
        ),
    ]  # fmt: skip
    meta = {
        "pid": os.getpid(), "started_at": now - 3600, "last_cycle_at": now - 4,
        "budget": [
            "cross_assets/UID/main: 1/9 of 10/1s (polls 1/6), 429s 0, waits 0 (0.00s),"
            " exhausted 0"
        ],
        "notifier": {"healthy": True, "queued": 0, "delivered": 1, "failed": 0, "dropped": 0},
    }  # fmt: skip

    async def go() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        j = await Journal.open(path)
        try:
            await j.record("lifecycle", "riskd started; accounts: main (dry-run)", at=now - 3600)
            await j.write_status([(r.account, r.scope, r.to_record()) for r in rows], at=now - 4)
            await j.set_meta("daemon", meta)
            await j.set_meta("running", True)
        finally:
            await j.close()

    asyncio.run(go())


# --- the pages ------------------------------------------------------------------------------------
SYBIL = Sybil(
    parsers=[
        DirectiveParser(),
        SkipParser(),
        CodeBlockParser("toml", evaluate_toml),
        CodeBlockParser("json", evaluate_json),
        CodeBlockParser("console", evaluate_console),
    ],
)


def run_page(page: Path, workdir: Path) -> tuple[int, list[str]]:
    """Evaluate every example of ``page`` in order: (code blocks checked, failures)."""
    shutil.copytree(ROOT / "rules", workdir / "rules")
    document = SYBIL.parse(page)
    document.namespace["workdir"] = workdir
    failures = []
    for example in document:
        try:
            example.evaluate()
        except unittest.SkipTest:
            continue
        except AssertionError as exc:  # SybilFailure
            failures.append(f"{page.name}:{example.line}: {exc}")
    return document.namespace.get("checked", 0), failures


@pytest.mark.parametrize("page", PAGES)
def test_page_examples(page: str, tmp_path: Path) -> None:
    """Every TOML, JSON and runnable console example of the page is right."""
    _, failures = run_page(DOCS / page, tmp_path)
    assert failures == [], "\n\n".join(failures)


def _page(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "docs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_blocks_fail(tmp_path: Path) -> None:
    """A broken TOML block, an invalid setting and a wrong command output are reported."""
    page = _page(
        tmp_path,
        "x.md",
        "```toml\nlive = \n```\n\n```toml\n[poll]\ninterval = 'soon'\n```\n\n"
        "```console\n$ riskd check rules/\nok: 99 rule(s)...\n```\n\n```json\n{nope\n```\n",
    )
    _, failures = run_page(page, tmp_path / "work")
    assert len(failures) == 4
    assert "x.md:1: " in failures[0] and "TOML does not parse" in failures[0]
    assert "poll.interval" in failures[1]
    assert "the page shows:\nok: 99 rule(s)..." in failures[2]
    assert "JSON does not parse" in failures[3]


def test_markers_and_rule_pages(tmp_path: Path) -> None:
    """partial fragments and skipped blocks pass; a bad rule on rules.md fails to load."""
    page = _page(
        tmp_path,
        "rules.md",
        "<!-- example: partial -->\n```toml\nthen = ['notify']\n```\n\n"
        "<!-- skip: next -->\n```toml\nnot toml at all\n```\n\n"
        "```toml\n[[rule]]\nname = 'x'\nwhen = 'riskRate >>> 1'\n```\n\n"
        "```console\n$ riskd check rules/\nok: ... rule(s) in 2 file(s)...\n```\n",
    )
    checked, failures = run_page(page, tmp_path / "work")
    assert len(failures) == 1 and "rules do not load" in failures[0], failures
    assert checked == 3  # the partial block, the bad rule, the console block


def test_status_runs_on_the_example_journal(tmp_path: Path) -> None:
    """`riskd status --journal` runs on the journal a page creates, matched with ellipses."""
    page = _page(
        tmp_path,
        "ops.md",
        "<!-- example: journal=state/j.sqlite3 -->\n```console\n"
        "$ riskd status --journal state/j.sqlite3\nriskd running (pid ...), last cycle ... ago\n"
        "...\nbudget:\n  cross_assets/UID/main: 1/9 of 10/1s...\n...\n"
        "$ riskd status --journal state/other.sqlite3\nnot run: no such journal\n```\n",
    )
    assert run_page(page, tmp_path / "work") == (1, [])


def test_output_pattern() -> None:
    """`...` lines match any lines (none too), `...` in a line any text, and nothing else."""
    pattern = output_pattern(["a ... z", "...", "end"])
    assert pattern.match("a b c z\nend\n") and pattern.match("a  z\nx\ny\nend\n")
    assert not pattern.match("a z\nend\nmore\n") and not pattern.match("b z\nend\n")


def test_volatile_figures_match_any() -> None:
    """Shown times, ages and pids stand for any; other figures must be equal."""
    pattern = output_pattern(["2026-11-23 20:38:26 riskd (pid 31968) seen 4s ago, data 1m 2s old"])
    assert pattern.match(
        normalize("2027-01-02 03:04:05 riskd (pid 7) seen 2h 1m ago, data 9s old\n")
    )
    assert not pattern.match(
        normalize("2027-01-02 03:04:05 riskd (pid 7) seen 4s ago, data 9 old\n")
    )
