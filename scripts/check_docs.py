#!/usr/bin/env python3
"""Check docs/ against the code: every name the code defines is documented, every name the
docs use exists.

    .venv/bin/python scripts/check_docs.py [DOCS_DIR]

Exit 0 when the docs agree with the code, 1 with one line per problem. What is checked (names
come from the code's own tables, imported, never copied here):

1. configuration.md: a reference row ``| `key` | type | default | env | meaning |`` for every
   setting of :class:`riskd.settings.Settings`, walked recursively (``poll.interval``,
   ``accounts.<name>.caps.coins.<COIN>.max_day``, ``notify.routes[].urls``), naming its
   ``RISKD_*`` variable and, for scalar defaults, the code's default; no row for a key that
   does not exist; every other ``RISKD_*`` variable and every credential file the code reads;
   :data:`riskd.settings_example.EXAMPLE_CONFIG` verbatim.
2. rules.md: every variable, function, action (with its parameters), rule field (with its
   built-in default) and rule-test key.
3. operations.md: every metric series of :class:`riskd.ops.metrics.Metrics` with its labels.
4. every page: each ``riskd <command>`` (and ``--option``) written in code exists in
   :data:`riskd.cli.main.COMMANDS`, and every command is shown somewhere; ``RISKD_*`` and
   ``riskd_*`` names exist; relative links and their anchors resolve; repository paths written
   in code (``riskd/daemon/journal.py``, ``tests/x.py::test_y``) exist; README.md links every page.
5. safety.md: every endpoint that changes the account which ``riskd/daemon`` refers to is a
   protective one (never a borrow) and is listed on the page; no ``autoLoan`` in the daemon.

``tests/test_docs.py`` calls the same functions, on the real docs and on broken copies.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from pydantic import BaseModel, ByteSize, TypeAdapter, ValidationError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Placeholder used in dotted keys for the names of a table of tables.
PLACEHOLDERS = {"accounts": "<name>", "coins": "<COIN>"}
SETTINGS_HEADER = ["key", "type", "default", "env", "meaning"]
#: Repository paths written in code spans are checked when they start with one of these.
REPO_DIRS = ("riskd", "tests", "scripts", "systemd", "rules", "scenarios", "bench", "docs")
REQUIRED = object()
NO_DEFAULT = object()
_SCALARS = (type(None), bool, int, float, Decimal, str, Path)


# --------------------------------------------------------------------------- markdown


def strip_fences(text: str) -> str:
    """``text`` with fenced code blocks blanked (line count kept)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else line)
    return "\n".join(out)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    blocks: list[tuple[str, str]] = []
    body: list[str] = []
    info, fenced = "", False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if fenced:
                blocks.append((info, "\n".join(body)))
                body = []
            else:
                info = line.strip()[3:].strip()
            fenced = not fenced
            continue
        if fenced:
            body.append(line)
    return blocks


def inline_code(text: str) -> list[str]:
    """Contents of inline code spans outside fenced blocks."""
    return re.findall(r"`([^`\n]+)`", strip_fences(text))


def table_rows(text: str) -> Iterator[tuple[list[str], list[str]]]:
    """(header, cells) of every data row of every Markdown table outside code."""
    header: list[str] | None = None
    for line in strip_fences(text).splitlines():
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue
        if header is None:
            header = [c.lower() for c in cells]
            continue
        yield header, cells


def first_code(cell: str) -> str | None:
    m = re.search(r"`([^`]+)`", cell)
    return m.group(1) if m else None


