"""The events of a daemon cycle, built from what happened (pure: no I/O, no clock).

Each function returns the :class:`~riskd.daemon.events.DaemonEvent` (with its alert, if
people are told) that :class:`~riskd.daemon.app.Daemon` publishes once.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from riskd.daemon import alerts
from riskd.daemon.actions import (
    AWAITING,
    BLOCKED,
    PAUSED,
    SKIPPED,
    STALE,
    UNSETTLED,
    ActionReport,
)
from riskd.daemon.events import DaemonEvent, EventKind
from riskd.daemon.journal import DRY_RUN, FAILED, NOT_EXECUTED, SUCCEEDED, PauseState
from riskd.daemon.journal_space import SpaceEvent
from riskd.daemon.liquidations import Liquidation
from riskd.daemon.reconcile import Settled
from riskd.daemon.settle import Settlement, Verdict
from riskd.notify.alert import EVERY_ROUTE, Alert, AlertKind
from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules.decisions import ActionRequest, Evaluation, NotificationKind
from riskd.severity import Severity

_REFUSED_KIND = {
    PAUSED: EventKind.PAUSED,
    STALE: EventKind.STALE,
    BLOCKED: EventKind.BLOCKED,
    SKIPPED: EventKind.SKIPPED,
    AWAITING: EventKind.AWAITING,
}
_FAILED = (FAILED, NOT_EXECUTED)


def from_evaluation(
    ev: Evaluation, now: float, *, dry_run: bool, liquidated: Collection[str] = ()
) -> list[DaemonEvent]:
    """The rules engine's notifications, decisions and skipped steps. A rule's fall on a
    scope just ``liquidated`` is its end by liquidation, never announced as resolved."""
    out: list[DaemonEvent] = []
    for n in ev.notifications:
        if n.kind is NotificationKind.RESOLVED and n.scope in liquidated:
            out.append(
                DaemonEvent(
                    EventKind.NOTIFICATION,
                    now,
                    f"{n.rule} ended for {n.scope} by a liquidation (not resolved)",
                    severity=n.severity,
                    account=n.account,
                    scope=n.scope,
                    rule=n.rule,
                    data={"kind": "ended_by_liquidation", "severity": str(n.severity)},
                )
            )
            continue
        out.append(
            DaemonEvent(
                EventKind.NOTIFICATION,
                now,
                n.message or f"{n.rule} {n.kind}",
                severity=n.severity,
                account=n.account,
                scope=n.scope,
                rule=n.rule,
                data={"kind": str(n.kind), "severity": str(n.severity), "error": n.error},
                alert=alerts.from_notification(n, dry_run=dry_run),
            )
        )
    for a in ev.actions:
        out.append(
            DaemonEvent(
                EventKind.DECISION,
                now,
                f"{a.rule} decided {a.describe()}",
                account=a.account,
                scope=a.scope,
                rule=a.rule,
                data={"action_id": a.id, "kind": str(a.kind), "params": dict(a.params)},
            )
        )
    for s in ev.skipped:
        out.append(
            DaemonEvent(
                EventKind.SKIPPED,
                now,
                f"{s.rule} step {s.step} ({s.kind}) skipped: {s.reason}"
                + ("; a later step acted" if s.acted_after else ""),
                # Passed over on the way to a step that acted: said, not warned about.
                severity=Severity.INFO if s.acted_after else Severity.WARNING,
                account=s.account,
                scope=s.scope,
                rule=s.rule,
            )
        )
    return out


def deferred(account: str, request: ActionRequest, acted: str, now: float) -> DaemonEvent:
    """A step decided beside another rule's action on the same scope, decided again."""
    return DaemonEvent(
        EventKind.DEFERRED,
        now,
        f"{request.rule}: {request.describe()} not sent yet: {acted} acted on the scope first;"
        " decided again on fresh data",
        account=account,
        scope=request.scope,
        rule=request.rule,
        data={"action_id": request.id},
    )


def action(
    report: ActionReport, request: ActionRequest, snap: ScopeSnapshot | None, now: float
) -> DaemonEvent:
    """An action's report: its alert and metric (the runner journaled its intent, outcome
    or refusal already)."""
    if report.status in _REFUSED_KIND:
        kind = _REFUSED_KIND[report.status]
    elif report.status == DRY_RUN:
        kind = EventKind.INTENT
    elif report.status in UNSETTLED:
        kind = EventKind.UNCERTAIN
    else:
        kind = EventKind.OUTCOME
    failure = report.status in _FAILED or report.status in (BLOCKED, STALE, AWAITING)
    return DaemonEvent(
        kind,
        now,
        f"{report.description or report.kind}: {report.status}",
        severity=request.severity,
        account=report.account,
        scope=report.scope,
        rule=report.rule,
        intent_id=report.intent_id,
        data={"action_kind": report.kind, "status": report.status},
        alert=None
        if report.quiet
        else alerts.from_report(
            report, severity=request.severity, incident=request.incident, at=now, snap=snap
        ),
        journaled=False,
        failure=failure,
    )


