"""The offset between our clock and Bitget's, for request timestamps.

Bitget refuses a signed request whose ``ACCESS-TIMESTAMP`` is more than 30 s from its own
time (40004 / 40005 / 40008). A host clock that drifts, or a virtual clock in a simulation,
must not turn into "bad credentials", so timestamps are ``clock.now_ms() + offset`` where the
offset is measured from ``GET /api/spot/v1/public/time``:

    offset = server_ms - (t_sent + t_received) / 2

It is measured when the client starts, refreshed every ``refresh_interval_s`` of the clock's
time before a signed request, and remeasured at once when the exchange answers with a clock
error (the client then retries that request once).

A failed periodic refresh is logged and the old offset kept (the request goes out and, if the
clock really is off, the exchange's clock error triggers a forced resync); the next attempt
waits ``retry_after_failure_s`` so that an unreachable time endpoint is not hammered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from riskd.bitget.errors import RiskdExchangeError
from riskd.clock import Clock

log = logging.getLogger(__name__)


class ServerClock:
    """Server time as seen through an offset to a local :class:`~riskd.clock.Clock`."""

    def __init__(
        self,
        clock: Clock,
        fetch_server_ms: Callable[[], Awaitable[int]],
        *,
        refresh_interval_s: float = 300.0,
        retry_after_failure_s: float = 30.0,
    ) -> None:
        self._clock = clock
        self._fetch = fetch_server_ms
        self._refresh_interval_s = refresh_interval_s
        self._retry_after_failure_s = retry_after_failure_s
        self._offset_ms = 0
        self._synced_at: float | None = None
        self._next_attempt_at: float | None = None
        self._lock = asyncio.Lock()
        self.sync_count = 0

    @property
    def offset_ms(self) -> int:
        """Milliseconds to add to the local clock to get the server's time."""
        return self._offset_ms

    @property
    def synced(self) -> bool:
        return self._synced_at is not None

    def now_ms(self) -> int:
        """The server's time now, by our best estimate (the value for ACCESS-TIMESTAMP)."""
        return self._clock.now_ms() + self._offset_ms

    def _due(self) -> bool:
        now = self._clock.now()
        if self._next_attempt_at is not None and now < self._next_attempt_at:
            return False
        return self._synced_at is None or now - self._synced_at >= self._refresh_interval_s

    async def ensure_fresh(self) -> None:
        """Measure the offset if it was never measured or is older than the refresh interval.

        Never raises for a failed measurement: it logs and keeps the previous offset.
        """
        if not self._due():
            return
        async with self._lock:
            if not self._due():
                return
            try:
                await self._measure()
            except RiskdExchangeError as exc:
                self._next_attempt_at = self._clock.now() + self._retry_after_failure_s
                log.warning(
                    "server time sync failed, keeping offset %d ms: %s", self._offset_ms, exc
                )

    async def resync(self) -> int:
        """Measure the offset now (after a clock error); raises if the server cannot say."""
        async with self._lock:
            await self._measure()
        return self._offset_ms

    async def _measure(self) -> None:
        sent = self._clock.now_ms()
        server_ms = await self._fetch()
        received = self._clock.now_ms()
        offset = server_ms - (sent + received) // 2
        if self._synced_at is None or offset != self._offset_ms:
            log.info("server clock offset %d ms (round trip %d ms)", offset, received - sent)
        self._offset_ms = offset
        self._synced_at = self._clock.now()
        self._next_attempt_at = None
        self.sync_count += 1

    def __repr__(self) -> str:
        return f"ServerClock(offset_ms={self._offset_ms}, synced={self.synced})"
