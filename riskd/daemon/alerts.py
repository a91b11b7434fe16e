"""What the daemon tells people: rule notifications, actions, staleness → :class:`Alert`.

The daemon hands every alert to an :class:`AlertSink` — :class:`riskd.notify.notifier.Notifier`
in production, :class:`LoggingSink` (log only) or a list in tests — and journals it.
:class:`JournalRecorder` is the notifier's :class:`DeliveryRecorder` writing into the journal.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from riskd.clock import Clock
from riskd.daemon.actions import (
    AWAITING,
    BLOCKED,
    IN_PROGRESS,
    OPEN,
    PAUSED,
    SKIPPED,
    STALE,
    ActionReport,
)
from riskd.daemon.events import EventKind
from riskd.daemon.journal import DRY_RUN, FAILED, NOT_EXECUTED, SUCCEEDED, Intent, Journal
from riskd.notify.alert import Alert, AlertKind
from riskd.ops.metrics import Metrics
from riskd.redact import redact
from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules.decisions import Notification, NotificationKind
from riskd.severity import Severity

log = logging.getLogger(__name__)


class AlertSink(Protocol):
    def submit(self, alert: Alert) -> None: ...


class LoggingSink:
    """Keeps the latest alerts and logs them at debug level (used when no notify route is
    configured, and in tests)."""

    def __init__(self, keep: int = 1000) -> None:
        #: The latest alerts (tests read them).
        self.alerts: deque[Alert] = deque(maxlen=keep)

    def submit(self, alert: Alert) -> None:
        self.alerts.append(alert)
        # The event behind the alert has its own log line at the right level
        # (riskd.daemon.subscribers.LogLine): here, only for debugging.
        level = logging.DEBUG
        parts = [f"[{alert.kind}] {alert.title}"]
        for label, value in (
            ("account", alert.account),
            ("scope", alert.scope),
            ("rule", alert.rule),
            ("action", alert.action),
            ("outcome", alert.outcome),
            ("message", alert.message),
        ):
            if value:
                parts.append(f"{label}={value}")
        log.log(level, "%s", redact(" ".join(parts)))


#: Delivery outcomes counted by ``riskd_notification_failures_total``: a failed attempt
#: (another follows) and an alert still undelivered when the notifier stopped.
FAILED_DELIVERY = frozenset({"retrying", "failed"})
_CHANNEL_INDEX = re.compile(r"\[\d+\]$")


def route_of(label: str) -> str:
    """The route name in a channel label: ``phone[0]`` → ``phone``."""
    return _CHANNEL_INDEX.sub("", label)


class JournalRecorder:
    """Delivery outcomes of the notifier, as ``notification`` journal events; with
    ``metrics``, each failed delivery (see :data:`FAILED_DELIVERY`) also counts in
    ``riskd_notification_failures_total{route}``."""

    def __init__(self, journal: Journal, clock: Clock, metrics: Metrics | None = None) -> None:
        self._journal = journal
        self._clock = clock
        self._metrics = metrics

    async def record(self, alert_key: str, route: str, outcome: str, detail: str) -> None:
        if self._metrics is not None and outcome in FAILED_DELIVERY:
            self._metrics.notification_failed(route_of(route))
        await self._journal.record(
            EventKind.DELIVERY,
            f"alert {alert_key} via {route}: {outcome}" + (f" ({detail})" if detail else ""),
            at=self._clock.now(),
            data={"alert": alert_key, "route": route, "outcome": outcome},
        )


_NOTIFICATION_KIND = {
    NotificationKind.FIRING: AlertKind.FIRING,
    NotificationKind.RESOLVED: AlertKind.RESOLVED,
    NotificationKind.UNHEALTHY: AlertKind.ERROR,
    NotificationKind.RECOVERED: AlertKind.RESOLVED,
}


def _value(values: Mapping[str, Decimal], name: str) -> Decimal | None:
    return values.get(name)


def from_notification(n: Notification, *, dry_run: bool) -> Alert:
    title = {
        NotificationKind.FIRING: f"{n.rule} firing",
        NotificationKind.RESOLVED: f"{n.rule} resolved",
        NotificationKind.UNHEALTHY: f"{n.rule} cannot be evaluated",
        NotificationKind.RECOVERED: f"{n.rule} evaluates again",
    }[n.kind]
    message = n.message if not n.error else f"{n.message} ({n.error})".strip()
    return Alert(
        kind=_NOTIFICATION_KIND[n.kind],
        severity=n.severity,
        title=title,
        at=n.at,
        account=n.account,
        scope=n.scope,
        rule=n.rule,
        incident=n.incident,
        dry_run=dry_run,
        risk_rate=_value(n.values, "riskRate"),
        warning_risk_ratio=_value(n.values, "warningRiskRatio"),
        liquidation_risk_ratio=_value(n.values, "liquidationRiskRatio"),
        message=message or None,
        labels=n.labels,
    )


def from_report(
    report: ActionReport,
    *,
    severity: Severity,
    incident: str | None,
    at: float,
    snap: ScopeSnapshot | None,
) -> Alert:
    """An action taken, refused or (dry-run) described."""
    what = report.description or report.kind
    if report.status == DRY_RUN:
        title, sev = f"DRY-RUN: would {what}", severity
    elif report.status == SUCCEEDED:
        title, sev = f"{what}: done", severity
    elif report.status == IN_PROGRESS:
        title, sev = f"{what}: accepted, in progress", severity
    elif report.status == OPEN:
        title, sev = f"{what}: outcome unknown, checking with the exchange", Severity.CRITICAL
    elif report.status in (FAILED, NOT_EXECUTED):
        title, sev = f"{what}: FAILED", Severity.CRITICAL
    elif report.status == BLOCKED:
        title, sev = f"{report.kind} blocked by a cap", Severity.CRITICAL
    elif report.status == STALE:
        title, sev = f"{report.kind} not sent: stale data", Severity.CRITICAL
    elif report.status == PAUSED:
        title, sev = f"{report.kind} not sent: actions paused", Severity.WARNING
    elif report.status == AWAITING:
        title, sev = f"{report.kind} held: earlier action not reconciled", Severity.CRITICAL
    elif report.status == SKIPPED:
        title, sev = f"{report.kind} skipped", Severity.WARNING
    else:
        title, sev = f"{what}: outcome {report.status}", Severity.CRITICAL
    return Alert(
        kind=AlertKind.ACTION,
        severity=sev,
        title=title,
        at=at,
        account=report.account,
        scope=report.scope,
        rule=report.rule,
        incident=incident,
        dry_run=report.dry_run,
        risk_rate=report.risk_before if report.risk_before is not None else None,
        warning_risk_ratio=snap.warning_risk_ratio if snap is not None else None,
        liquidation_risk_ratio=snap.liquidation_risk_ratio if snap is not None else None,
        action=what,
        outcome=report.outcome_text(),
    )


def stale_alert(
    account: str,
    snap: ScopeSnapshot | None,
    scope: str,
    age: float | None,
    limit: float,
    at: float,
    error: str | None,
) -> Alert:
    age_text = "never received" if age is None else f"{age:.0f}s old"
    message = f"data is {age_text} (limit {limit:g}s); no action will be taken on this scope"
    if error:
        message += f"; last error: {error}"
    return Alert(
        kind=AlertKind.STALE,
        severity=Severity.CRITICAL,
        title=f"stale data for {account}/{scope}",
        at=at,
        account=account,
        scope=scope,
        incident=f"stale:{account}:{scope}",
        risk_rate=snap.risk_rate if snap is not None else None,
        warning_risk_ratio=snap.warning_risk_ratio if snap is not None else None,
        liquidation_risk_ratio=snap.liquidation_risk_ratio if snap is not None else None,
        message=redact(message),
    )


def fresh_again_alert(account: str, scope: str, at: float) -> Alert:
    return Alert(
        kind=AlertKind.RESOLVED,
        severity=Severity.INFO,
        title=f"data for {account}/{scope} is fresh again",
        at=at,
        account=account,
        scope=scope,
        incident=f"stale:{account}:{scope}",
    )


def followed_alert(intent: Intent, detail: str, at: float, snap: ScopeSnapshot | None) -> Alert:
    """A followed call (a flash repay) reached its end at the exchange."""
    return Alert(
        kind=AlertKind.ACTION,
        severity=Severity.CRITICAL,
        title=f"{intent.kind} on {intent.scope}: done",
        at=at,
        account=intent.account,
        scope=intent.scope,
        rule=intent.rule,
        risk_rate=snap.risk_rate if snap is not None else None,
        warning_risk_ratio=snap.warning_risk_ratio if snap is not None else None,
        liquidation_risk_ratio=snap.liquidation_risk_ratio if snap is not None else None,
        action=intent.kind,
        outcome=detail,
    )


def error_alert(title: str, message: str, at: float, account: str | None = None) -> Alert:
    return Alert(
        kind=AlertKind.ERROR,
        severity=Severity.CRITICAL,
        title=title,
        at=at,
        account=account,
        message=redact(message),
    )