def reconciled(
    s: Settled, *, followed: bool, snap: ScopeSnapshot | None, now: float
) -> DaemonEvent:
    """What reconciliation found (journaled by the reconciler with the intent)."""
    i = s.intent.intent
    if s.status == SUCCEEDED and followed:
        alert = alerts.followed_alert(i, s.detail, now, snap)  # a flash repay's normal end
    else:
        what = "was executed" if s.status == SUCCEEDED else f"ended {s.status}"
        alert = alerts.error_alert(
            f"{i.kind} on {i.account}/{i.scope} reconciled: {what}",
            f"checked with the exchange: {s.detail}; it will not be sent twice",
            now,
            i.account,
        )
    return DaemonEvent(
        EventKind.RECONCILED,
        now,
        f"{i.kind} reconciled: {s.detail}",
        severity=Severity.CRITICAL,
        account=i.account,
        scope=i.scope,
        rule=i.rule,
        intent_id=i.intent_id,
        data={"status": s.status},
        alert=alert,
        journaled=False,
    )


def settled(d: Settlement, now: float) -> DaemonEvent:
    """An awaited action settled against the journal; a release is alerted."""
    account, scope, rule = d.key
    released = d.verdict is Verdict.RELEASED
    alert = None
    if released:
        alert = alerts.error_alert(
            f"{rule} on {account}/{scope} released after {d.waited_s:.0f}s",
            f"its {d.kind} has no known outcome: {d.detail}",
            now,
            account,
        )
    return DaemonEvent(
        EventKind.SETTLED,
        now,
        f"{rule}: awaited {d.kind} {d.verdict}: {d.detail}",
        severity=Severity.CRITICAL if released else Severity.INFO,
        account=account,
        scope=scope,
        rule=rule,
        intent_id=d.intent_id,
        data={
            "action_id": d.action_id,
            "verdict": str(d.verdict),
            "waited_s": round(d.waited_s, 3),
        },
        alert=alert,
        failure=released,
    )


def stale(
    account: str,
    scope: str,
    snap: ScopeSnapshot | None,
    age: float | None,
    limit: float,
    error: str | None,
    now: float,
) -> DaemonEvent:
    """A scope's data went stale: no action on it until it is fresh."""
    return DaemonEvent(
        EventKind.STALE,
        now,
        f"data older than {limit:g}s: no action on this scope until it is fresh",
        severity=Severity.CRITICAL,
        account=account,
        scope=scope,
        data={"error": error},
        alert=alerts.stale_alert(account, snap, scope, age, limit, now, error),
        failure=True,
    )


def fresh(account: str, scope: str, now: float) -> DaemonEvent:
    return DaemonEvent(
        EventKind.FRESH,
        now,
        "data is fresh again",
        account=account,
        scope=scope,
        alert=alerts.fresh_again_alert(account, scope, now),
    )


def disk(event: SpaceEvent, detail: str, journal: Path | str, now: float) -> DaemonEvent:
    """The disk under the journal is full, or has room again: on every route."""
    full = event is SpaceEvent.FULL
    title = f"disk {'full' if full else 'space back'} under the journal {journal}"
    severity = Severity.CRITICAL if full else Severity.WARNING
    return DaemonEvent(
        EventKind.DISK,
        now,
        f"{title}: {detail}",
        severity=severity,
        data={"full": full},
        alert=Alert(
            kind=AlertKind.ERROR,
            severity=severity,
            title=title,
            at=now,
            message=detail,
            tags=frozenset({EVERY_ROUTE}),
        ),
        failure=full,
    )


def liquidated(liq: Liquidation, now: float) -> DaemonEvent:
    """A liquidation by the exchange: critical, on every route."""
    text = liq.describe()
    return DaemonEvent(
        EventKind.LIQUIDATED,
        now,
        text,
        severity=Severity.CRITICAL,
        account=liq.account,
        scope=liq.scope,
        data={
            "liq_id": liq.liq_id,
            "source": liq.source,
            "liquidated_at": liq.at,
            "fee": liq.fee,
            "total_debt": liq.total_debt,
            "total_assets": liq.total_assets,
            "price": liq.price,
            "price_coin": liq.price_coin,
        },
        alert=Alert(
            kind=AlertKind.LIQUIDATED,
            severity=Severity.CRITICAL,
            title=f"LIQUIDATED: {liq.account}/{liq.scope}",
            at=now,
            account=liq.account,
            scope=liq.scope,
            risk_rate=liq.risk,
            message=text,
            tags=frozenset({EVERY_ROUTE}),
        ),
        failure=True,
    )


def pause_changes(before: PauseState, after: PauseState, now: float) -> list[DaemonEvent]:
    """Pauses and resumes since the last cycle (the command journaled them already)."""
    out: list[DaemonEvent] = []

    def one(account: str | None, paused: bool) -> None:
        target = "every account" if account is None else "this account"
        kind = EventKind.PAUSED if paused else EventKind.RESUMED
        text = (
            f"actions paused for {target}: riskd watches and alerts but takes no action"
            if paused
            else f"actions resumed for {target}"
        )
        out.append(
            DaemonEvent(
                kind,
                now,
                text,
                severity=Severity.WARNING if paused else Severity.INFO,
                account=account,
                alert=Alert(
                    kind=AlertKind.PAUSED if paused else AlertKind.RESUMED,
                    severity=Severity.WARNING if paused else Severity.INFO,
                    title=text,
                    at=now,
                    account=account,
                    tags=frozenset({EVERY_ROUTE}),
                ),
                journaled=False,
            )
        )

    if before.global_paused != after.global_paused:
        one(None, after.global_paused)
    for account in sorted(after.accounts - before.accounts):
        one(account, True)
    for account in sorted(before.accounts - after.accounts):
        one(account, False)
    return out


__all__ = [
    "action",
    "deferred",
    "disk",
    "fresh",
    "from_evaluation",
    "liquidated",
    "pause_changes",
    "reconciled",
    "settled",
    "stale",
]
