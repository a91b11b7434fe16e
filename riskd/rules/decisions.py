"""What one evaluation decides: actions to run, notifications to send, steps skipped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from riskd.amounts import to_wire
from riskd.rules.model import ActionKind
from riskd.rules.state import EngineState
from riskd.severity import Severity

_EMPTY: Mapping[str, str] = MappingProxyType({})
_EMPTY_VALUES: Mapping[str, Decimal] = MappingProxyType({})


class NotificationKind(StrEnum):
    FIRING = "firing"  # a rule × scope started firing (its notify step)
    RESOLVED = "resolved"  # a rule × scope that notified stopped firing
    UNHEALTHY = "unhealthy"  # a rule × scope could not be evaluated, or an action not sized
    RECOVERED = "recovered"  # an unhealthy rule × scope evaluates again


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One protective action for the daemon to execute (live or dry-run alike).

    ``params`` by kind (amounts are Decimal, already rounded down to 8 decimals):

    - repay: ``coin``, ``amount``, ``sizing`` (``amount`` | ``proportional`` | ``valuation``
      | ``all``)
    - flashRepay: cross ``coin`` (absent: all coins); isolated ``symbol``
    - cancelOrders: ``symbol`` (absent in cross: every symbol)
    - reduce: ``symbol``, ``coin`` (base), ``orderType`` = market, ``loanType`` = autoRepay
      and either ``amount`` (base quantity) with ``side`` = sell, or ``target_risk_rate``
      with ``sizing`` = target (the daemon picks the side and the amount when it sends it)
    """

    id: str
    kind: ActionKind
    account: str
    scope: str
    rule: str
    step: int
    incident: str
    severity: Severity
    params: Mapping[str, Decimal | str]
    at: float

    def describe(self) -> str:
        """``"repay 120.5 USDT"``, ``"cancelOrders BTCUSDT"``, ``"flashRepay"``."""
        p = self.params
        parts = [str(self.kind)]
        amount = p.get("amount")
        if isinstance(amount, Decimal):
            parts.append(to_wire(amount))
        for key in ("coin", "symbol"):
            v = p.get(key)
            if isinstance(v, str) and not (key == "coin" and self.kind == ActionKind.REDUCE):
                parts.append(v)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Notification:
    kind: NotificationKind
    rule: str
    account: str
    scope: str
    severity: Severity
    at: float
    incident: str | None
    message: str
    #: riskRate, warningRiskRatio, liquidationRiskRatio, dataAge and every value the
    #: condition reads (``borrow[USDT]``…) — those that could be computed.
    values: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY_VALUES)
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A step passed over without an action (nothing to repay, no open orders…)."""

    rule: str
    account: str
    scope: str
    step: int
    kind: ActionKind
    reason: str
    at: float
    #: A later step of the same run acted in the same evaluation: this skip is the ladder
    #: working as written (nothing free to repay, so the sale does it), not a shortfall.
    acted_after: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    state: EngineState
    actions: tuple[ActionRequest, ...] = ()
    notifications: tuple[Notification, ...] = ()
    skipped: tuple[Skipped, ...] = ()
