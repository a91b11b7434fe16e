"""``riskd test``: run rule unit tests, like ``promtool test rules``.

Each test replays account data over time through the real loader and engine, evaluating
every ``interval``, and compares the actions and notifications of the evaluations it names
with what it expects (the complete list at that time). Actions succeed right after the
evaluation that issued them unless an ``[[test.outcome]]`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskd.durations import format_duration
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot, parse_scope
from riskd.rules.actions_parse import QUOTES
from riskd.rules.decisions import ActionRequest, Notification
from riskd.rules.engine import evaluate
from riskd.rules.loader import load
from riskd.rules.model import Problem, RuleSet
from riskd.rules.state import EngineState, record_outcome
from riskd.rules.testfile import (
    DataRow,
    RuleTest,
    TestFileError,
    decimal_value,
    read_test_file,
)

ZERO = Decimal(0)
MAX_STEPS = 100_000


@dataclass(frozen=True, slots=True)
class TestResult:
    name: str
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    results: tuple[TestResult, ...] = ()
    error: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def passed(self) -> bool:
        return self.error is None and all(r.passed for r in self.results)


def _coins(rows: Sequence[DataRow]) -> dict[str, dict[str, Decimal]]:
    coins: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        for coin, fields in row.values.get("coins", {}).items():
            coins.setdefault(coin, {}).update(fields)
    return coins


def build_snapshot(rows: Sequence[DataRow], now: float) -> ScopeSnapshot | None:
    """The scope as the poller would see it at ``now``: every row up to now, merged."""
    if not rows or rows[-1].values.get("absent"):
        return None
    merged: dict[str, Any] = {}
    for row in rows:
        merged.update({k: v for k, v in row.values.items() if k not in ("coins", "stale")})
    coins = _coins(rows)
    last = rows[-1]
    observed = last.at if last.values.get("stale") else now
    kind, symbol = parse_scope(last.scope)
    base, quote = merged.get("base"), merged.get("quote")
    if kind == "isolated" and symbol and base is None:
        quote = next((q for q in QUOTES if symbol.endswith(q) and symbol != q), quote)
        base = symbol[: -len(quote)] if quote else None

    def per_coin(field: str) -> dict[str, Decimal]:
        return {c: f[field] for c, f in coins.items() if field in f}

    balances = {
        c: CoinBalance(
            c,
            f.get("available", ZERO),
            f.get("frozen", ZERO),
            f.get("borrow", ZERO),
            f.get("interest", ZERO),
        )
        for c, f in coins.items()
    }
    return ScopeSnapshot(
        account=last.account,
        scope=last.scope,
        risk_rate=merged.get("riskRate", ZERO),
        balances=balances,
        observed_at=observed,
        warning_risk_ratio=merged.get("warningRiskRatio", Decimal("0.8")),
        liquidation_risk_ratio=merged.get("liquidationRiskRatio", Decimal(1)),
        maintain_margin_rate=per_coin("maintainMarginRate"),
        leverage=merged.get("leverage"),
        max_borrowable=per_coin("maxBorrowableAmount"),
        daily_interest_rate=per_coin("interestRate"),
        prices_usdt=per_coin("price"),
        open_orders=int(merged.get("openOrders", ZERO)),
        base_coin=base,
        quote_coin=quote,
    )


def _action_fields(a: ActionRequest) -> dict[str, Any]:
    return {
        "action": str(a.kind),
        "rule": a.rule,
        "scope": a.scope,
        "account": a.account,
        "severity": str(a.severity),
        "step": a.step,
        **a.params,
    }


def _note_fields(n: Notification) -> dict[str, Any]:
    return {
        "kind": str(n.kind),
        "rule": n.rule,
        "scope": n.scope,
        "account": n.account,
        "severity": str(n.severity),
        "message": n.message,
        "error": n.error,
    }


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, Decimal):
        try:
            return actual == decimal_value(expected, "expected")
        except TestFileError:
            return False
    if isinstance(actual, int):
        return isinstance(expected, int) and actual == expected
    return str(actual) == str(expected) if actual is not None else expected is None


def _show(d: Mapping[str, Any], keys: Sequence[str] | None = None) -> str:
    head = d.get("action") or d.get("kind") or "?"
    shown = [k for k in (keys or d) if k not in ("action", "kind") and k in d]
    parts = [f"{k}={d[k]}" for k in shown if d[k] is not None]
    return " ".join([str(head), *parts])


_SHOWN_ACTION = ("rule", "scope", "coin", "symbol", "amount", "target_risk_rate", "target_distance")
_SHOWN_NOTE = ("rule", "scope", "severity", "message")


def compare(
    what: str,
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[dict[str, Any]],
    shown: Sequence[str],
) -> list[str]:
    left = list(actual)
    missing = []
    for exp in expected:
        for i, act in enumerate(left):
            if all(k in act and _same(act[k], v) for k, v in exp.items()):
                del left[i]
                break
        else:
            missing.append(exp)
    if not missing and not left:
        return []
    lines = [f"  {what}:"]
    lines += [f"    - expected, missing:  {_show(m)}" for m in missing]
    lines += [f"    + got, unexpected:    {_show(u, shown)}" for u in left]
    return lines


def run_test(rules: RuleSet, test: RuleTest, interval: float) -> TestResult:
    steps = int(test.until / interval + 1e-9) + 1
    if steps > MAX_STEPS:
        return TestResult(test.name, (f"  runs {steps} evaluations; the limit is {MAX_STEPS}",))
    failures: list[str] = []
    expects = {round(e.at, 6): e for e in test.expects}
    for e in test.expects:
        if abs(e.at / interval - round(e.at / interval)) > 1e-9:
            failures.append(
                f"  expect at {format_duration(e.at)} is not an evaluation time"
                f" (every {format_duration(interval)})"
            )
    rows_by_scope: dict[tuple[str, str], list[DataRow]] = {}
    for row in sorted(test.data, key=lambda r: r.at):
        rows_by_scope.setdefault((row.account, row.scope), []).append(row)
    state = EngineState()
    due: list[tuple[float, str, bool]] = []
    for k in range(steps):
        now = k * interval
        for item in sorted(x for x in due if x[0] <= now):
            state = record_outcome(state, item[1], item[2], item[0])
        due = [x for x in due if x[0] > now]
        data = {}
        for (account, scope), rows in rows_by_scope.items():
            snap = build_snapshot([r for r in rows if r.at <= now], now)
            if snap is not None:
                data[f"{account}/{scope}"] = snap
        ev = evaluate(rules, data, now, state)
        state = ev.state
        for a in ev.actions:
            result, after = "succeeded", 0.0
            for o in test.outcomes:
                if (
                    o.rule == a.rule
                    and o.action in (None, str(a.kind))
                    and o.scope in (None, a.scope)
                ):
                    result, after = o.result, o.after
                    break
            if result != "pending":
                due.append((now + after, a.id, result == "succeeded"))
        exp = expects.get(round(now, 6))
        if exp is None:
            continue
        at = f" at {format_duration(now)}"
        diff: list[str] = []
        if exp.actions is not None:
            diff += compare(
                "actions", exp.actions, [_action_fields(a) for a in ev.actions], _SHOWN_ACTION
            )
        if exp.notifications is not None:
            diff += compare(
                "notifications",
                exp.notifications,
                [_note_fields(n) for n in ev.notifications],
                _SHOWN_NOTE,
            )
        if diff:
            failures.append(at.strip() + ":")
            failures.extend(diff)
    return TestResult(test.name, tuple(failures))


def run_file(path: str | Path) -> FileResult:
    try:
        tf = read_test_file(path)
    except TestFileError as exc:
        return FileResult(str(path), error=str(exc))
    loaded = load(tf.rule_files)
    if loaded.ruleset is None:
        return FileResult(tf.path, error="the rule files do not load", problems=loaded.problems)
    results = tuple(run_test(loaded.ruleset, t, tf.interval) for t in tf.tests)
    return FileResult(tf.path, results)


def format_results(results: Sequence[FileResult]) -> str:
    lines: list[str] = []
    for fr in results:
        if fr.error is not None:
            lines.append(f"FAIL {fr.path}: {fr.error}")
            lines.extend(f"  {p}" for p in fr.problems)
            continue
        for r in fr.results:
            lines.append(f"{'ok  ' if r.passed else 'FAIL'} {fr.path}: {r.name}")
            lines.extend(f"  {f}" for f in r.failures)
    total = sum(len(fr.results) for fr in results)
    failed = sum(1 for fr in results for r in fr.results if not r.passed)
    broken = sum(1 for fr in results if fr.error is not None)
    summary = f"{total - failed} of {total} tests passed"
    if broken:
        summary += f"; {broken} file(s) could not run"
    lines.append(summary)
    return "\n".join(lines)
