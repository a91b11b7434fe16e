"""Reading rule test files (the input of ``riskd test``; see docs/rules.md).

::

    rule_files = ["../ladder.toml"]      # relative to this file
    interval = "10s"                     # evaluate at 0s, 10s, 20s, ...

    [[test]]
    name = "margin call"

    [[test.data]]                        # what the poller sees from `at` on
    at = "0s"
    scope = "cross"
    riskRate = "0.5"
    coins.USDT = { available = "100", borrow = "500" }

    [[test.expect]]
    at = "30s"
    actions = [{ action = "cancelOrders", rule = "margin-call" }]
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from riskd.durations import DurationError
from riskd.rules.durations import rule_duration
from riskd.rules.suggest import suggest

DATA_KEYS = (
    "at",
    "scope",
    "account",
    "riskRate",
    "warningRiskRatio",
    "liquidationRiskRatio",
    "leverage",
    "openOrders",
    "base",
    "quote",
    "coins",
    "stale",
    "absent",
)
COIN_KEYS = (
    "available",
    "frozen",
    "borrow",
    "interest",
    "price",
    "maintainMarginRate",
    "maxBorrowableAmount",
    "interestRate",
)
EXPECT_KEYS = ("at", "actions", "notifications")
OUTCOME_KEYS = ("rule", "action", "scope", "result", "after")
TEST_KEYS = ("name", "until", "data", "expect", "outcome")
FILE_KEYS = ("rule_files", "interval", "test")
RESULTS = ("succeeded", "failed", "pending")


class TestFileError(ValueError):
    """A test file that cannot be read; the message names the place."""


@dataclass(frozen=True, slots=True)
class DataRow:
    at: float
    scope: str
    account: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Expect:
    at: float
    actions: tuple[Mapping[str, Any], ...] | None
    notifications: tuple[Mapping[str, Any], ...] | None


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    rule: str
    action: str | None
    scope: str | None
    result: str
    after: float


@dataclass(frozen=True, slots=True)
class RuleTest:
    name: str
    until: float
    data: tuple[DataRow, ...]
    expects: tuple[Expect, ...]
    outcomes: tuple[OutcomeRule, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class TestFile:
    path: str
    rule_files: tuple[Path, ...]
    interval: float
    tests: tuple[RuleTest, ...]


def decimal_value(raw: object, where: str) -> Decimal:
    if isinstance(raw, bool):
        raise TestFileError(f"{where}: {raw!r} is not a number")
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, (int, str)):
        try:
            d = Decimal(str(raw).strip())
        except InvalidOperation:
            raise TestFileError(f"{where}: {raw!r} is not a number") from None
        if d.is_finite():
            return d
    raise TestFileError(f"{where}: {raw!r} is not a finite number")


def _duration(raw: object, where: str) -> float:
    try:
        return rule_duration(raw)
    except DurationError as exc:
        raise TestFileError(f"{where}: {exc}") from None


def _keys(table: object, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise TestFileError(f"{where}: expected a table")
    for k in table:
        if k not in allowed:
            raise TestFileError(
                f"{where}: unknown key '{k}'{suggest(k, allowed)}; allowed: {', '.join(allowed)}"
            )
    return table


def _data(raw: object, where: str) -> DataRow:
    t = _keys(raw, DATA_KEYS, where)
    if "scope" not in t or "at" not in t:
        raise TestFileError(f'{where}: each data row needs at = "…" and scope = "…"')
    values: dict[str, Any] = {}
    for k, v in t.items():
        if k in ("at", "scope", "account"):
            continue
        if k in ("stale", "absent"):
            if not isinstance(v, bool):
                raise TestFileError(f"{where}: {k} must be true or false")
            values[k] = v
        elif k in ("base", "quote"):
            values[k] = str(v)
        elif k == "coins":
            coins = _keys(v, tuple(v) if isinstance(v, dict) else (), f"{where} coins")
            values["coins"] = {
                coin: {
                    ck: decimal_value(cv, f"{where} coins.{coin}.{ck}")
                    for ck, cv in _keys(fields, COIN_KEYS, f"{where} coins.{coin}").items()
                }
                for coin, fields in coins.items()
            }
        else:
            values[k] = decimal_value(v, f"{where} {k}")
    return DataRow(
        _duration(t["at"], f"{where} at"), str(t["scope"]), str(t.get("account", "main")), values
    )


def _entries(raw: object, where: str) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise TestFileError(f'{where}: expected a list of tables, e.g. [{{ rule = "x" }}]')
    return tuple(raw)


def _test(raw: object, i: int) -> RuleTest:
    where = f"test[{i}]"
    t = _keys(raw, TEST_KEYS, where)
    name = str(t.get("name", f"#{i + 1}"))
    where = f'test "{name}"'
    data = tuple(_data(d, f"{where} data[{j}]") for j, d in enumerate(_list(t.get("data"), where)))
    expects = []
    for j, e in enumerate(_list(t.get("expect", []), where)):
        ew = f"{where} expect[{j}]"
        et = _keys(e, EXPECT_KEYS, ew)
        if "at" not in et:
            raise TestFileError(f'{ew}: needs at = "…"')
        acts = _entries(et["actions"], f"{ew} actions") if "actions" in et else None
        notes = (
            _entries(et["notifications"], f"{ew} notifications") if "notifications" in et else None
        )
        expects.append(Expect(_duration(et["at"], f"{ew} at"), acts, notes))
    outcomes = []
    for j, o in enumerate(_list(t.get("outcome", []), where)):
        ow = f"{where} outcome[{j}]"
        ot = _keys(o, OUTCOME_KEYS, ow)
        result = ot.get("result", "succeeded")
        if "rule" not in ot or result not in RESULTS:
            raise TestFileError(f'{ow}: needs rule = "…" and result = one of {RESULTS}')
        outcomes.append(
            OutcomeRule(
                str(ot["rule"]),
                ot.get("action"),
                ot.get("scope"),
                result,
                _duration(ot.get("after", "0s"), f"{ow} after"),
            )
        )
    times = [d.at for d in data] + [e.at for e in expects]
    until = _duration(t["until"], f"{where} until") if "until" in t else max(times, default=0.0)
    return RuleTest(name, until, data, tuple(expects), tuple(outcomes))


def _list(raw: object, where: str) -> list[Any]:
    if raw is None:
        raise TestFileError(f"{where}: needs at least one [[test.data]] row")
    if not isinstance(raw, list):
        raise TestFileError(f"{where}: expected [[...]] tables")
    return raw


def read_test_file(path: str | Path) -> TestFile:
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TestFileError(f"{p}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TestFileError(f"{p}: not valid TOML: {exc}") from None
    try:
        _keys(doc, FILE_KEYS, "file")
        files = doc.get("rule_files")
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise TestFileError('rule_files must list rule files, e.g. ["../ladder.toml"]')
        interval = _duration(doc.get("interval", "10s"), "interval")
        if interval <= 0:
            raise TestFileError("interval must be longer than 0s")
        tests = doc.get("test")
        if not isinstance(tests, list) or not tests:
            raise TestFileError("no [[test]] in the file")
        parsed = tuple(_test(t, i) for i, t in enumerate(tests))
    except TestFileError as exc:
        raise TestFileError(f"{p}: {exc}") from None
    rule_files = tuple((p.parent / f) for f in files)
    return TestFile(str(p), rule_files, interval, parsed)
