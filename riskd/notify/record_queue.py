"""The notifier's delivery records on their way to the :class:`DeliveryRecorder`.

:meth:`RecordQueue.put` never blocks nor raises: the record waits in a bounded queue (beyond
:data:`RECORD_QUEUE_SIZE` it is counted as lost) and the writer task (:meth:`RecordQueue.run`)
hands the records to the recorder one at a time, so a slow journal never slows ``submit``.
A recorder that fails is logged; delivery goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from riskd.notify.recorder import DeliveryRecord, DeliveryRecorder, Outcome
from riskd.redact import redact

#: The notifier's logger: these lines are the notifier's, as they were before the split.
log = logging.getLogger("riskd.notify.notifier")

#: Most delivery records waiting for the recorder; beyond it records are counted as lost.
RECORD_QUEUE_SIZE = 10_000


class RecordQueue:
    """A bounded queue of delivery records in front of ``recorder``."""

    def __init__(self, recorder: DeliveryRecorder, size: int = RECORD_QUEUE_SIZE) -> None:
        self.recorder = recorder
        self._queue: asyncio.Queue[DeliveryRecord] = asyncio.Queue(size)
        #: Records that found the queue full.
        self.lost = 0

    def put(self, key: str, route: str, outcome: Outcome, detail: str) -> None:
        """Queue one record (``detail`` is redacted here); never blocks nor raises."""
        try:
            self._queue.put_nowait(DeliveryRecord(key, route, outcome, redact(detail)))
        except asyncio.QueueFull:
            self.lost += 1
            if self.lost == 1 or self.lost % 1000 == 0:
                log.warning("delivery recorder is behind: %d records lost", self.lost)

    async def run(self) -> None:
        """The writer: hand each record to the recorder, until cancelled."""
        while True:
            record = await self._queue.get()
            try:
                await self.recorder.record(
                    record.alert_key, record.route, record.outcome, record.detail
                )
            except Exception as exc:  # noqa: BLE001 - a journal failure must not stop delivery
                log.error("delivery recorder failed: %s", redact(f"{type(exc).__name__}: {exc}"))
            finally:
                self._queue.task_done()

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - a bounded wait by design
        """Wait (at most ``timeout`` seconds) until the writer has handed over every record."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=timeout)


__all__ = ["RECORD_QUEUE_SIZE", "RecordQueue"]
