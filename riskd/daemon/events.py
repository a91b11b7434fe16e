"""Typed daemon events and the broker that hands each one to its subscribers.

A decision, an outcome, a state change is published **once** as a :class:`DaemonEvent`;
the journal's event log, the alerts, the metrics and the logs subscribe to it
(:mod:`riskd.daemon.subscribers`), in the manner of APScheduler 4's event broker. A
subscriber that fails is logged and skipped: it never reaches the action that published.

What is *not* an event: the intent written before a protective call and its outcome. Those
are the write-ahead journal itself (:meth:`~riskd.daemon.journal.Journal.begin_intent`),
written directly, in order, before and after the call.

::

    Daemon / ActionRunner ──publish(DaemonEvent)──▶ EventBroker
                                                     ├─▶ JournalLog   (events table)
                                                     ├─▶ AlertRelay   (notifier queue)
                                                     ├─▶ MetricsTap   (Prometheus)
                                                     └─▶ LogLine      (structured log)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from riskd.notify.alert import Alert
from riskd.severity import Severity

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    """Every kind of entry in the journal's event log (``riskd journal --kind``)."""

    LIFECYCLE = "lifecycle"
    DECISION = "decision"
    NOTIFICATION = "notification"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    INTENT = "intent"
    ACCEPTED = "accepted"
    OUTCOME = "outcome"
    FOLLOWING = "following"
    UNCERTAIN = "uncertain"
    VERIFIED = "verified"
    CAPPED = "capped"
    RECONCILED = "reconciled"
    SETTLED = "settled"
    #: An action not sent: paused, stale data, blocked by a cap, earlier intent still open.
    PAUSED = "paused"
    RESUMED = "resumed"
    STALE = "stale"
    FRESH = "fresh"
    BLOCKED = "blocked"
    AWAITING = "awaiting_reconciliation"
    DELIVERY = "delivery"
    RELOAD = "reload"
    RELOAD_FAILED = "reload_failed"
    MODE = "mode"
    DISK = "disk"
    LIQUIDATED = "liquidated"
    #: The poller's notices (:mod:`riskd.daemon.poll_notices`): the exchange's risk figure
    #: agrees with riskd's own in neither reading; an answer in a shape the document does not
    #: describe; a Unified Trading Account, which the classic margin API cannot serve.
    RISK_READING = "risk_reading"
    BAD_ANSWER = "bad_answer"
    ACCOUNT_MODE = "account_mode"
    #: A dry-run account's shadow ledger changed: a would-be action applied, an entry expired
    #: or cleared, a balance clipped at zero (:mod:`riskd.daemon.shadow`).
    SHADOW = "shadow"
    #: A Telegram command and what came of it (:mod:`riskd.telegram`).
    TELEGRAM = "telegram"
    #: Cluster: this node took an account over, lost it, or was refused an intent because
    #: another node holds the account now (:mod:`riskd.daemon.cluster_events`).
    OWNERSHIP = "ownership"
    FENCED = "fenced"
    #: The journal's database (PostgreSQL) cannot be reached, or is back.
    JOURNAL = "journal"
    #: The shared rate budget's Redis cannot be reached (a local share is counted), or is back.
    BUDGET = "budget"


_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DaemonEvent:
    """Something the daemon decided, did or noticed, published once."""

    kind: EventKind
    at: float
    summary: str
    severity: Severity = Severity.INFO
    account: str | None = None
    scope: str | None = None
    rule: str | None = None
    intent_id: str | None = None
    data: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    #: What people are told about it, if anything.
    alert: Alert | None = None
    #: Whether the journal's event log records it (False: already recorded with its intent).
    journaled: bool = True
    #: A failure or a loss (logged at error); otherwise info, or warning for warnings.
    failure: bool = False


Subscriber = Callable[[DaemonEvent], Awaitable[None]]


class EventBroker:
    """Hands every published event to every subscriber, in subscription order."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Subscriber]] = []
        #: Subscriber failures so far (tests and status read it).
        self.failures = 0

    def subscribe(self, name: str, subscriber: Subscriber) -> None:
        self._subscribers.append((name, subscriber))

    async def publish(self, event: DaemonEvent) -> None:
        """Deliver ``event``; a subscriber's exception is logged and never raised here."""
        for name, subscriber in self._subscribers:
            try:
                await subscriber(event)
            except Exception:
                self.failures += 1
                log.exception("event subscriber %s failed on a %s event", name, event.kind)


__all__ = ["DaemonEvent", "EventBroker", "EventKind", "Subscriber"]
