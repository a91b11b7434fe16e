"""The Alert: the one value the rest of riskd hands the notifier.

The daemon turns rule decisions, action outcomes, stale data and its own life signs into
Alerts; the notifier groups, routes, renders and delivers them. Nothing in an Alert may be
secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from riskd.severity import Severity

#: A tag every route takes whatever its severities (a full disk, a safety event).
EVERY_ROUTE = "every-route"


class AlertKind(StrEnum):
    FIRING = "firing"  # a rule started firing
    RESOLVED = "resolved"  # a rule stopped firing
    ACTION = "action"  # a protective action was taken (or would have been, in dry-run)
    STALE = "stale"  # data for a scope is too old to act on
    ERROR = "error"  # something riskd could not do (rule unhealthy, action failed, bad reload)
    LIFECYCLE = "lifecycle"  # started, stopping, restarted after a crash
    TEST = "test"  # riskd notify-test
    LIQUIDATED = "liquidated"  # the exchange liquidated a scope
    PAUSED = "paused"  # actions paused (globally or for an account)
    RESUMED = "resumed"  # actions resumed
    LIVE = "live"  # an account switched between dry-run and LIVE
    RELOAD = "reload"  # configuration and rules reloaded, or a reload refused


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    severity: Severity
    title: str
    at: float
    account: str | None = None
    scope: str | None = None
    rule: str | None = None
    #: Grouping key: one incident is one rule × scope firing episode. ``None``: stands alone.
    incident: str | None = None
    dry_run: bool = False
    risk_rate: Decimal | None = None
    warning_risk_ratio: Decimal | None = None
    liquidation_risk_ratio: Decimal | None = None
    #: e.g. "repay 120.5 USDT" — what was done or would be done.
    action: str | None = None
    #: e.g. "accepted; riskRate 0.91 → 0.62" or "failed: 50041 …".
    outcome: str | None = None
    #: The rule's rendered message template, if any.
    message: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Routing tags in addition to severity (e.g. {"lifecycle"}).
    tags: frozenset[str] = frozenset()

    @property
    def group_key(self) -> str:
        """Alerts with the same key are one incident for dedup and grouping."""
        if self.incident:
            return self.incident
        return f"{self.kind}:{self.account}:{self.scope}:{self.rule}:{self.title}"
