"""Load rule files: parse every file, check every rule, report every problem at once.

``load(paths)`` never raises for bad input: it returns the :class:`RuleSet` (``None`` when
anything is wrong) and every :class:`Problem` with file, line (where the file shows one),
rule name and field. ``reload(previous, paths)`` is atomic: on any error the previous set
stays in force.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from riskd.durations import DurationError
from riskd.rules.actions_parse import parse_then
from riskd.rules.durations import rule_duration
from riskd.rules.expressions import Env, ExpressionError, Kind, compile_expression
from riskd.rules.model import Level, Problem, Rule, RuleSet, ScopeSelector
from riskd.rules.suggest import suggest
from riskd.rules.templates import compile_template
from riskd.severity import Severity

RULE_KEYS = (
    "name",
    "scope",
    "when",
    "for",
    "keep_firing_for",
    "cooldown",
    "severity",
    "then",
    "labels",
    "message",
    "enabled",
)
DEFAULT_KEYS = tuple(k for k in RULE_KEYS if k not in ("name", "when", "enabled"))
TOP_KEYS = ("defaults", "rule")
#: What a rule gets when neither it nor its file's [defaults] says otherwise.
BUILTIN_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "scope": "*",
        "for": "0s",
        "keep_firing_for": "0s",
        "cooldown": "1m",
        "severity": "warning",
        "then": ["notify"],
    }
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TOML_LINE = re.compile(r"at line (\d+)")
SCOPE_WORDS = ("*", "cross", "uta", "isolated:*")


@dataclass(frozen=True, slots=True)
class LoadResult:
    ruleset: RuleSet | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == Level.ERROR)

    @property
    def ok(self) -> bool:
        return self.ruleset is not None


class _Lines:
    """Best-effort line numbers for ``[[rule]]`` blocks and their keys."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [
            i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)
        ]
        self.defaults = next(
            (i for i, line in enumerate(self.lines) if re.match(r"\s*\[\s*defaults\s*\]", line)),
            None,
        )

    def _block(self, start: int | None) -> range:
        if start is None:
            return range(0)
        later = [s for s in [*self.starts, self.defaults or -1] if s > start]
        return range(start, min(later) if later else len(self.lines))

    def rule(self, index: int, key: str | None = None) -> int | None:
        if index >= len(self.starts):
            return None
        return self._find(self._block(self.starts[index]), key)

    def default(self, key: str | None = None) -> int | None:
        return self._find(self._block(self.defaults), key)

    def _find(self, block: range, key: str | None) -> int | None:
        if not block:
            return None
        if key is not None:
            pat = re.compile(rf"\s*(\[+\s*rule\.)?\"?{re.escape(key)}\"?\s*(=|\]|\.)")
            for i in block:
                if pat.match(self.lines[i]):
                    return i + 1
        return block.start + 1


