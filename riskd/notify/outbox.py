"""One channel's outbox: groups, flood control, retry backoff. Pure: takes ``now``.

The delivery worker asks :meth:`Outbox.next` what to send; it answers with a :class:`Batch`
(a rendered message and the alerts in it), the time it should be asked again, or ``None``
when nothing waits. Then the worker reports :meth:`ack` or :meth:`nack`.

Groups, like Alertmanager: alerts with the same values of ``group_by`` (default: the
account) form a group; a new group waits ``group_wait`` and then goes with everything it
collected. A group already notified waits ``group_interval`` before an update of the same or
lower severity; a more severe alert, an action, a liquidation or a safety change only waits
``group_wait``. A state alert (firing, stale, error, resolved) replaces the waiting state of
the same incident, and a state that equals the one last delivered on this channel (within
``repeat_interval``) is not sent again — so a rule flipping between firing and resolved
faster than ``group_interval`` sends its first state and then nothing until it settles. A
RESOLVED whose incident was never delivered on this channel is not sent either.

Flood control, never dropping: at most ``flood_limit`` attempts per ``flood_window``
(sliding). While less than half of it is used, each group gets its own message. Past half,
messages are paced (one per ``flood_window / (flood_limit/2)``, 6 s for 20/min) and
everything ready is packed into digests. A destination that answers 429 is left alone for
the time it asks (or ``rate_limit_backoff``).

Bounded memory: at most ``queue_size`` alerts wait; beyond it the least severe, oldest alert
is dropped (returned to the caller to be counted and recorded).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from riskd.durations import backoff_delay
from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import Outgoing
from riskd.notify.grouping import STATE_KINDS
from riskd.notify.settings import NotifySettings
from riskd.notify.templates import (
    Caps,
    digest_order,
    pack_digest,
    pack_group,
    plain_message,
    render_digest,
)
from riskd.severity import Severity

#: Kinds that never wait for ``group_interval`` (only ``group_wait``).
URGENT_KINDS = frozenset(
    {
        AlertKind.ACTION,
        AlertKind.LIQUIDATED,
        AlertKind.PAUSED,
        AlertKind.RESUMED,
        AlertKind.LIVE,
        AlertKind.RELOAD,
        AlertKind.LIFECYCLE,
        AlertKind.TEST,
    }
)
#: Most incidents whose last delivered state is remembered per channel.
_STATES_MAX = 10_000

#: Why an alert left the outbox without being sent.
RemovedOutcome = Literal["dropped", "suppressed", "superseded"]
#: ``(alert, now) -> reason`` when the alert must not be sent (silence, inhibition).
Suppressor = Callable[[Alert, float], str | None]


@dataclass(frozen=True, slots=True)
class Removed:
    """An alert taken out without being sent; ``ref`` is its outbox-store row, if any."""

    alert: Alert
    ref: str | None
    outcome: RemovedOutcome
    reason: str


@dataclass(slots=True)
class _Entry:
    seq: int
    alert: Alert
    eligible_at: float
    group: tuple[str, ...]
    #: Came through the fallback route: never copied onwards.
    is_copy: bool
    ref: str | None = None
    #: Already copied to the fallback route.
    fallback_done: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    """One message to send and the alerts it carries."""

    message: Outgoing
    alerts: tuple[Alert, ...]
    seqs: tuple[int, ...] = field(repr=False)
    digest: bool
    refs: tuple[str, ...] = field(default=(), repr=False)


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
        self,
        settings: NotifySettings,
        caps: Caps | None = None,
        *,
        suppress: Suppressor | None = None,
    ) -> None:
        self._s = settings
        self._window = float(settings.flood_window)
        self._caps = caps or Caps.from_settings(settings)
        self._suppress = suppress
        self._reserve = settings.flood_limit // 4
        self._half = settings.flood_limit // 2
        self._gap = self._window / max(1, settings.flood_limit - self._half)
        self._seq = 0
        self._pending: dict[int, _Entry] = {}
        self._by_severity: dict[Severity, OrderedDict[int, None]] = {
            severity: OrderedDict() for severity in Severity
        }
        #: incident → seq of its waiting state alert.
        self._state_entry: dict[str, int] = {}
        #: group → (time, most severe) of the last delivery.
        self._notified: dict[tuple[str, ...], tuple[float, Severity]] = {}
        #: incident → (kind, severity, time) last delivered.
        self._delivered: OrderedDict[str, tuple[AlertKind, Severity, float]] = OrderedDict()
        self._removed: list[Removed] = []
        self._sent: deque[float] = deque()
        self._in_flight: Batch | None = None
        self._failures = 0
        self._retry_at: float | None = None
        self._failing_since: float | None = None

    def __len__(self) -> int:
        return len(self._pending)

    # --- intake ---------------------------------------------------------------------------

    def group_of(self, alert: Alert) -> tuple[str, ...]:
        labels = alert.label_set()
        return tuple(labels.get(name, "") for name in self._s.group_by)

    def add(
        self, alert: Alert, now: float, *, is_copy: bool = False, ref: str | None = None
    ) -> list[Alert]:
        """Queue ``alert``; returns the alerts dropped to stay within ``queue_size``.
        A waiting state of the same incident is replaced (see :meth:`drain_removed`)."""
        inherit: float | None = None
        if alert.kind in STATE_KINDS:
            seq = self._state_entry.get(alert.group_key)
            if seq is not None and seq in self._pending and not self._is_in_flight(seq):
                old = self._pending[seq]
                inherit = old.eligible_at
                self._remove(seq)
                self._removed.append(
                    Removed(old.alert, old.ref, "superseded", "replaced by a newer state")
                )
        dropped: list[Alert] = []
        if len(self._pending) >= self._s.queue_size:
            victim = self._victim()
            if victim is None or victim.alert.severity > alert.severity:
                self._removed.append(Removed(alert, ref, "dropped", "queue full"))
                return [alert]
            self._remove(victim.seq)
            self._removed.append(Removed(victim.alert, victim.ref, "dropped", "queue full"))
            dropped.append(victim.alert)
        self._seq += 1
        group = self.group_of(alert)
        eligible = self._eligible_at(alert, group, now)
        if inherit is not None:
            eligible = min(eligible, inherit)
        entry = _Entry(self._seq, alert, eligible, group, is_copy, ref)
        self._pending[entry.seq] = entry
        self._by_severity[alert.severity][entry.seq] = None
        if alert.kind in STATE_KINDS:
            self._state_entry[alert.group_key] = entry.seq
        return dropped

    def _eligible_at(self, alert: Alert, group: tuple[str, ...], now: float) -> float:
        at = now + self._s.group_wait
        last = self._notified.get(group)
        urgent = alert.kind in URGENT_KINDS
        if last is not None and not urgent and alert.severity <= last[1]:
            at = max(at, last[0] + self._s.group_interval)
        return at

    def _victim(self) -> _Entry | None:
        for severity in (Severity.INFO, Severity.WARNING, Severity.CRITICAL):
            for seq in self._by_severity[severity]:
                if not self._is_in_flight(seq):
                    return self._pending[seq]
        return None

    def drain_removed(self) -> list[Removed]:
        """Alerts taken out without being sent since the last call (to record them)."""
        out, self._removed = self._removed, []
        return out

    # --- planning -------------------------------------------------------------------------

    def next(self, now: float, *, flushing: bool = False) -> Batch | float | None:
        """A batch to send now, else when to ask again, else ``None`` (nothing waits)."""
        if self._in_flight is not None:
            raise RuntimeError("Outbox.next called while a batch is in flight")
        if not self._pending:
            return None
        if self._retry_at is not None and now < self._retry_at:
            return self._retry_at
        due = {e.group for e in self._pending.values() if flushing or e.eligible_at <= now}
        if not due:
            return min(e.eligible_at for e in self._pending.values())
        # Like Alertmanager, a group that is due goes with every alert it has collected.
        ready = [e for e in self._pending.values() if e.group in due]
        ready = self._weed(ready, now)
        if not ready:
            return self.next(now, flushing=flushing) if self._pending else None
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

    def _weed(self, ready: list[_Entry], now: float) -> list[_Entry]:
        """Take out what must not be sent: silenced or inhibited, a state equal to the one
        last delivered, a RESOLVED that was never announced here."""
        kept: list[_Entry] = []
        for entry in ready:
            alert = entry.alert
            reason = self._suppress(alert, now) if self._suppress is not None else None
            outcome: RemovedOutcome = "suppressed"
            if reason is None and alert.kind in STATE_KINDS:
                outcome = "superseded"
                last = self._delivered.get(alert.group_key)
                if alert.kind is AlertKind.RESOLVED and (
                    last is None or last[0] is AlertKind.RESOLVED
                ):
                    reason = "resolved before it was announced on this channel"
                elif (
                    last is not None
                    and (last[0], last[1]) == (alert.kind, alert.severity)
                    and now - last[2] < self._s.repeat_interval
                ):
                    reason = f"unchanged since {now - last[2]:.0f}s ago"
            if reason is None:
                kept.append(entry)
                continue
            last_group = self._notified.get(entry.group)
            if outcome == "superseded" and last_group is not None:
                # Like an Alertmanager flush that found nothing new: the next update of this
                # group waits another group_interval.
                self._notified[entry.group] = (now, last_group[1])
            self._remove(entry.seq)
            self._removed.append(Removed(alert, entry.ref, outcome, reason))
        return kept

    def _form(self, ready: list[_Entry], budget: int, pack: bool) -> Batch:
        groups: dict[tuple[str, ...], list[_Entry]] = {}
        for entry in ready:
            groups.setdefault(entry.group, []).append(entry)
        ordered = sorted(
            groups.values(),
            key=lambda g: (-max(e.alert.severity.rank for e in g), g[0].seq),
        )
        first = ordered[0]
        try:
            return self._pack(ready, first, len(ordered), budget, pack)
        except Exception as exc:  # noqa: BLE001 - any template defect, on any odd figure
            # A rendering defect must not stop the channel (its worker would die and every
            # later alert be lost): the group's oldest alert goes out as plain fields.
            entry = min(first, key=lambda e: e.seq)
            return self._batch(plain_message(entry.alert, exc, self._caps), [entry], digest=False)

    def _pack(
        self, ready: list[_Entry], first: list[_Entry], groups: int, budget: int, pack: bool
    ) -> Batch:
        separate = groups == 1 or (not pack and groups <= budget - self._reserve)
        if separate:
            taken, message = pack_group([e.alert for e in first], self._caps)
            ids = {id(a) for a in taken}
            entries = [e for e in first if id(e.alert) in ids]
            return self._batch(message, entries, digest=False)
        ordered_alerts = digest_order([e.alert for e in ready])
        by_id = {id(e.alert): e for e in ready}
        entries = [by_id[id(a)] for a in ordered_alerts]
        parts = pack_digest(ordered_alerts, self._caps)
        part_alerts, body = parts[0]
        taken_entries = entries[: len(part_alerts)]
        message = render_digest(part_alerts, body, len(entries) - len(taken_entries), self._caps)
        return self._batch(message, taken_entries, digest=True)

    @staticmethod
    def _batch(message: Outgoing, entries: list[_Entry], *, digest: bool) -> Batch:
        return Batch(
            message,
            tuple(e.alert for e in entries),
            tuple(e.seq for e in entries),
            digest,
            tuple(e.ref for e in entries if e.ref is not None),
        )

    def _expire(self, now: float) -> None:
        horizon = now - self._window
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()

    # --- outcomes -------------------------------------------------------------------------

    def ack(self, batch: Batch, now: float) -> None:
        """``batch`` was delivered: forget its alerts, clear the backoff."""
        self._settle(batch)
        for seq in batch.seqs:
            entry = self._pending.get(seq)
            if entry is None:
                continue
            alert = entry.alert
            last = self._notified.get(entry.group)
            if last is None or last[0] != now or alert.severity > last[1]:
                self._notified[entry.group] = (now, alert.severity)
            if alert.kind in STATE_KINDS:
                self._delivered[alert.group_key] = (alert.kind, alert.severity, now)
                self._delivered.move_to_end(alert.group_key)
            self._remove(seq)
        while len(self._delivered) > _STATES_MAX:
            self._delivered.popitem(last=False)
        self._failures = 0
        self._retry_at = None
        self._failing_since = None
        self._prune_notified(now)

    def nack(
        self,
        batch: Batch,
        now: float,
        *,
        fallback_after: int | None,
        retry_after: float | None = None,
    ) -> list[Alert]:
        """``batch`` failed: back off; returns alerts now due a copy to the fallback route.

        ``retry_after``: the destination said 429 and how many (wall) seconds to wait
        (``0``: it did not say; ``rate_limit_backoff`` then). ``fallback_after`` is the number
        of consecutive failures after which an alert is copied (once) to the fallback;
        ``None`` when this channel has no fallback.
        """
        self._settle(batch)
        self._failures += 1
        delay = backoff_delay(
            self._s.retry_initial, self._s.retry_multiplier, self._failures, self._s.retry_max
        )
        if retry_after is not None:
            asked = retry_after if retry_after > 0 else self._s.rate_limit_backoff
            delay = max(delay, asked)
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
        if self._state_entry.get(entry.alert.group_key) == seq:
            del self._state_entry[entry.alert.group_key]

    def _prune_notified(self, now: float) -> None:
        if len(self._notified) < 2 * self._s.queue_size:
            return
        horizon = now - self._s.group_interval
        for key in [k for k, (at, _) in self._notified.items() if at < horizon]:
            del self._notified[key]
