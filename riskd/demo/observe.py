"""What the demo puts between riskd and the simulator to watch it, without changing it.

- :class:`TimedTransport`: wraps ``httpx.ASGITransport(app=sim.app)`` (no sockets). In-process
  ASGI has no network timeouts, so it applies the client's own read timeout itself — on the
  loop's (virtual) time, like everything else in the demo — and counts the requests and the
  ones that timed out.
- :class:`DemoSink`: the daemon's alert sink: keeps every alert for the view and the
  summary, and hands it to the real :class:`~riskd.notify.notifier.Notifier` (console route,
  plus any apprise URL given with ``--notify``).
- :class:`ConsoleChannel`: the notifier channel behind the ``console`` route: "delivering"
  is handing the rendered message to the demo's view.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from riskd.notify.alert import Alert
from riskd.notify.channel import AppriseChannelFactory, Channel, Outgoing, SendResult
from riskd.notify.notifier import Notifier

log = logging.getLogger(__name__)

#: The route the demo's own console channel is registered under.
CONSOLE_ROUTE = "console"
#: A syntactically valid apprise URL for the console route (never contacted: the factory
#: below builds a :class:`ConsoleChannel` for that route instead).
CONSOLE_PLACEHOLDER_URL = "json://localhost/riskd-demo-console"


class TimedTransport(httpx.AsyncBaseTransport):
    """An ASGI transport with read timeouts on the loop's time, and counters."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.requests = 0
        self.timeouts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        timeouts = request.extensions.get("timeout") or {}
        read = timeouts.get("read") if isinstance(timeouts, dict) else None
        if not isinstance(read, int | float) or read <= 0:
            return await self._inner.handle_async_request(request)
        try:
            return await asyncio.wait_for(self._inner.handle_async_request(request), timeout=read)
        except TimeoutError:
            self.timeouts += 1
            raise httpx.ReadTimeout(
                f"no answer within {read:g} s (market time)", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class ConsoleChannel:
    """Delivers rendered messages to a callback (the demo's view)."""

    deliver: Callable[[Outgoing], None]
    label: str = f"{CONSOLE_ROUTE}[0]"
    redacted_url: str = "console://"
    sent: list[Outgoing] = field(default_factory=list)

    async def send(self, message: Outgoing) -> SendResult:
        self.sent.append(message)
        self.deliver(message)
        return SendResult(ok=True, detail="shown on the console")


class DemoChannelFactory:
    """The console route gets a :class:`ConsoleChannel`; every other URL goes to apprise."""

    def __init__(self, console: ConsoleChannel) -> None:
        self._console = console
        self._apprise = AppriseChannelFactory()

    def __call__(self, route: str, index: int, url: SecretStr, timeout: float) -> Channel:
        if route == CONSOLE_ROUTE:
            return self._console
        return self._apprise(route, index, url, timeout)


class DemoSink:
    """The daemon's :class:`~riskd.daemon.alerts.AlertSink` in the demo."""

    def __init__(self, on_alert: Callable[[Alert], None]) -> None:
        self.alerts: list[Alert] = []
        self.notifier: Notifier | None = None
        self._on_alert = on_alert

    def submit(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self._on_alert(alert)
        if self.notifier is not None:
            self.notifier.submit(alert)
