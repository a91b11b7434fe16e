"""One channel's outbox: waiting alerts, flood control, retry backoff. Pure: takes ``now``.

The delivery worker asks :meth:`Outbox.next` what to send; it answers with a :class:`Batch`
(a rendered message and the alerts in it), the time it should be asked again, or ``None``
when nothing waits. Then the worker reports :meth:`ack` or :meth:`nack`.

Flood control, never dropping: at most ``flood_limit`` attempts per ``flood_window``
(sliding), a hard limit. While less than half of it is used, each incident gets its own
message. Past half, messages are paced (one per ``flood_window / (flood_limit/2)``, 6 s for
20/min) and everything ready is packed into digests (one line per alert, most severe first),
so the remaining budget lasts the window and no alert waits long. Alerts are never dropped
for rate: they wait and join the next digest.

Bounded memory: at most ``queue_size`` alerts wait. A repeat of a waiting state alert
(same incident, kind and severity) replaces it. Beyond the bound the least severe, oldest
alert is dropped (info before warning before critical), returned to the caller to be counted
and recorded.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import Outgoing
from riskd.notify.grouping import STATE_KINDS
from riskd.notify.settings import NotifySettings
from riskd.notify.templates import (
    Caps,
    pack_digest,
    render_digest,
    render_incident,
)
from riskd.severity import Severity

#: An incident with more waiting alerts than this is sent as digest lines.
INCIDENT_MAX_ALERTS = 4


@dataclass(slots=True)
class _Entry:
    seq: int
    alert: Alert
    eligible_at: float
    #: Came through the fallback route: never copied onwards.
    is_copy: bool
    #: Already copied to the fallback route.
    fallback_done: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    """One message to send and the alerts it carries."""

    message: Outgoing
    alerts: tuple[Alert, ...]
    seqs: tuple[int, ...] = field(repr=False)
    digest: bool


@dataclass(frozen=True, slots=True)
class OutboxState:
    """A snapshot for status."""

    queued: int
    in_backoff: bool
    consecutive_failures: int
    retry_at: float | None
    failing_since: float | None
    sent_in_window: int


class Outbox:
    """Waiting alerts of one channel and the decisions about what to send when."""

    def __init__(
        self, settings: NotifySettings, caps: Caps | None = None, *, speed: float = 1.0
    ) -> None:
        self._s = settings
        # Provider limits are per wall second: with a clock running ``speed`` times faster
        # than the wall (the demo), the window spans ``speed`` times more clock seconds.
        self._window = settings.flood_window * speed
        self._caps = caps or Caps.from_settings(settings)
        self._reserve = settings.flood_limit // 4
        # Under pressure (half the window's budget used) messages are paced so that the other
        # half lasts the window: alerts arriving in between are merged into the next digest.
        self._half = settings.flood_limit // 2
        self._gap = self._window / max(1, settings.flood_limit - self._half)
        self._seq = 0
        self._pending: dict[int, _Entry] = {}
        self._by_severity: dict[Severity, OrderedDict[int, None]] = {
            severity: OrderedDict() for severity in Severity
        }
        self._mergeable: dict[tuple[str, AlertKind, Severity], int] = {}
        self._notified: dict[str, tuple[float, Severity]] = {}
        self._sent: deque[float] = deque()
        self._in_flight: Batch | None = None
        self._failures = 0
        self._retry_at: float | None = None
        self._failing_since: float | None = None

    def __len__(self) -> int:
        return len(self._pending)

    # --- intake ---------------------------------------------------------------------------

    def add(self, alert: Alert, now: float, *, is_copy: bool = False) -> list[Alert]:
        """Queue ``alert``; returns the alerts dropped to stay within ``queue_size``."""
        key = (alert.group_key, alert.kind, alert.severity)
        if alert.kind in STATE_KINDS:
            seq = self._mergeable.get(key)
            if seq is not None and seq in self._pending and not self._is_in_flight(seq):
                self._pending[seq].alert = alert  # newer numbers, same state: merge
                return []
        dropped: list[Alert] = []
        if len(self._pending) >= self._s.queue_size:
            victim = self._victim()
            if victim is None or victim.alert.severity > alert.severity:
                return [alert]
            self._remove(victim.seq)
            dropped.append(victim.alert)
        self._seq += 1
        entry = _Entry(self._seq, alert, self._eligible_at(alert, now), is_copy)
        self._pending[entry.seq] = entry
        self._by_severity[alert.severity][entry.seq] = None
        if alert.kind in STATE_KINDS:
            self._mergeable[key] = entry.seq
        return dropped

    def _eligible_at(self, alert: Alert, now: float) -> float:
        at = now + self._s.group_wait
        last = self._notified.get(alert.group_key)
        if last is not None and alert.severity <= last[1]:
            at = max(at, last[0] + self._s.group_interval)
        return at

    def _victim(self) -> _Entry | None:
        for severity in (Severity.INFO, Severity.WARNING, Severity.CRITICAL):
            for seq in self._by_severity[severity]:
                if not self._is_in_flight(seq):
                    return self._pending[seq]
        return None

    # --- planning -------------------------------------------------------------------------

    def next(self, now: float, *, flushing: bool = False) -> Batch | float | None:
        """A batch to send now, else when to ask again, else ``None`` (nothing waits)."""
        if self._in_flight is not None:
            raise RuntimeError("Outbox.next called while a batch is in flight")
        if not self._pending:
            return None
        if self._retry_at is not None and now < self._retry_at:
            return self._retry_at
        ready_keys = {
            e.alert.group_key for e in self._pending.values() if flushing or e.eligible_at <= now
        }
        if not ready_keys:
            return min(e.eligible_at for e in self._pending.values())
        # Like Alertmanager, a group that is due goes with every alert it has collected.
        ready = [e for e in self._pending.values() if e.alert.group_key in ready_keys]
        self._expire(now)
        used = len(self._sent)
        budget = self._s.flood_limit - used
        if budget <= 0:
            return self._sent[0] + self._window
        pressed = used >= self._half
        if pressed and not flushing and now < self._sent[-1] + self._gap:
            return self._sent[-1] + self._gap
        batch = self._form(ready, budget, pressed or flushing)
        self._sent.append(now)
        self._in_flight = batch
        return batch

    def _form(self, ready: list[_Entry], budget: int, pack: bool) -> Batch:
        groups: dict[str, list[_Entry]] = {}
        for entry in ready:
            groups.setdefault(entry.alert.group_key, []).append(entry)
        ordered = sorted(
            groups.values(),
            key=lambda g: (-max(e.alert.severity.rank for e in g), g[0].seq),
        )
        first = ordered[0]
        separate = len(ordered) == 1 or (not pack and len(ordered) <= budget - self._reserve)
        if separate and len(first) <= INCIDENT_MAX_ALERTS:
            alerts = tuple(e.alert for e in first)
            return Batch(
                render_incident(alerts, self._caps), alerts, tuple(e.seq for e in first), False
            )
        entries = sorted(ready, key=lambda e: (-e.alert.severity.rank, e.alert.at, e.seq))
        parts = pack_digest([e.alert for e in entries], self._caps)
        part_alerts, body = parts[0]
        taken = entries[: len(part_alerts)]
        message = render_digest(part_alerts, body, len(entries) - len(taken), self._caps)
        return Batch(message, tuple(part_alerts), tuple(e.seq for e in taken), True)

    def _expire(self, now: float) -> None:
        horizon = now - self._window
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()

    # --- outcomes -------------------------------------------------------------------------

    def ack(self, batch: Batch, now: float) -> None:
        """``batch`` was delivered: forget its alerts, clear the backoff."""
        self._settle(batch)
        for alert in batch.alerts:
            last = self._notified.get(alert.group_key)
            if last is None or last[0] != now or alert.severity > last[1]:
                self._notified[alert.group_key] = (now, alert.severity)
        for seq in batch.seqs:
            self._remove(seq)
        self._failures = 0
        self._retry_at = None
        self._failing_since = None
        self._prune_notified(now)

    def nack(self, batch: Batch, now: float, *, fallback_after: int | None) -> list[Alert]:
        """``batch`` failed: back off; returns alerts now due a copy to the fallback route.

        ``fallback_after`` is the number of consecutive failures after which an alert is
        copied (once) to the fallback; ``None`` when this channel has no fallback.
        """
        self._settle(batch)
        self._failures += 1
        delay = min(
            self._s.retry_max,
            self._s.retry_initial * self._s.retry_multiplier ** (self._failures - 1),
        )
        self._retry_at = now + delay
        if self._failing_since is None:
            self._failing_since = now
        if fallback_after is None or self._failures < fallback_after:
            return []
        copies: list[Alert] = []
        for seq in batch.seqs:
            entry = self._pending.get(seq)
            if entry is not None and not entry.is_copy and not entry.fallback_done:
                entry.fallback_done = True
                copies.append(entry.alert)
        return copies

    def flush(self) -> None:
        """Shutting down: allow one more attempt at once, whatever the backoff."""
        self._retry_at = None

    def take_all(self) -> list[Alert]:
        """Remove and return everything still waiting (at shutdown)."""
        alerts = [entry.alert for entry in self._pending.values()]
        for seq in list(self._pending):
            self._remove(seq)
        self._in_flight = None
        return alerts

    def state(self, now: float) -> OutboxState:
        horizon = now - self._window
        return OutboxState(
            queued=len(self._pending),
            in_backoff=self._retry_at is not None,
            consecutive_failures=self._failures,
            retry_at=self._retry_at,
            failing_since=self._failing_since,
            sent_in_window=sum(1 for t in self._sent if t > horizon),
        )

    def queued_by_severity(self) -> dict[Severity, int]:
        return {severity: len(seqs) for severity, seqs in self._by_severity.items()}

    # --- internals ------------------------------------------------------------------------

    def _settle(self, batch: Batch) -> None:
        if self._in_flight is not batch:
            raise RuntimeError("Outbox: outcome reported for a batch that is not in flight")
        self._in_flight = None

    def _is_in_flight(self, seq: int) -> bool:
        return self._in_flight is not None and seq in self._in_flight.seqs

    def _remove(self, seq: int) -> None:
        entry = self._pending.pop(seq, None)
        if entry is None:
            return
        self._by_severity[entry.alert.severity].pop(seq, None)
        key = (entry.alert.group_key, entry.alert.kind, entry.alert.severity)
        if self._mergeable.get(key) == seq:
            del self._mergeable[key]

    def _prune_notified(self, now: float) -> None:
        if len(self._notified) < 2 * self._s.queue_size:
            return
        horizon = now - self._s.group_interval
        for key in [k for k, (at, _) in self._notified.items() if at < horizon]:
            del self._notified[key]