def slugs(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    seen: dict[str, int] = {}
    out = set()
    for line in strip_fences(text).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def pages(docs: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(docs.glob("*.md"))}


def _read(docs: Path, name: str, problems: list[str]) -> str:
    path = docs / name
    if not path.is_file():
        problems.append(f"{name}: page missing")
        return ""
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SettingKey:
    """One leaf setting: its dotted key, environment variable and default."""

    key: str
    env: str
    default: object


def _unwrap(annotation: object) -> tuple[str, object]:
    """("model", cls) / ("dict", inner) / ("list", inner) / ("scalar", annotation)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
            return "scalar", annotation
        break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    if origin is dict:
        return "dict", _unwrap(typing.get_args(annotation)[1])
    if origin in (tuple, list, frozenset, set):
        inner = _unwrap(typing.get_args(annotation)[0])
        if inner[0] == "model":
            return "list", inner
    return "scalar", annotation


def _env(parts: tuple[str, ...]) -> str:
    from riskd.settings import ENV_PREFIX

    return ENV_PREFIX + "__".join(p.upper() for p in parts)


def settings_keys(
    model: type[BaseModel] | None = None,
    prefix: tuple[str, ...] = (),
    env: str | None = None,
) -> list[SettingKey]:
    """Every leaf setting of ``model`` (default :class:`riskd.settings.Settings`)."""
    if model is None:
        from riskd.settings import Settings

        model = Settings
    keys: list[SettingKey] = []
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        kind, inner = _unwrap(info.annotation)
        while kind == "dict":
            path = (*path, PLACEHOLDERS.get(path[-1], "<name>"))
            kind, inner = inner  # type: ignore[misc]
        if kind == "list":
            list_env = env or _env(path)
            keys += settings_keys(inner[1], (*path[:-1], path[-1] + "[]"), list_env)  # type: ignore[index]
            continue
        if kind == "model":
            keys += settings_keys(inner, path, env)  # type: ignore[arg-type]
            continue
        if info.is_required():
            default: object = REQUIRED
        elif info.default_factory is not None or not isinstance(info.default, _SCALARS):
            default = NO_DEFAULT
        else:
            default = info.default
        keys.append(SettingKey(".".join(path), env or _env(path), default))
    return keys


def _default_matches(documented: str, default: object) -> bool:
    """Whether a documented default (``10s``, ``none (…)``, ``"memory://"``) is ``default``."""
    text = documented.replace("`", "").split(" (")[0].strip().strip('"')
    if default is REQUIRED:
        return text == "required"
    if default is None:
        return text == "none"
    if isinstance(default, bool):
        return text == str(default).lower()
    if isinstance(default, ByteSize):  # "8MiB"
        try:
            return TypeAdapter(ByteSize).validate_python(text) == default
        except ValidationError:
            return False
    if isinstance(default, int | float | Decimal):
        from riskd.settings import parse_duration

        try:
            if Decimal(text) == Decimal(str(default)):
                return True
        except InvalidOperation:
            pass
        try:
            return parse_duration(text) == float(default)
        except ValueError:
            return False
    return text == str(default)


@functools.cache
def _code_env_names() -> frozenset[str]:
    """``RISKD_*`` names the code reads outside the settings model: constants and literals."""
    from riskd.bitget import credentials
    from riskd.notify.settings import ENV_URLS

    names = {ENV_URLS, credentials.ENV_KEY, credentials.ENV_SECRET}
    names |= {credentials.ENV_PASSPHRASE, credentials.ENV_RSA_KEY_FILE}
    for path in (ROOT / "riskd").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"RISKD_[A-Z][A-Z0-9_]*", node.value)
            ):
                names.add(node.value)
    return frozenset(names)


def env_names() -> set[str]:
    """Every ``RISKD_*`` variable riskd reads (settings ones with ``<NAME>`` placeholders)."""
    return {k.env for k in settings_keys()} | _code_env_names()


def credential_files() -> list[str]:
    from riskd.settings import CREDENTIAL_FILES, NOTIFY_URLS_FILE

    return [f.replace("{account}", "<account>") for f in (*CREDENTIAL_FILES, NOTIFY_URLS_FILE)]


def check_configuration(docs: Path = DOCS) -> list[str]:
    from riskd.settings_example import EXAMPLE_CONFIG

    problems: list[str] = []
    text = _read(docs, "configuration.md", problems)
    rows: dict[str, list[str]] = {}
    for header, cells in table_rows(text):
        if header[: len(SETTINGS_HEADER)] == SETTINGS_HEADER and len(cells) >= 5:
            key = first_code(cells[0]) or cells[0]
            rows[key] = cells
    keys = settings_keys()
    known = {k.key for k in keys}
    for k in keys:
        row = rows.get(k.key)
        if row is None:
            problems.append(f"configuration.md: setting `{k.key}` has no reference row")
            continue
        if f"`{k.env}`" not in row[3]:
            problems.append(f"configuration.md: `{k.key}` row does not name `{k.env}`")
        if k.default is not NO_DEFAULT and not _default_matches(row[2], k.default):
            shown = "required" if k.default is REQUIRED else repr(k.default)
            problems.append(
                f"configuration.md: `{k.key}` default is {row[2]!r}, the code's is {shown}"
            )
    for key in sorted(set(rows) - known):
        problems.append(f"configuration.md: `{key}` is documented but is not a setting")
    for name in sorted(env_names() - {k.env for k in keys}):  # settings' own: in their rows
        if f"`{name}`" not in text:
            problems.append(f"configuration.md: environment variable `{name}` is not documented")
    for name in credential_files():
        if f"`{name}`" not in text:
            problems.append(f"configuration.md: credential file `{name}` is not documented")
    bodies = [body.strip() for info, body in fenced_blocks(text) if info == "toml"]
    if EXAMPLE_CONFIG.strip() not in bodies:
        problems.append(
            "configuration.md: no ```toml block equal to riskd.settings_example.EXAMPLE_CONFIG"
        )
    return problems


# --------------------------------------------------------------------------- rules


def check_rules(docs: Path = DOCS) -> list[str]:
    from riskd.rules import testfile
    from riskd.rules.actions_parse import ACTION_KEYS
    from riskd.rules.loader import BUILTIN_DEFAULTS, RULE_KEYS
    from riskd.rules.variables import ALL_NAMES, COIN_NAMES, FUNCTIONS, PER_COIN, SCALARS

    problems: list[str] = []
    text = _read(docs, "rules.md", problems)
    rows: dict[str, list[str]] = {}
    name_tables: list[str] = []
    for header, cells in table_rows(text):
        code = first_code(cells[0]) if cells else None
        if code is None:
            continue
        rows.setdefault(code, cells)
        if header[:2] == ["name", "meaning"]:
            name_tables.append(code)
    for name in [*SCALARS, *PER_COIN]:
        if name not in rows:
            problems.append(f"rules.md: variable `{name}` has no table row")
    for name in COIN_NAMES:
        if f"`{name}`" not in text:
            problems.append(f"rules.md: coin name `{name}` is not documented")
    for name in FUNCTIONS:
        if not any(code.startswith(name + "(") for code in rows):
            problems.append(f"rules.md: function `{name}(…)` has no table row")
    for kind, params in ACTION_KEYS.items():
        row = rows.get(str(kind))
        if row is None:
            problems.append(f"rules.md: action `{kind}` has no table row")
            continue
        for p in params:
            if f"`{p}`" not in " | ".join(row[1:]):
                problems.append(f"rules.md: action `{kind}` row does not name parameter `{p}`")
    for key in RULE_KEYS:
        row = rows.get(key)
        if row is None:
            problems.append(f"rules.md: rule field `{key}` has no table row")
        elif key in BUILTIN_DEFAULTS and len(row) > 2:
            want = BUILTIN_DEFAULTS[key]
            want_text = json.dumps(want) if not isinstance(want, str) else f'"{want}"'
            if row[2].replace("`", "").strip() != want_text:
                problems.append(
                    f"rules.md: rule field `{key}` default is {row[2]!r}, the code's is {want_text}"
                )
    names = set(ALL_NAMES)
    for code in name_tables:
        if code.split("(")[0] not in names:
            problems.append(f"rules.md: `{code}` is in a variable table but is not a name")
    test_keys = {
        *testfile.FILE_KEYS,
        *testfile.TEST_KEYS,
        *testfile.DATA_KEYS,
        *testfile.COIN_KEYS,
        *testfile.EXPECT_KEYS,
        *testfile.OUTCOME_KEYS,
        *testfile.RESULTS,
    }
    code = "\n".join([*inline_code(text), *(body for _, body in fenced_blocks(text))])
    for key in sorted(test_keys):
        if not re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", code):
            problems.append(f"rules.md: rule-test key `{key}` is not shown in code")
    return problems


# --------------------------------------------------------------------------- metrics


def metric_series() -> dict[str, tuple[str, ...]]:
    """Exposed series name → label names, for every metric of :class:`Metrics`."""
    from prometheus_client.metrics import MetricWrapperBase

    from riskd.ops.metrics import Metrics

    suffix = {"counter": "_total", "info": "_info"}
    out: dict[str, tuple[str, ...]] = {}
    for value in vars(Metrics(process_collector=False)).values():
        if isinstance(value, MetricWrapperBase):
            # prometheus_client keeps type, name and label names in private attributes.
            kind = str(value._type)
            name = value._name + suffix.get(kind, "")
            out[name] = tuple(value._labelnames)
    return out


def check_operations(docs: Path = DOCS) -> list[str]:
    problems: list[str] = []
    text = _read(docs, "operations.md", problems)
    rows = {first_code(cells[0]): cells for _, cells in table_rows(text) if cells}
    for name, labels in metric_series().items():
        row = rows.get(name)
        if row is None:
            problems.append(f"operations.md: metric `{name}` has no table row")
            continue
        for label in labels:
            if f"`{label}`" not in row[1]:
                problems.append(f"operations.md: metric `{name}` row does not name `{label}`")
    return problems


# --------------------------------------------------------------------------- every page


#: Fenced blocks whose lines are commands (```console: only lines after "$ "; a ```text
#: block is output, not checked).
COMMAND_BLOCKS = ("", "sh", "shell", "bash", "console", "ini", "systemd")
#: Options whose value may be the word riskd (``sudo -u riskd riskd status``).
_TAKES_USER = ("-u", "-g", "-o", "--user", "--group", "--owner")
#: Generated pages (bench/run writes benchmarks.md): their code is output, not commands.
GENERATED = ("benchmarks.md",)


def _code_lines(text: str) -> Iterator[str]:
    """Lines of code: inline spans, and lines of command blocks with comments cut off."""
    yield from inline_code(text)
    for info, body in fenced_blocks(text):
        lang = info.split(" ")[0]
        if lang not in COMMAND_BLOCKS:
            continue
        for line in body.splitlines():
            if lang == "console":  # a session: commands after "$ ", the rest is output
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            yield re.split(r"(?:^|\s)#", line, maxsplit=1)[0]


def _is_riskd(word: str) -> bool:
    return word == "riskd" or word.endswith("/bin/riskd")


def command_uses(text: str) -> Iterator[tuple[list[str], list[str]]]:
    """(words after ``riskd``, ``--options``) for every riskd command written in code."""
    for line in _code_lines(text):
        for segment in re.split(r"&&|\|\||;|\s\|\s|\s>\s", line):
            tokens = segment.split()
            for i, token in enumerate(tokens[:-1]):
                if not _is_riskd(token) or (i and tokens[i - 1] in _TAKES_USER):
                    continue
                words = []
                for t in tokens[i + 1 :]:
                    if not re.fullmatch(r"[a-z][a-z0-9-]*", t):
                        break
                    words.append(t)
                if words:
                    rest = " ".join(tokens[i + 1 :])
                    yield words, re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest)


def _resolve(words: list[str]) -> tuple[click.Command | None, str]:
    from riskd.cli.main import cli

    ctx = click.Context(cli)
    command: click.Command | None = cli.get_command(ctx, words[0])
    name = words[0]
    if isinstance(command, click.Group) and len(words) > 1:
        sub = command.get_command(ctx, words[1])
        if sub is not None:
            command, name = sub, f"{name} {words[1]}"
    return command, name


def check_commands(docs: Path = DOCS) -> list[str]:
    from riskd.cli.main import COMMANDS

    problems: list[str] = []
    seen: set[str] = set()
    for page, text in pages(docs).items():
        if page in GENERATED:
            continue
        for words, options in command_uses(text):
            if words[0] not in COMMANDS:
                problems.append(f"{page}: `riskd {words[0]}` is not a riskd command")
                continue
            seen.add(words[0])
            command, name = _resolve(words)
            if command is None:
                continue
            known = {"--help"} | {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            for option in options:
                if option not in known:
                    problems.append(f"{page}: `riskd {name}` has no option {option}")
    for name in sorted(set(COMMANDS) - seen):
        problems.append(f"docs: command `riskd {name}` is not shown on any page")
    return problems


def check_names(docs: Path = DOCS) -> list[str]:
    """``RISKD_*`` and ``riskd_*`` names written anywhere must exist."""
    problems: list[str] = []
    known = env_names()
    placeholder = {re.escape("<NAME>"): "[A-Z0-9_-]+", re.escape("<COIN>"): "[A-Z0-9]+"}
    patterns = []
    for n in known:
        p = re.escape(n)
        for holder, part in placeholder.items():
            p = p.replace(holder, part)
        patterns.append(f"(?:{p})")
    env_re = re.compile("|".join(patterns))
    series = set(metric_series())
    histogram_parts = ("_bucket", "_count", "_sum", "_created")
    for page, text in pages(docs).items():
        if page in GENERATED:
            continue
        for name in sorted(set(re.findall(r"\bRISKD_[A-Z0-9_<>-]*[A-Z0-9>](?:_{1,2}\*)?", text))):
            if name.endswith("*"):
                ok = any(k.startswith(name.rstrip("*")) for k in known)
            else:
                ok = name in known or ("<" not in name and env_re.fullmatch(name) is not None)
            if not ok:
                problems.append(f"{page}: `{name}` is not an environment variable riskd reads")
        for name in sorted(set(re.findall(r"\briskd_[a-z_]+[a-z]", text))):
            if name in CLUSTER_TABLES:
                continue
            base = next((name[: -len(s)] for s in histogram_parts if name.endswith(s)), name)
            if name not in series and base not in series:
                problems.append(f"{page}: metric `{name}` does not exist")
    return problems


#: The cluster's PostgreSQL tables (riskd/cluster/fence.py), named like metrics.
CLUSTER_TABLES = frozenset({"riskd_nodes", "riskd_leases"})


def check_links(docs: Path = DOCS) -> list[str]:
    """Relative links and anchors resolve; README.md links every page."""
    problems: list[str] = []
    all_pages = pages(docs)
    anchors = {name: slugs(text) for name, text in all_pages.items()}
    for page, text in all_pages.items():
        prose = re.sub(r"`[^`\n]*`", "", strip_fences(text))
        for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (docs / page).parent / path if path else docs / page
            if not file.exists():
                problems.append(f"{page}: link to {target}: no such file")
                continue
            if anchor and file.suffix == ".md":
                known = anchors.get(file.name) if file.parent == docs else None
                if known is None:
                    known = slugs(file.read_text(encoding="utf-8"))
                if anchor not in known:
                    problems.append(f"{page}: link to {target}: no heading #{anchor}")
    readme = all_pages.get("README.md", "")
    for name in all_pages:
        if name != "README.md" and f"]({name})" not in readme:
            problems.append(f"README.md: page {name} is not in the index")
    return problems


def check_paths(docs: Path = DOCS, root: Path = ROOT) -> list[str]:
    """Repository paths written in inline code exist (``file.py::name`` defines ``name``)."""
    problems: list[str] = []
    pattern = re.compile(rf"(?:{'|'.join(REPO_DIRS)})/[\w./*@-]*(?:::\w+)?")
    for page, text in pages(docs).items():
        for span in inline_code(text):
            if not pattern.fullmatch(span):
                continue
            path, _, name = span.partition("::")
            matches = list(root.glob(path)) if "*" in path else [root / path]
            if not matches or not all(m.exists() for m in matches):
                problems.append(f"{page}: `{span}`: no such path in the repository")
                continue
            if name and not re.search(
                rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b",
                matches[0].read_text(encoding="utf-8"),
                re.M,
            ):
                problems.append(f"{page}: `{span}`: {path} defines no {name}")
    return problems


def daemon_endpoints(root: Path = ROOT) -> set[str]:
    """Endpoint names the daemon's modules refer to (``client.cross_repay`` and the like)."""
    from riskd.bitget.endpoints import ENDPOINTS

    names = {e.name for e in ENDPOINTS}
    used: set[str] = set()
    for path in sorted((root / "riskd" / "daemon").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in names:
                used.add(node.attr)
            elif isinstance(node, ast.Constant) and node.value in names:
                used.add(str(node.value))
    return used


def check_safety(docs: Path = DOCS, root: Path = ROOT) -> list[str]:
    """safety.md's promise: the daemon changes the account only through protective endpoints,
    each listed on the page, and never asks for a loan (``autoLoan``)."""
    from riskd.bitget.endpoints import ENDPOINTS

    problems: list[str] = []
    text = _read(docs, "safety.md", problems)
    by_name = {e.name: e for e in ENDPOINTS}
    for name in sorted(daemon_endpoints(root)):
        ep = by_name[name]
        if not ep.mutating:
            continue
        if not ep.protective:
            problems.append(
                f"riskd/daemon refers to {name}, which changes the account and is not "
                "protective: safety.md promises riskd never borrows or opens positions"
            )
        elif f"`{name}`" not in text:
            problems.append(f"safety.md: the daemon calls `{name}`; list it")
    for path in sorted((root / "riskd" / "daemon").glob("*.py")):
        if "autoLoan" in path.read_text(encoding="utf-8"):
            problems.append(f"{path.relative_to(root)} mentions autoLoan: riskd never borrows")
    return problems


def check_all(docs: Path = DOCS) -> list[str]:
    return [
        *check_configuration(docs),
        *check_rules(docs),
        *check_operations(docs),
        *check_commands(docs),
        *check_names(docs),
        *check_links(docs),
        *check_paths(docs),
        *check_safety(docs),
    ]


def main(argv: list[str]) -> int:
    docs = Path(argv[1]) if len(argv) > 1 else DOCS
    problems = check_all(docs)
    if problems:
        print(f"docs check: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
        return 1
    print(
        f"docs check: ok ({len(settings_keys())} settings, {len(env_names())} env names, "
        f"{len(metric_series())} metrics, {len(pages(docs))} pages)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
