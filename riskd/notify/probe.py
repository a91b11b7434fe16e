"""``riskd notify-test``: one test alert through every configured URL, per-URL results."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from riskd.notify.channel import Channel, ChannelError, ChannelFactory, Outgoing, SendResult
from riskd.notify.lifecycle import notify_test_alert
from riskd.notify.settings import NotifySettings, redacted_url
from riskd.notify.templates import Caps, render_incident
from riskd.redact import redact
from riskd.severity import Severity

_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome for one URL of one route; nothing secret."""

    route: str
    label: str  # "telegram[0]"
    url: str  # "tgram://***"
    ok: bool
    skipped: bool
    detail: str


async def probe_routes(
    settings: NotifySettings, severity: Severity | None, factory: ChannelFactory, now: float
) -> list[ProbeResult]:
    """Send the test alert through every route (or, with ``severity``, the routes that take
    an alert of that severity; the others are reported as skipped)."""
    alert = notify_test_alert(now, severity or Severity.INFO)
    message = render_incident([alert], Caps.from_settings(settings))
    jobs: list[asyncio.Task[ProbeResult]] = []
    skipped: list[ProbeResult] = []
    for route in settings.routes:
        takes = severity is None or route.takes(severity, alert.tags)
        for index, url in enumerate(route.urls):
            label = f"{route.name}[{index}]"
            shown = redacted_url(url.get_secret_value())
            if not takes:
                severities = ", ".join(sorted(route.severities)) or "tags only"
                skipped.append(
                    ProbeResult(
                        route.name, label, shown, True, True, f"skipped: route takes {severities}"
                    )
                )
                continue
            try:
                channel = factory(route.name, index, url, settings.send_timeout)
            except ChannelError as exc:
                skipped.append(ProbeResult(route.name, label, shown, False, False, str(exc)))
                continue
            jobs.append(
                asyncio.create_task(
                    _send(route.name, channel, message, settings.send_timeout + _GRACE)
                )
            )
    sent = list(await asyncio.gather(*jobs))
    order = {
        f"{r.name}[{i}]": n
        for n, (r, i) in enumerate((r, i) for r in settings.routes for i in range(len(r.urls)))
    }
    return sorted([*sent, *skipped], key=lambda r: order.get(r.label, 0))


async def _send(route: str, channel: Channel, message: Outgoing, limit: float) -> ProbeResult:
    try:
        result = await asyncio.wait_for(channel.send(message), limit)
    except TimeoutError:
        result = SendResult(False, f"no answer within {limit:g}s")
    except Exception as exc:  # noqa: BLE001 - reported to the user as this URL's failure
        result = SendResult(False, redact(f"{type(exc).__name__}: {exc}")[:200])
    return ProbeResult(
        route, channel.label, channel.redacted_url, result.ok, False, redact(result.detail)
    )
