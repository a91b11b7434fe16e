"""What a demo run ends with: a frozen result, its JSON, and its plain-text summary.

Definitions (the numbers ``riskd demo`` prints):

- **liquidated**: the simulator force-liquidated at least one scope during the run.
- **max_risk_rate**: the highest risk rate of any scope, as the simulator computed it at the
  sampled instants (every ``sample_s`` of market time, and at every action).
- **lowest_distance**: the smallest move of one coin's price (fraction, 0.05 = 5 %; the
  other prices held, each coin on its own path) that would have liquidated a scope, over
  every sampled instant; 0 when a scope reached the ratio.
- **actions**: protective calls the simulator executed for riskd (repay, flash repay,
  reduce orders, cancels), read from the simulator's own records.
- **capital_moved**: USDT value (at the index price of the instant) of the debt riskd's calls
  repaid, and of the assets its reduce orders sold.
- **reaction_ms**: per scope, from the first market instant its risk rate (starting balances
  on the scenario's price path) reached the warning ratio to the market instant the simulator
  executed the first protective call on it; the worst scope's figure, in *market*
  milliseconds (virtual time: the wall has no say in it). ``None`` when no scope both crossed and
  was acted on; 0 when riskd acted before the crossing.
- **api_calls** / **rate_limited**: requests that reached the simulator / answered HTTP 429.
- **oracle_min**: :mod:`riskd.demo.oracle` — the least repayment that would have kept every
  scope under the liquidation ratio on this price path, with hindsight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

ZERO = Decimal(0)


def dec(value: Decimal | None, places: int = 8) -> str | None:
    """A Decimal as a plain decimal string, at most ``places`` decimals, no exponent."""
    if value is None:
        return None
    if not value.is_finite():
        return "Infinity" if value > 0 else "-Infinity"
    q = value.quantize(Decimal(1).scaleb(-places)) if value.as_tuple().exponent != 0 else value
    text = format(q, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class ActionTaken:
    """One protective call the simulator executed (or, with faults, recorded)."""

    t: float
    account: str
    scope: str
    kind: str
    detail: str
    value_usdt: Decimal = ZERO

    def to_json(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 3),
            "account": self.account,
            "scope": self.scope,
            "kind": self.kind,
            "detail": self.detail,
            "value_usdt": dec(self.value_usdt, 2),
        }


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """One alert riskd raised, and what became of its delivery."""

    t: float
    severity: str
    kind: str
    title: str
    account: str | None = None
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 3),
            "severity": self.severity,
            "kind": self.kind,
            "title": self.title,
            "account": self.account,
            "scope": self.scope,
        }


@dataclass(frozen=True, slots=True)
class Liquidation:
    t: float
    account: str
    scope: str
    detail: str
    #: the risk rate that triggered it (as the exchange's liquidation record gives it)
    risk_rate: Decimal = ZERO

    def to_json(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 3),
            "account": self.account,
            "scope": self.scope,
            "detail": self.detail,
            "risk_rate": dec(self.risk_rate, 4),
        }


@dataclass(frozen=True, slots=True)
class ScopeResult:
    account: str
    scope: str
    max_risk_rate: Decimal
    lowest_distance: Decimal | None
    liquidated: bool
    warning_at: float | None
    first_action_at: float | None
    reaction_ms: int | None
    capital_moved: Decimal
    oracle_min: Decimal
    oracle_feasible: bool
    actions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "scope": self.scope,
            "max_risk_rate": dec(self.max_risk_rate, 4),
            "lowest_distance": dec(self.lowest_distance, 4),
            "liquidated": self.liquidated,
            "warning_at": self.warning_at,
            "first_action_at": self.first_action_at,
            "reaction_ms": self.reaction_ms,
            "capital_moved": dec(self.capital_moved, 2),
            "oracle_min": dec(self.oracle_min, 2),
            "oracle_feasible": self.oracle_feasible,
            "actions": self.actions,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """Notifier figures: alerts handed over, delivered, retried, failed."""

    submitted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    routes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "routes": list(self.routes),
        }


@dataclass(frozen=True, slots=True)
class DemoSummary:
    scenario: str
    description: str
    mode: str
    #: The run's pacing (market seconds per wall second); ``None``: unpaced virtual time.
    speed: float | None
    market_seconds: float
    wall_seconds: float
    liquidated: bool
    liquidations: tuple[Liquidation, ...]
    max_risk_rate: Decimal
    lowest_distance: Decimal | None
    actions: tuple[ActionTaken, ...]
    capital_moved: Decimal
    reaction_ms: int | None
    api_calls: int
    rate_limited: int
    server_errors: int
    oracle_min: Decimal
    oracle_feasible: bool
    duplicates: int
    intents: int
    alerts: tuple[AlertSeen, ...]
    delivery: Delivery
    scopes: tuple[ScopeResult, ...]
    plots: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: extra facts for the suite's checks (flaps, etc.)
    facts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def moved_over_oracle(self) -> Decimal | None:
        if self.oracle_min <= 0:
            return None
        return self.capital_moved / self.oracle_min

    def to_json(self) -> dict[str, Any]:
        ratio = self.moved_over_oracle
        return {
            "scenario": self.scenario,
            "description": self.description,
            "mode": self.mode,
            "speed": self.speed,
            "market_seconds": round(self.market_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "liquidated": self.liquidated,
            "liquidations": [x.to_json() for x in self.liquidations],
            "max_risk_rate": dec(self.max_risk_rate, 4),
            "lowest_distance": dec(self.lowest_distance, 4),
            "actions": len(self.actions),
            "action_log": [a.to_json() for a in self.actions],
            "capital_moved": dec(self.capital_moved, 2),
            "reaction_ms": self.reaction_ms,
            "api_calls": self.api_calls,
            "rate_limited": self.rate_limited,
            "server_errors": self.server_errors,
            "oracle_min": dec(self.oracle_min, 2),
            "oracle_feasible": self.oracle_feasible,
            "moved_over_oracle": dec(ratio, 3),
            "duplicates": self.duplicates,
            "intents": self.intents,
            "alerts": len(self.alerts),
            "alert_log": [a.to_json() for a in self.alerts],
            "delivery": self.delivery.to_json(),
            "scopes": [s.to_json() for s in self.scopes],
            "plots": dict(self.plots),
            "facts": dict(self.facts),
        }


#: The JSON fields that measure the wall, not the run: two runs of one scenario with the same
#: options give the same JSON once these are left out (issue 17).
WALL_TIME_FIELDS = ("wall_seconds",)


def comparable_json(summary: DemoSummary) -> dict[str, Any]:
    """:meth:`DemoSummary.to_json` without :data:`WALL_TIME_FIELDS` (determinism checks)."""
    return {k: v for k, v in summary.to_json().items() if k not in WALL_TIME_FIELDS}


def _pct(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    return f"{abs(value) * 100:.2f} %"


def render_text(s: DemoSummary) -> str:
    """The plain summary printed at the end of ``riskd demo`` (keys as in the JSON)."""
    ratio = s.moved_over_oracle
    lines = [
        f"scenario: {s.scenario} — {s.description}" if s.description else f"scenario: {s.scenario}",
        f"mode: {s.mode}",
        f"time: {s.market_seconds:.0f} s of market time in {s.wall_seconds:.1f} s "
        + ("(virtual time)" if s.speed is None else f"(virtual time paced at ×{s.speed:g})"),
        f"liquidated: {'true' if s.liquidated else 'false'}",
        f"max_risk_rate: {dec(s.max_risk_rate, 4)}",
        f"lowest_distance: {_pct(s.lowest_distance)} price move from liquidation",
        f"actions: {len(s.actions)}",
        f"capital_moved: {dec(s.capital_moved, 2)} USDT",
        f"oracle_min: {dec(s.oracle_min, 2)} USDT"
        + ("" if s.oracle_feasible else " (not enough: the path busts the account)")
        + (f" — riskd moved ×{ratio:.2f} of it" if ratio is not None and s.intents else ""),
        "reaction_ms: " + ("n/a" if s.reaction_ms is None else f"{s.reaction_ms} (market time)"),
        f"api_calls: {s.api_calls}",
        f"rate_limited: {s.rate_limited}",
        f"alerts: {len(s.alerts)} raised, {s.delivery.delivered} delivered"
        + (f", {s.delivery.retrying} retries" if s.delivery.retrying else "")
        + (f", {s.delivery.failed} undelivered" if s.delivery.failed else ""),
    ]
    for liq in s.liquidations:
        lines.append(f"  LIQUIDATION at t={liq.t:.1f}s {liq.account}/{liq.scope}: {liq.detail}")
    for a in s.actions:
        lines.append(f"  action at t={a.t:.1f}s {a.account}/{a.scope}: {a.detail}")
    for name, path in s.plots.items():
        lines.append(f"plot ({name}): {path}")
    return "\n".join(lines)
