"""The server clock offset: measured at start, refreshed, kept on failure."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from riskd.bitget.endpoints import BY_NAME, SERVER_TIME_PATH
from riskd.bitget.errors import ExchangeUnavailableError
from riskd.bitget.server_clock import ServerClock
from riskd.clock import ManualClock


async def test_offset_is_measured_from_the_round_trip_midpoint() -> None:
    """offset = server time − midpoint of send and receive."""
    clock = ManualClock(start=1000.0)

    async def fetch() -> int:
        clock.advance(0.2)  # 200 ms round trip; server answers 5 s ahead at the midpoint
        return 1_000_100 + 5_000

    sc = ServerClock(clock, fetch)
    await sc.ensure_fresh()
    assert sc.offset_ms == 5_000
    assert sc.now_ms() == clock.now_ms() + 5_000


async def test_refresh_happens_only_after_the_interval() -> None:
    """ensure_fresh measures once, then again only when the interval has passed."""
    clock = ManualClock()
    calls: list[int] = []

    async def fetch() -> int:
        calls.append(1)
        return clock.now_ms() + 1_000 * len(calls)

    sc = ServerClock(clock, fetch, refresh_interval_s=60)
    await sc.ensure_fresh()
    clock.advance(59)
    await sc.ensure_fresh()
    assert len(calls) == 1 and sc.offset_ms == 1_000
    clock.advance(1)
    await sc.ensure_fresh()
    assert len(calls) == 2 and sc.offset_ms == 2_000


async def test_failed_refresh_keeps_the_offset_logs_and_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing time endpoint keeps the old offset, logs a warning, and is not hammered."""
    clock = ManualClock()
    state = {"fail": False, "calls": 0}

    async def fetch() -> int:
        state["calls"] += 1
        if state["fail"]:
            raise ExchangeUnavailableError("down", endpoint="server_time")
        return clock.now_ms() + 7_000

    sc = ServerClock(clock, fetch, refresh_interval_s=10, retry_after_failure_s=30)
    await sc.ensure_fresh()
    state["fail"] = True
    clock.advance(10)
    with caplog.at_level(logging.WARNING, logger="riskd.bitget.server_clock"):
        await sc.ensure_fresh()
    assert sc.offset_ms == 7_000 and "sync failed" in caplog.text
    clock.advance(29)
    await sc.ensure_fresh()
    assert state["calls"] == 2
    clock.advance(1)
    await sc.ensure_fresh()
    assert state["calls"] == 3


async def test_resync_raises_when_the_server_cannot_say() -> None:
    """A forced resync (after a clock error) propagates the failure."""
    clock = ManualClock()

    async def fetch() -> int:
        raise ExchangeUnavailableError("down")

    with pytest.raises(ExchangeUnavailableError):
        await ServerClock(clock, fetch).resync()


async def test_client_timestamps_follow_the_servers_clock(fake: Any) -> None:
    """Signed requests carry local time + measured offset, refreshed periodically."""
    path = BY_NAME["cross_risk_rate"].path
    fake.on(path, fake.ok({"riskRate": "0"}))
    fake.server_offset_ms = 12_345
    async with fake.client(clock_refresh_s=300) as client:
        await client.cross_risk_rate(coin="USDT")
        fake.server_offset_ms = 20_000
        fake.clock.advance(301)
        await client.cross_risk_rate(coin="USDT")
    first, second = fake.calls(path)
    assert int(first.headers["ACCESS-TIMESTAMP"]) == 1_700_000_000_000 + 12_345
    assert int(second.headers["ACCESS-TIMESTAMP"]) == 1_700_000_301_000 + 20_000
    assert len(fake.calls(SERVER_TIME_PATH)) == 2


async def test_server_time_accepts_a_number_or_a_digit_string(fake: Any) -> None:
    """data of the time endpoint may be a number or a string of milliseconds."""
    fake.on(SERVER_TIME_PATH, fake.ok("1700000000123"), fake.ok(1700000000456), fake.ok("x"))
    async with fake.client(signed=False) as client:
        assert await client.server_time() == 1700000000123
        assert await client.server_time() == 1700000000456
        with pytest.raises(ExchangeUnavailableError):
            await client.server_time()


async def test_unreachable_time_endpoint_does_not_block_start(fake: Any) -> None:
    """If the time cannot be read at start, the client still starts (offset 0)."""
    fake.on(SERVER_TIME_PATH, httpx.Response(503))
    async with fake.client(retry=None) as client:
        assert client.server_clock.offset_ms == 0 and not client.server_clock.synced
