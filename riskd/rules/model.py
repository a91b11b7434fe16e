"""The rule model: immutable values built by the loader and read by the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from riskd.risk.snapshot import CROSS, ISOLATED_PREFIX
from riskd.rules.expressions import Batch, Expression, compile_batch
from riskd.rules.templates import Template
from riskd.rules.variables import (
    HISTORIC,
    PRICE_FUNCTIONS,
    PRICE_SERIES,
    SEEN_SERIES,
    SEEN_WINDOW,
)
from riskd.severity import Severity
from riskd.sizing.kinds import ActionKind as ActionKind

_EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a rule's ``then``."""

    kind: ActionKind
    index: int
    #: repay: the coin (``"USDT"``, or ``"@base"``/``"@quote"``); flashRepay (cross): the coin
    #: or ``None`` for all; reduce: the base coin (``None``: from the scope / symbol).
    coin: str | None = None
    amount: Expression | None = None
    target_risk_rate: Expression | None = None
    #: repay / reduce: the ``minDistanceToLiquidation`` to restore (with or instead of a rate).
    target_distance: Expression | None = None
    #: cancelOrders / reduce in the cross scope: the symbol (``None``: every symbol / scope's).
    symbol: str | None = None
    message: Template | None = None

    def describe(self) -> str:
        bits = [str(self.kind)]
        if self.coin:
            bits.append(self.coin.replace("@", ""))
        if self.symbol:
            bits.append(self.symbol)
        if self.amount is not None:
            bits.append(f"amount={self.amount.source}")
        if self.target_risk_rate is not None:
            bits.append(f"target_risk_rate={self.target_risk_rate.source}")
        if self.target_distance is not None:
            bits.append(f"target_distance={self.target_distance.source}")
        return " ".join(bits)


@dataclass(frozen=True, slots=True)
class ScopeSelector:
    """``cross``, ``isolated:BTCUSDT``, ``isolated:*`` or ``*`` (any of several)."""

    patterns: tuple[str, ...]

    def matches(self, scope: str) -> bool:
        for p in self.patterns:
            if p == "*" or p == scope:
                return True
            if p == "isolated:*" and scope.startswith(ISOLATED_PREFIX):
                return True
        return False

    @property
    def isolated_only(self) -> bool:
        """Every scope it can match is isolated (so ``base``/``quote`` exist)."""
        return all(p.startswith(ISOLATED_PREFIX) for p in self.patterns)

    @property
    def may_be_cross(self) -> bool:
        return any(p in ("*", CROSS) for p in self.patterns)

    def __str__(self) -> str:
        return ", ".join(self.patterns)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    file: str
    line: int | None
    scope: ScopeSelector
    when: Expression
    for_: float
    keep_firing_for: float
    cooldown: float
    severity: Severity
    then: tuple[Action, ...]
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY_LABELS)
    message: Template | None = None
    #: Every step is ``notify`` (computed).
    notify_only: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        only = all(a.kind is ActionKind.NOTIFY for a in self.then)
        object.__setattr__(self, "notify_only", only)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Group:
    """The rules that apply to one scope, with their conditions compiled together."""

    indices: tuple[int, ...]
    rules: tuple[Rule, ...]
    names: frozenset[str]
    batch: Batch


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An immutable, validated set of rules (names unique). Reload builds a new one."""

    rules: tuple[Rule, ...] = ()
    files: tuple[str, ...] = ()
    #: Memo of compiled groups by scope id and by rule indices (a cache: never changes results).
    _groups: dict[object, Group] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.rules)

    def group_for(self, scope: str) -> Group:
        """The rules matching ``scope``, compiled into one batch (memoised)."""
        group = self._groups.get(scope)
        if group is not None:
            return group
        indices = tuple(i for i, r in enumerate(self.rules) if r.scope.matches(scope))
        group = self._groups.get(indices)
        if group is None:
            rules = tuple(self.rules[i] for i in indices)
            batch = compile_batch([r.when for r in rules])
            group = Group(indices, rules, frozenset(r.name for r in rules), batch)
            self._groups[indices] = group
        self._groups[scope] = group
        return group

    #: Scalar → the longest window any ``delta``/``rate`` asks of it (computed).
    windows: Mapping[str, float] = field(init=False, repr=False, compare=False)

    _by_name: Mapping[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", MappingProxyType(self._history_windows()))
        object.__setattr__(self, "_by_name", MappingProxyType({r.name: r for r in self.rules}))

    def _history_windows(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.rules:
            exprs = [r.when]
            for a in r.then:
                exprs += [
                    e for e in (a.amount, a.target_risk_rate, a.target_distance) if e is not None
                ]
            for e in exprs:
                for ref in e.refs:
                    if ref.fn in PRICE_FUNCTIONS:
                        out[PRICE_SERIES] = max(out.get(PRICE_SERIES, 0.0), ref.window)
                    elif ref.fn is not None and ref.name in HISTORIC:
                        out[ref.name] = max(out.get(ref.name, 0.0), ref.window)
                    elif ref.name == "pollInterval":
                        out[SEEN_SERIES] = SEEN_WINDOW
        return out


def decimal_literal(value: object) -> Decimal | None:
    """A TOML number as an exact Decimal (floats via their shortest repr)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return None


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One load error or lint warning, located as precisely as the file allows."""

    file: str
    message: str
    line: int | None = None
    rule: str | None = None
    field: str | None = None
    level: Level = Level.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = []
        if self.rule:
            what.append(f"rule '{self.rule}'")
        if self.field:
            what.append(f"field '{self.field}'")
        context = f" {', '.join(what)}:" if what else ""
        return f"{where}: {self.level}:{context} {self.message}"
