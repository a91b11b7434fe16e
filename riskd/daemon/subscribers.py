"""The standard subscribers of the daemon's :class:`~riskd.daemon.events.EventBroker`:
the journal's event log, the alert relay, the metrics tap and the log line."""

from __future__ import annotations

import logging
from collections.abc import Callable

from riskd.daemon.alerts import AlertSink
from riskd.daemon.events import DaemonEvent, EventBroker, EventKind
from riskd.daemon.journal import Journal
from riskd.daemon.journal_types import JournalUnavailable
from riskd.ops.logging import get_logger
from riskd.ops.metrics import Metrics
from riskd.severity import Severity

log = logging.getLogger("riskd.daemon.events")


class JournalLog:
    """Writes each journaled event to the journal's event log. While the journal's database
    cannot be reached, events are counted in :attr:`lost` and not written (the outage itself
    is alerted once by the daemon; the log line still has every event)."""

    def __init__(self, journal: Callable[[], Journal]) -> None:
        self._journal = journal
        self.lost = 0

    async def __call__(self, event: DaemonEvent) -> None:
        if not event.journaled:
            return
        try:
            await self._write(event)
        except JournalUnavailable:
            self.lost += 1

    async def _write(self, event: DaemonEvent) -> None:
        await self._journal().record(
            event.kind,
            event.summary,
            at=event.at,
            account=event.account,
            scope=event.scope,
            rule=event.rule,
            intent_id=event.intent_id,
            data=event.data,
        )


class AlertRelay:
    """Hands an event's alert to the current sink (the notifier queue: never blocks)."""

    def __init__(self, sink: Callable[[], AlertSink]) -> None:
        self._sink = sink

    async def __call__(self, event: DaemonEvent) -> None:
        if event.alert is not None:
            self._sink().submit(event.alert)


class MetricsTap:
    """Counts and gauges that follow events."""

    def __init__(self, metrics: Callable[[], Metrics | None]) -> None:
        self._metrics = metrics

    async def __call__(self, event: DaemonEvent) -> None:
        metrics = self._metrics()
        if metrics is None:
            return
        action_kind = event.data.get("action_kind")
        if action_kind is not None and event.account is not None:
            metrics.action(event.account, str(action_kind), str(event.data.get("status")))
        if event.kind is EventKind.DISK:
            metrics.set_journal_full(bool(event.data.get("full")))
        elif event.kind is EventKind.LIQUIDATED and event.account is not None:
            metrics.liquidation(event.account, event.scope or "")


class LogLine:
    """One log line per event: failures at error, warnings at warning, the rest at info."""

    async def __call__(self, event: DaemonEvent) -> None:
        if event.failure or (event.severity is Severity.CRITICAL and event.kind in _LOUD):
            level = logging.ERROR
        elif event.severity is Severity.WARNING:
            level = logging.WARNING
        else:
            level = logging.INFO
        where = {
            k: v
            for k, v in (("account", event.account), ("scope", event.scope), ("rule", event.rule))
            if v is not None
        }
        get_logger("riskd.events", **where).log(level, event.summary, kind=str(event.kind))


#: Kinds whose critical events are failures to look at (logged at error).
_LOUD = frozenset({EventKind.LIQUIDATED, EventKind.DISK, EventKind.STALE, EventKind.RELOAD_FAILED})


def standard_broker(
    journal: Callable[[], Journal],
    sink: Callable[[], AlertSink],
    metrics: Callable[[], Metrics | None],
) -> EventBroker:
    """A broker with the journal log, the alert relay, the metrics tap and the log line."""
    broker = EventBroker()
    broker.subscribe("journal", JournalLog(journal))
    broker.subscribe("alerts", AlertRelay(sink))
    broker.subscribe("metrics", MetricsTap(metrics))
    broker.subscribe("log", LogLine())
    return broker


__all__ = ["AlertRelay", "JournalLog", "LogLine", "MetricsTap", "standard_broker"]
