"""The notifier's link to the journal: the outbox rows it writes and the silences it reads.

Writes happen on the notifier's own writer task, never in ``submit``: ``submit`` puts an
operation on a bounded in-memory queue and returns. The window in which an alert exists
only in memory is the time until the writer task next runs (the next turn of the event loop,
plus one SQLite insert: milliseconds); a ``kill -9`` inside it loses that alert's outbox row.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from riskd.clock import Clock
from riskd.notify.alert import Alert
from riskd.notify.outbox_store import PendingAlert
from riskd.notify.silences import Silence
from riskd.redact import redact

log = logging.getLogger(__name__)

#: Most outbox operations waiting for the writer; beyond it they are counted as lost.
OPS_QUEUE_SIZE = 10_000


class OutboxStoreLike(Protocol):
    """What the notifier needs of :class:`riskd.notify.outbox_store.OutboxStore`."""

    async def add(self, ref: str, route: str, alert: Alert, created: float) -> None: ...

    async def mark(self, refs: Iterable[str], state: str, at: float) -> None: ...

    async def pending(self, now: float, max_age: float) -> tuple[list[PendingAlert], int]: ...


class SilenceSource(Protocol):
    """What the notifier needs of :class:`riskd.notify.silence_store.SilenceStore`."""

    async def active(self, now: float) -> list[Silence]: ...


@dataclass(frozen=True, slots=True)
class _Add:
    ref: str
    route: str
    alert: Alert
    at: float


@dataclass(frozen=True, slots=True)
class _Mark:
    refs: tuple[str, ...]
    state: str
    at: float


class Persister:
    """Queues outbox writes and performs them in order on :meth:`run`'s task."""

    def __init__(self, store: OutboxStoreLike | None) -> None:
        self.store = store
        self._ops: asyncio.Queue[_Add | _Mark] = asyncio.Queue(OPS_QUEUE_SIZE)
        self.lost = 0
        self.failures = 0

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def new_ref(self) -> str | None:
        return uuid.uuid4().hex if self.store is not None else None

    def added(self, ref: str | None, route: str, alert: Alert, at: float) -> None:
        if ref is not None:
            self._put(_Add(ref, route, alert, at))

    def settled(self, refs: Iterable[str | None], state: str, at: float) -> None:
        ids = tuple(ref for ref in refs if ref is not None)
        if ids and self.store is not None:
            self._put(_Mark(ids, state, at))

    def _put(self, op: _Add | _Mark) -> None:
        try:
            self._ops.put_nowait(op)
        except asyncio.QueueFull:
            self.lost += 1
            if self.lost == 1 or self.lost % 1000 == 0:
                log.error("alert outbox writer is behind: %d writes lost", self.lost)

    async def run(self) -> None:
        """Write queued operations forever (cancel to stop)."""
        assert self.store is not None
        while True:
            op = await self._ops.get()
            try:
                if isinstance(op, _Add):
                    await self.store.add(op.ref, op.route, op.alert, op.at)
                else:
                    await self.store.mark(op.refs, op.state, op.at)
            except Exception as exc:  # noqa: BLE001 - delivery goes on without the row
                self.failures += 1
                log.error("alert outbox write failed: %s", redact(f"{type(exc).__name__}: {exc}"))
            finally:
                self._ops.task_done()

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - bounded wait at stop
        try:
            await asyncio.wait_for(self._ops.join(), timeout=timeout)
        except TimeoutError:
            log.error("alert outbox writer: %d writes not done at stop", self._ops.qsize())


async def load_backlog(store: OutboxStoreLike, now: float, max_age: float) -> list[PendingAlert]:
    """What an earlier run wrote to the outbox and did not deliver (too old ones dropped,
    with a log line); an unreadable outbox is logged and gives nothing."""
    try:
        pending, expired = await store.pending(now, max_age)
    except Exception as exc:  # noqa: BLE001 - start without the backlog, say so
        log.error("alert outbox unreadable: %s", redact(f"{type(exc).__name__}: {exc}"))
        return []
    if expired:
        log.warning(
            "alert outbox: %d undelivered alert(s) older than %gs dropped", expired, max_age
        )
    return pending


class SilenceFeed:
    """Loads the silences in force from ``source`` now and every ``every`` wall seconds."""

    def __init__(
        self,
        source: SilenceSource,
        clock: Clock,
        every: float,
        apply: Callable[[tuple[Silence, ...]], None],
    ) -> None:
        self._source = source
        self._clock = clock
        self._every = every
        self._apply = apply
        self._failing = False

    async def load(self) -> None:
        """Apply the silences in force; when they cannot be read, keep the ones we had and
        log it once until a read works again (a database outage is alerted elsewhere)."""
        try:
            found = tuple(await self._source.active(self._clock.now()))
        except Exception as exc:  # noqa: BLE001 - keep the silences we had
            if not self._failing:
                why = redact(f"{type(exc).__name__}: {exc}")
                log.error("silences unreadable (keeping the last ones read): %s", why)
            self._failing = True
            return
        if self._failing:
            log.warning("silences readable again")
        self._failing = False
        self._apply(found)

    async def run(self) -> None:
        """Reload every ``every`` wall seconds, forever (cancel to stop). Wall time on
        purpose: a refresh period, not a moment of the clock, and a clock whose ``sleep``
        jumps ahead (ManualClock) must not make this loop spin."""
        while True:
            await asyncio.sleep(self._every)
            await self.load()