class _FileLoader:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.lines = _Lines(text)
        self.problems: list[Problem] = []
        #: (name, line) of every enabled rule with a valid name, broken or not: a duplicate
        #: name is reported beside the rule's other errors, not after they are fixed.
        self.named: list[tuple[str, int | None]] = []

    def problem(
        self, message: str, line: int | None, rule: str | None = None, field: str | None = None
    ) -> None:
        self.problems.append(Problem(self.file, message, line, rule, field))

    def load(self) -> list[Rule]:
        try:
            doc = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            m = _TOML_LINE.search(str(exc))
            self.problem(f"not valid TOML: {exc}", int(m.group(1)) if m else None)
            return []
        for key in doc:
            if key not in TOP_KEYS:
                self.problem(
                    f"unknown top-level key '{key}'{suggest(key, TOP_KEYS)}; a rule file has"
                    " [defaults] and [[rule]] tables",
                    None,
                )
        defaults = self._defaults(doc.get("defaults", {}))
        raw_rules = doc.get("rule", [])
        if not isinstance(raw_rules, list):
            self.problem("'rule' must be written as [[rule]] tables", None)
            return []
        rules = []
        for i, raw in enumerate(raw_rules):
            rule = self._rule(i, raw, defaults)
            if rule is not None:
                rules.append(rule)
        return rules

    def _defaults(self, raw: object) -> dict[str, Any]:
        merged = dict(BUILTIN_DEFAULTS)
        if not isinstance(raw, dict):
            self.problem("[defaults] must be a table", self.lines.default())
            return merged
        for key, value in raw.items():
            if key not in DEFAULT_KEYS:
                self.problem(
                    f"'{key}' cannot have a default{suggest(key, DEFAULT_KEYS)}; defaults: "
                    + ", ".join(DEFAULT_KEYS),
                    self.lines.default(key),
                    field=key,
                )
                continue
            merged[key] = value
        return merged

    def _rule(self, i: int, raw: object, defaults: Mapping[str, Any]) -> Rule | None:
        if not isinstance(raw, dict):
            self.problem("each [[rule]] must be a table", self.lines.rule(i))
            return None
        name = raw.get("name")
        line = self.lines.rule(i)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            shown = f"'{name}'" if isinstance(name, str) else "missing"
            self.problem(
                f"name is {shown}: give each rule a name of letters, digits, '-', '_', '.' "
                '(up to 64), e.g. name = "margin-call"',
                self.lines.rule(i, "name") if name is not None else line,
                rule=f"#{i + 1}",
                field="name",
            )
            name = f"#{i + 1}"
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            self.problem("enabled must be true or false", self.lines.rule(i, "enabled"), name)
        elif not enabled:
            return None
        if isinstance(raw.get("name"), str) and name == raw["name"]:
            self.named.append((name, line))
        before = len(self.problems)

        def bad(field: str, message: str) -> None:
            self.problem(message, self.lines.rule(i, field), name, field)

        for key in raw:
            if key not in RULE_KEYS:
                bad(key, f"unknown key '{key}'{suggest(key, RULE_KEYS)}")
        values = {**defaults, **raw}
        if "labels" in raw and isinstance(defaults.get("labels"), dict):
            values["labels"] = {**defaults["labels"], **raw["labels"]}
        scope = self._scope(values.get("scope"), bad)
        env = Env(action_coin=False, isolated=scope.isolated_only if scope else False)
        when = None
        if "when" not in raw:
            bad("when", "missing 'when': the condition, e.g. when = \"riskRate > 0.8\"")
        else:
            try:
                when = compile_expression(raw["when"], Kind.CONDITION, env)
            except ExpressionError as exc:
                bad("when", str(exc))
        durations = {}
        for key in ("for", "keep_firing_for", "cooldown"):
            try:
                durations[key] = rule_duration(values.get(key))
            except DurationError as exc:
                bad(key, str(exc))
        severity = self._severity(values.get("severity"), bad)
        labels = self._labels(values.get("labels", {}), bad)
        message = None
        if values.get("message") is not None:
            try:
                message = compile_template(values["message"], env)
            except ExpressionError as exc:
                bad("message", str(exc))
        then_errors: list[str] = []
        then = parse_then(values.get("then"), scope, then_errors) if scope else ()
        for err in then_errors:
            bad("then", err)
        if len(self.problems) > before or when is None or scope is None or severity is None:
            return None
        return Rule(
            name=name,
            file=self.file,
            line=line,
            scope=scope,
            when=when,
            for_=durations["for"],
            keep_firing_for=durations["keep_firing_for"],
            cooldown=durations["cooldown"],
            severity=severity,
            then=then,
            labels=MappingProxyType(labels),
            message=message,
        )

    def _scope(self, raw: object, bad: Any) -> ScopeSelector | None:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            bad("scope", "scope is an empty list")
            return None
        patterns = []
        for item in items:
            if not isinstance(item, str):
                bad("scope", f'scope {item!r} must be text such as "cross" or "isolated:*"')
                return None
            text = item.strip()
            if text in SCOPE_WORDS:
                patterns.append(text)
                continue
            symbol = text.removeprefix("isolated:")
            if text.startswith("isolated:") and symbol and not any(c.isspace() for c in symbol):
                patterns.append(text)
                continue
            bad(
                "scope",
                f'scope \'{item}\' is not one of "cross", "uta", "isolated:SYMBOL" (e.g.'
                f' "isolated:BTCUSDT"), "isolated:*" or "*"{suggest(text, SCOPE_WORDS)}',
            )
            return None
        return ScopeSelector(tuple(patterns))

    def _severity(self, raw: object, bad: Any) -> Severity | None:
        names = [s.value for s in Severity]
        if isinstance(raw, str) and raw in names:
            return Severity(raw)
        hint = suggest(raw, names) if isinstance(raw, str) else ""
        bad("severity", f"severity {raw!r} is not one of {', '.join(names)}{hint}")
        return None

    def _labels(self, raw: object, bad: Any) -> dict[str, str]:
        if not isinstance(raw, dict):
            bad("labels", 'labels must be a table of text, e.g. labels = { team = "ops" }')
            return {}
        out = {}
        for k, v in raw.items():
            if not _LABEL_KEY.fullmatch(k):
                bad("labels", f"label name {k!r} must be letters, digits and _")
                continue
            if not isinstance(v, str) or len(v) > 200:
                bad("labels", f"label {k} = {v!r}: values are text in quotes (up to 200)")
                continue
            out[k] = v
        return out


def rule_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand directories to their ``*.toml`` files (not recursive), sorted."""
    files: list[Path] = []
    problems: list[Problem] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(x for x in p.glob("*.toml") if x.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            problems.append(Problem(str(p), "no such file or directory"))
    return files, problems


def load_texts(sources: Sequence[tuple[str, str]]) -> LoadResult:
    """Load rules from (file name, text) pairs: the pure core of :func:`load`."""
    problems: list[Problem] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}  # rule name → where it is first defined
    for file, text in sources:
        loader = _FileLoader(file, text)
        loaded = loader.load()
        for name, line in loader.named:
            first = seen.get(name)
            if first is not None:
                loader.problem(
                    f"duplicate rule name (first defined at {first}); names must be"
                    " unique across all rule files",
                    line,
                    name,
                    "name",
                )
            else:
                seen[name] = f"{file}:{line}" if line else file
        rules.extend(loaded)  # any duplicate is an error: no rule set is made then
        problems.extend(sorted(loader.problems, key=lambda p: p.line or 0))
    if any(p.level == Level.ERROR for p in problems):
        return LoadResult(None, tuple(problems))
    ruleset = RuleSet(tuple(rules), tuple(f for f, _ in sources))
    return LoadResult(ruleset, tuple(problems))


def load(paths: Iterable[str | Path]) -> LoadResult:
    """Load every rule file under ``paths`` (files or directories)."""
    files, problems = rule_files(paths)
    sources: list[tuple[str, str]] = []
    for f in files:
        try:
            sources.append((str(f), f.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(f), f"cannot read: {exc}"))
    result = load_texts(sources)
    if problems:
        return LoadResult(None, (*problems, *result.problems))
    return result


def reload(previous: RuleSet, paths: Iterable[str | Path]) -> tuple[RuleSet, tuple[Problem, ...]]:
    """Load anew; on any error keep ``previous`` and return the problems."""
    result = load(paths)
    if result.ruleset is None:
        return previous, result.problems
    return result.ruleset, result.problems
