"""Heartbeat for an external dead-man's switch (healthchecks.io style).

Every ``interval`` seconds of the clock, while the notifier reports healthy, an HTTP GET goes
to the configured URL. When riskd dies, hangs, or cannot deliver alerts for too long, the pings
stop and the external service tells the user through its own channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from riskd.clock import Clock
from riskd.notify.logredact import install_log_redaction
from riskd.notify.settings import redacted_url
from riskd.notify.status import HeartbeatStatus
from riskd.redact import redact, register_secret

log = logging.getLogger(__name__)
install_log_redaction()


class Heartbeat:
    """Pings ``url`` while ``is_healthy()``; the HTTP client can be injected (tests)."""

    def __init__(
        self,
        url: SecretStr,
        interval: float,
        clock: Clock,
        is_healthy: Callable[[], bool],
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        raw = url.get_secret_value()
        register_secret(raw)
        self._url = url
        self._redacted = redacted_url(raw)
        self._interval = interval
        self._clock = clock
        self._is_healthy = is_healthy
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        self._ok = 0
        self._failed = 0
        self._skipped = 0
        self._last_ok_at: float | None = None
        self._last_error: str | None = None

    async def beat(self) -> bool | None:
        """One beat: ``None`` if skipped (unhealthy), else whether the ping succeeded."""
        if not self._is_healthy():
            self._skipped += 1
            log.warning("heartbeat %s skipped: notifier unhealthy", self._redacted)
            return None
        try:
            response = await self._client.get(self._url.get_secret_value())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self._failed += 1
            self._last_error = redact(f"{type(exc).__name__}: {exc}")[:200]
            log.warning("heartbeat %s failed: %s", self._redacted, self._last_error)
            return False
        self._ok += 1
        self._last_ok_at = self._clock.now()
        return True

    async def run(self) -> None:
        """Beat, then wait ``interval``; forever (cancel to stop)."""
        while True:
            await self.beat()
            await self._clock.sleep(self._interval)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def status(self) -> HeartbeatStatus:
        return HeartbeatStatus(
            url=self._redacted,
            interval=self._interval,
            pings_ok=self._ok,
            pings_failed=self._failed,
            skipped_unhealthy=self._skipped,
            last_ok_at=self._last_ok_at,
            last_error=self._last_error,
        )

    def __repr__(self) -> str:
        return f"Heartbeat({self._redacted}, every {self._interval}s)"
