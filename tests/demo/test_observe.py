"""The demo's transport, console channel and sink."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from riskd.demo.observe import (
    CONSOLE_ROUTE,
    ConsoleChannel,
    DemoChannelFactory,
    DemoSink,
    TimedTransport,
)
from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import Outgoing
from riskd.severity import Severity
from riskd.virtual_time import run_virtual


async def slow(request: Request) -> PlainTextResponse:
    await asyncio.sleep(30)
    return PlainTextResponse("late")


async def fast(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


APP = Starlette(routes=[Route("/slow", slow), Route("/fast", fast)])


def test_read_timeout_is_in_market_seconds() -> None:
    """On virtual time a 10 s client timeout gives up after 10 virtual seconds (no real
    wait), as a ReadTimeout; a quick answer passes."""
    transport = TimedTransport(httpx.ASGITransport(app=APP))

    async def body() -> float:
        loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            t0 = loop.time()
            with pytest.raises(httpx.ReadTimeout, match="10 s \\(market time\\)"):
                await client.get("/slow", timeout=10)
            waited = loop.time() - t0
            assert (await client.get("/fast", timeout=10)).text == "ok"
        return waited

    assert run_virtual(body()) == pytest.approx(10.0)
    assert transport.requests == 2
    assert transport.timeouts == 1


async def test_no_timeout_means_no_limit() -> None:
    """Without a read timeout the request is passed through as it is."""
    transport = TimedTransport(httpx.ASGITransport(app=APP))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/fast", timeout=None)).text == "ok"
    assert transport.timeouts == 0


async def test_console_route_gets_the_console_channel() -> None:
    """The console route delivers to the view; other routes would go to apprise."""
    shown: list[Outgoing] = []
    console = ConsoleChannel(shown.append)
    factory = DemoChannelFactory(console)
    channel = factory(CONSOLE_ROUTE, 0, SecretStr("json://localhost/x"), 5.0)
    assert channel is console
    result = await channel.send(Outgoing("t", "b", Severity.WARNING))
    assert result.ok and shown[0].title == "t"
    other = factory("phone", 0, SecretStr("json://localhost/x"), 5.0)
    assert other is not console
    assert other.label == "phone[0]"


def test_sink_keeps_and_forwards_alerts() -> None:
    """Every alert is kept, shown, and (when a notifier is set) submitted to it."""
    seen: list[Alert] = []
    sink = DemoSink(seen.append)
    alert = Alert(AlertKind.FIRING, Severity.CRITICAL, "margin call", at=1.0)
    sink.submit(alert)
    assert sink.alerts == [alert] and seen == [alert]
