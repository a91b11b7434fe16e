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
    RESOLVED = "resolved"  # a rule stopped firing (never used for a liquidation's fall in risk)
    ACTION = "action"  # a protective action was taken (or would have been, in dry-run)
    LIQUIDATED = "liquidated"  # the exchange liquidated a scope
    STALE = "stale"  # data for a scope (or an account: exchange outage) is too old to act on
    ERROR = "error"  # something riskd could not do (rule unhealthy, action failed)
    PAUSED = "paused"  # actions paused (globally or for one account)
    RESUMED = "resumed"  # actions resumed
    LIVE = "live"  # mode changed: dry-run → LIVE (or back: ``dry_run=True``)
    RELOAD = "reload"  # a reload failed (critical) or its all-clear (info)
    LIFECYCLE = "lifecycle"  # started, stopping, restarted after a crash
    TEST = "test"  # riskd notify-test

    @property
    def label(self) -> str:
        """The event word of a subject: ``ACTION``, ``LIQUIDATED``, ``RISKD`` (life signs)."""
        return "RISKD" if self is AlertKind.LIFECYCLE else self.value.upper()


#: Subject priority: the most important event of a group names its message.
#: ACTION/LIQUIDATED over errors and stale data over FIRING over safety changes over RESOLVED.
EVENT_RANK: Mapping[AlertKind, int] = MappingProxyType(
    {
        AlertKind.LIQUIDATED: 90,
        AlertKind.ACTION: 80,
        AlertKind.ERROR: 60,
        AlertKind.STALE: 55,
        AlertKind.FIRING: 50,
        AlertKind.LIVE: 45,
        AlertKind.PAUSED: 44,
        AlertKind.RELOAD: 43,
        AlertKind.RESUMED: 42,
        AlertKind.LIFECYCLE: 40,
        AlertKind.TEST: 20,
        AlertKind.RESOLVED: 10,
    }
)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    severity: Severity
    #: The subject's tail: the rule's rendered ``title`` template when it has one, else a
    #: short phrase. Account, scope, rate and the event word are added by the notifier;
    #: leave them out (they are removed when repeated).
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
    #: e.g. "repay 120.5 USDT" — what was done or would be done (no "action:" prefix).
    action: str | None = None
    #: e.g. "accepted; riskRate 0.91 → 0.62" or "failed: 50041 …".
    outcome: str | None = None
    #: The rule's rendered message template, if any.
    message: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Routing tags in addition to severity (e.g. {"lifecycle"}).
    tags: frozenset[str] = frozenset()
    #: A cap changed the amount: which cap and what was asked, e.g.
    #: "max_action_usdt 1500 USDT: asked 2400 USDT".
    capped: str | None = None
    #: Risk rate after the action / at the liquidation, when known.
    risk_after: Decimal | None = None

    @property
    def group_key(self) -> str:
        """Alerts with the same key are one incident for dedup and state tracking."""
        if self.incident:
            return self.incident
        return f"{self.kind}:{self.account}:{self.scope}:{self.rule}:{self.title}"

    def label_set(self) -> dict[str, str]:
        """Labels for matchers (silences, inhibition, ``group_by``); a missing one is ``""``.

        The rule's labels first, then the built-ins (which win): ``kind``, ``severity``,
        ``account``, ``scope``, ``rule``, ``incident``, ``dry_run``.
        """
        labels = dict(self.labels)
        labels.update(
            kind=self.kind.value,
            severity=self.severity.value,
            account=self.account or "",
            scope=self.scope or "",
            rule=self.rule or "",
            incident=self.group_key,
            dry_run="true" if self.dry_run else "false",
        )
        return labels
