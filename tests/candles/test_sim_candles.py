"""The simulator's v2 spot candle endpoints: OHLC of its price path, windows, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from riskd.bitget.endpoints_v2 import CANDLES_V2, HISTORY_CANDLES_V2
from riskd.clock import ManualClock
from riskd.sim import Simulator
from riskd.sim.market import MAX_REGIMES, Segment

from .conftest import MARKET_START, MARKET_START_MS

MIN_MS = 60_000


async def get(sim: Simulator, path: str, **params: Any) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        resp = await client.get(path, params={k: str(v) for k, v in params.items()})
    body: dict[str, Any] = resp.json()
    return body


def shaped_sim() -> tuple[Simulator, ManualClock]:
    """BTCUSDT: 100 for 2 min, a step to 120 held 1 min, a line down to 60 over 3 min."""
    market = ManualClock(MARKET_START)
    sim = Simulator(
        clock=market, scenario="default", protocol_clock=ManualClock(1.75e9), rate_limits=False
    )
    sim.control.set_price("BTCUSDT", Decimal(100))
    sim.exchange.start_paths(
        {
            "BTCUSDT": [
                Segment("hold", duration_s=120),
                Segment("step", duration_s=60, to=Decimal(120)),
                Segment("linear", duration_s=180, to=Decimal(60)),
            ]
        }
    )
    market.advance(600)
    return sim, market


def prices(row: list[str]) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in row[1:5])


async def test_ohlc_follows_the_price_path_exactly() -> None:
    """Each 1min candle's open/high/low/close are the path's, volumes 0, oldest first."""
    sim, _ = shaped_sim()
    body = await get(sim, CANDLES_V2.path, symbol="BTCUSDT", granularity="1min", limit=10)
    assert body["code"] == "00000"
    rows = body["data"]
    # ten minutes have passed: the newest ten are minutes 1..10, the last one just opened
    assert [int(r[0]) for r in rows] == [MARKET_START_MS + i * MIN_MS for i in range(1, 11)]
    body = await get(
        sim, CANDLES_V2.path, symbol="BTCUSDT", granularity="1min", startTime=MARKET_START_MS
    )
    rows = body["data"]
    assert len(rows) == 11
    assert all(len(r) == 8 and r[5:] == ["0", "0", "0"] for r in rows)
    assert prices(rows[0]) == (100, 100, 100, 100)
    assert prices(rows[2]) == (120, 120, 120, 120)
    # the line 120 → 60 over 180 s, −20 a minute: open = high, low = close just above 100
    o, h, lo, c = prices(rows[3])
    assert (o, h) == (120, 120) and lo == c and 100 < c < Decimal("100.001")
    o, h, lo, c = prices(rows[5])
    assert h == o == 80 and lo == c and 60 < c < Decimal("60.001")
    assert prices(rows[6]) == (60, 60, 60, 60)


async def test_coarser_candles_aggregate_the_same_path() -> None:
    """A 5min candle holds the extremes of its five 1min candles."""
    sim, _ = shaped_sim()
    body = await get(
        sim, CANDLES_V2.path, symbol="BTCUSDT", granularity="5min", startTime=MARKET_START_MS
    )
    minutes = await get(
        sim, CANDLES_V2.path, symbol="BTCUSDT", granularity="1min", startTime=MARKET_START_MS
    )
    first = prices(body["data"][0])
    five = [prices(r) for r in minutes["data"][:5]]
    assert first == (five[0][0], max(f[1] for f in five), min(f[2] for f in five), five[4][3])
    assert first[:2] == (100, 120)


async def test_window_is_inclusive_and_keeps_the_newest_rows() -> None:
    """startTime/endTime bound candle starts inclusively; over ``limit`` the newest win."""
    sim, _ = shaped_sim()
    start, end = MARKET_START_MS + MIN_MS, MARKET_START_MS + 4 * MIN_MS
    body = await get(
        sim,
        HISTORY_CANDLES_V2.path,
        symbol="BTCUSDT",
        granularity="1min",
        endTime=end,
        limit=2,
    )
    assert [int(r[0]) for r in body["data"]] == [end - MIN_MS, end]
    body = await get(
        sim, CANDLES_V2.path, symbol="BTCUSDT", granularity="1min", startTime=start, endTime=end
    )
    assert [int(r[0]) for r in body["data"]] == [start + i * MIN_MS for i in range(4)]


async def test_no_candles_before_history_or_after_now() -> None:
    """Before the market started there is nothing; the candle in progress is the last one."""
    sim, _ = shaped_sim()
    body = await get(
        sim,
        HISTORY_CANDLES_V2.path,
        symbol="BTCUSDT",
        granularity="1min",
        endTime=MARKET_START_MS - 1,
    )
    assert body["data"] == []
    body = await get(sim, CANDLES_V2.path, symbol="BTCUSDT", granularity="1h")
    assert [int(r[0]) for r in body["data"]] == [MARKET_START_MS]


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"symbol": "NOPEUSDT", "granularity": "1min"}, "40034", "NOPEUSDT does not exist"),
        ({"symbol": "BTCUSDT", "granularity": "2min"}, "40020", "granularity"),
        ({"symbol": "BTCUSDT", "granularity": "1M"}, "40020", "month"),
        ({"symbol": "BTCUSDT", "granularity": "1min", "limit": 1001}, "40020", "1..1000"),
        ({"symbol": "BTCUSDT", "granularity": "1min", "startTime": 9, "endTime": 1}, "40707", ""),
        ({"symbol": "BTCUSDT"}, "40019", "granularity"),
    ],
)
async def test_bad_parameters_get_the_documented_codes(
    params: dict[str, Any], code: str, text: str
) -> None:
    """Unknown symbol 40034, bad granularity or limit 40020, reversed window 40707."""
    sim, _ = shaped_sim()
    body = await get(sim, CANDLES_V2.path, **params)
    assert body["code"] == code and text in body["msg"]


async def test_history_candles_needs_an_end_time_and_caps_pages_at_200() -> None:
    """history-candles: endTime is required (40019) and limit is at most 200."""
    sim, _ = shaped_sim()
    body = await get(sim, HISTORY_CANDLES_V2.path, symbol="BTCUSDT", granularity="1min")
    assert (body["code"], body["msg"]) == ("40019", "Parameter endTime cannot be empty")
    body = await get(
        sim, HISTORY_CANDLES_V2.path, symbol="BTCUSDT", granularity="1min", endTime=1, limit=201
    )
    assert body["code"] == "40020" and "1..200" in body["msg"]


async def test_a_pin_changes_candles_from_then_on_only() -> None:
    """A price pinned later leaves the earlier candles as they were (history is kept)."""
    sim, market = shaped_sim()
    window = {"symbol": "BTCUSDT", "granularity": "1min", "startTime": MARKET_START_MS}
    before = await get(sim, CANDLES_V2.path, **window)
    sim.exchange.market.set_price("BTCUSDT", Decimal(500), now_s=market.now())
    market.advance(120)
    after = await get(sim, CANDLES_V2.path, **window)
    assert len(before["data"]) == 11 and len(after["data"]) == 13
    assert after["data"][:10] == before["data"][:10]
    assert prices(after["data"][-1]) == (500, 500, 500, 500)


def test_history_memory_is_bounded() -> None:
    """Past MAX_REGIMES changes the oldest are dropped; the current path stays."""
    sim, market = shaped_sim()
    m = sim.exchange.market
    for i in range(MAX_REGIMES + 5):
        m.set_price("BTCUSDT", Decimal(100 + i), now_s=market.now() + i)
    regimes = m.regimes("BTCUSDT")
    assert len(regimes) == MAX_REGIMES
    assert regimes[-1].pinned == Decimal(100 + MAX_REGIMES + 4)
