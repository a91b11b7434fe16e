"""Paging against every window behaviour reported for Bitget, and inside the rate limit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from riskd.bitget.client_market import MarketClient
from riskd.bitget.endpoint_types import PUBLIC_GLOBAL_LIMIT, PUBLIC_GLOBAL_WINDOW_S, Endpoint
from riskd.bitget.endpoints_v2 import CANDLE_GRANULARITIES, CANDLES_V2, HISTORY_CANDLES_V2
from riskd.bitget.gate import Priority
from riskd.budget import BudgetConfig, RateBudget
from riskd.candles.download import Downloader, Plan
from riskd.candles.store import open_store
from riskd.clock import ManualClock

from .conftest import MARKET_START_MS, walking_sim

MIN = CANDLE_GRANULARITIES["1min"]
START = MARKET_START_MS
END = START + 1000 * MIN.ms
#: No trade in these minutes: the exchange omits their candles.
QUIET = frozenset(range(300, 420)) | {0, 1, 999}


def row(ts: int) -> list[str]:
    return [str(ts), "10", "11", "9", "10.5", "1", "10", "10"]


@dataclass
class OddExchange:
    """Candles every minute of [START, END) but QUIET, served with one of the window
    behaviours seen in the wild (ENDPOINTS notes in docs/candles.md)."""

    inclusive_end: bool = True
    honours_start: bool = True
    newest_first: bool = False
    #: A page smaller than the documented maximum (the exchange capping lower).
    cap: int | None = None
    calls: list[dict[str, str]] = field(default_factory=list)

    def stamps(self) -> list[int]:
        return [START + i * MIN.ms for i in range(1000) if i not in QUIET]

    def handler(self, request: httpx.Request) -> httpx.Response:
        q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        self.calls.append(q)
        end = int(q["endTime"])
        start = int(q["startTime"]) if "startTime" in q and self.honours_start else None
        limit = min(int(q.get("limit", "100")), self.cap or 10**9)
        picked = [
            t
            for t in self.stamps()
            if (t <= end if self.inclusive_end else t < end) and (start is None or t >= start)
        ][-limit:]
        data = [row(t) for t in (reversed(picked) if self.newest_first else picked)]
        body = {"code": "00000", "msg": "success", "requestTime": 0, "data": data}
        return httpx.Response(200, content=json.dumps(body).encode())


async def run(exchange: OddExchange, tmp_path: Path, endpoint: str, limit: int) -> list[int]:
    store, _ = open_store(tmp_path / "out.csv", "csv", MIN.ms)
    http = httpx.AsyncClient(transport=httpx.MockTransport(exchange.handler))
    client = MarketClient(None, http=http, base_url="https://odd.test", api="v2")
    plan = Plan("BTCUSDT", MIN, START, END, endpoint, limit)  # type: ignore[arg-type]
    await Downloader(client, plan, store, now_ms=END + MIN.ms).run()
    store.close()
    await http.aclose()
    lines = (tmp_path / "out.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines]


@pytest.mark.parametrize("inclusive_end", [True, False])
@pytest.mark.parametrize("honours_start", [True, False])
@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("cap", [None, 37])
async def test_every_window_behaviour_gives_every_candle_once(
    tmp_path: Path, inclusive_end: bool, honours_start: bool, newest_first: bool, cap: int | None
) -> None:
    """Inclusive or exclusive ends, ignored starts, either order, a lower cap: same file."""
    exchange = OddExchange(inclusive_end, honours_start, newest_first, cap)
    got = await run(exchange, tmp_path, "candles", 100)
    assert got == exchange.stamps()


async def test_history_endpoint_pages_by_end_time_only(tmp_path: Path) -> None:
    """history-candles is asked with endTime and limit (no startTime), pages of 200."""
    exchange = OddExchange(honours_start=False)
    got = await run(exchange, tmp_path, "history_candles", 200)
    assert got == exchange.stamps()
    assert all("startTime" not in c and c["limit"] == "200" for c in exchange.calls)
    # 1000 minutes in 6 windows of 199, and one more call for each of the two windows that
    # open in a quiet stretch (minute 0 and minute 398)
    assert len(exchange.calls) == 6 + 2


class RecordingGate:
    """The budget, recording the virtual instant each call was admitted."""

    def __init__(self, budget: RateBudget, clock: ManualClock) -> None:
        self.budget = budget
        self.clock = clock
        self.admitted: list[float] = []

    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        await self.budget.acquire(endpoint, priority)
        self.admitted.append(self.clock.now())

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        self.budget.release(endpoint, status_code, retry_after)


def most_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


async def test_the_download_stays_inside_the_rate_limits(tmp_path: Path) -> None:
    """150 pages through the budget: the simulator, counting on the same virtual clock with
    its limits on, refuses none, and no window holds more than the documented calls."""
    clock = ManualClock(1_750_000_000.0)
    sim, _ = walking_sim(rate_limits=True, monotonic=clock.now)
    gate = RecordingGate(RateBudget(clock, BudgetConfig(reserved_share=0.0)), clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app))
    client = MarketClient(None, http=http, base_url="http://sim", gate=gate, clock=clock, api="v2")
    store, _ = open_store(tmp_path / "rate.csv", "csv", MIN.ms)
    plan = Plan("BTCUSDT", MIN, MARKET_START_MS, MARKET_START_MS + 2 * 86_400_000, "candles", 20)
    downloader = Downloader(client, plan, store, now_ms=int(sim.clock.now() * 1000))
    result = await downloader.run()
    store.close()
    await http.aclose()
    assert result.written == 2880 and result.pages == len(gate.admitted) == 152
    assert sim.counters.rate_limited == 0 and sim.counters.requests["candles"] == 152
    assert most_in_window(gate.admitted, PUBLIC_GLOBAL_WINDOW_S) <= PUBLIC_GLOBAL_LIMIT
    assert most_in_window(gate.admitted, 1.0) <= CANDLES_V2.limit
    # the budget had to wait: 152 calls at ≤ 18 per 2 s take at least 15 virtual seconds
    assert gate.admitted[-1] - gate.admitted[0] >= (152 - 18) / 9


def test_candle_endpoints_are_public_ip_limited_and_declared_once() -> None:
    """Both candle endpoints: unsigned GETs, 20/s per IP, symbol and granularity required."""
    for ep in (CANDLES_V2, HISTORY_CANDLES_V2):
        assert (ep.method, ep.signed, ep.limit, ep.scope.value) == ("GET", False, 20, "IP")
        assert ep.path.startswith("/api/v2/spot/market/")
        assert ep.param("symbol") is not None and ep.param("symbol").required  # type: ignore[union-attr]
    assert HISTORY_CANDLES_V2.param("endTime").required  # type: ignore[union-attr]
    assert CANDLES_V2.param("startTime") is not None
    assert CANDLE_GRANULARITIES["1M"].seconds is None
    assert CANDLE_GRANULARITIES["1day"].start_of(86_400 * 3) % 86_400 == 16 * 3600


async def test_client_reads_every_reported_row_shape() -> None:
    """Rows of 8, 7 or 6 fields, numbers or strings, in any order: read and sorted."""
    rows = [
        ["1700000120000", "3", "4", "2", "3", "1"],
        [1700000060000, Decimal("2"), "3", "1", "2", "1", "9"],
        row(1700000000000),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"code": "00000", "msg": "success", "requestTime": 0, "data": rows}
        return httpx.Response(200, content=json.dumps(body, default=str).encode())

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client = MarketClient(None, http=http, base_url="https://x.test", api="v2")
    got = await client.candles(symbol="BTCUSDT", granularity="1min")
    assert [r.ts for r in got] == [1700000000000, 1700000060000, 1700000120000]
    assert got[1].raw == ("1700000060000", "2", "3", "1", "2", "1", "9")
    assert got[0].volume == Decimal(1)
    rows.append(["1700000180000", "1", "1", "2"])
    from riskd.bitget.errors import MalformedResponseError

    with pytest.raises(MalformedResponseError, match=r"data\[3\]: 4 fields"):
        await client.candles(symbol="BTCUSDT", granularity="1min")
    rows[-1] = ["1700000180000", "1", "1", "2", "1", "0"]
    with pytest.raises(MalformedResponseError, match="high 1 is below low 2"):
        await client.candles(symbol="BTCUSDT", granularity="1min")
    await http.aclose()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("1m", "1min"),
        ("15m", "15min"),
        ("1min", "1min"),
        ("4H", "4h"),
        ("1d", "1day"),
        ("3D", "3day"),
        ("1W", "1week"),
        ("1Dutc", "1Dutc"),
        ("6Hutc", "6Hutc"),
    ],
)
def test_short_granularities_map_to_bitget_names(text: str, name: str) -> None:
    """1m is 1min, 1d is 1day (UTC+8 days), Bitget's own names pass through."""
    from riskd.candles.granularity import parse_granularity

    assert parse_granularity(text).name == name


async def test_years_before_listing_cost_a_few_requests(tmp_path: Path) -> None:
    """Data only in the last 1000 of 500,000 minutes: found by search, not window by window."""
    exchange = OddExchange(honours_start=False)
    store, _ = open_store(tmp_path / "late.csv", "csv", MIN.ms)
    http = httpx.AsyncClient(transport=httpx.MockTransport(exchange.handler))
    client = MarketClient(None, http=http, base_url="https://odd.test", api="v2")
    early = START - 499_000 * MIN.ms
    plan = Plan("BTCUSDT", MIN, early, END, "history_candles", 200)
    result = await Downloader(client, plan, store, now_ms=END + MIN.ms).run()
    store.close()
    await http.aclose()
    lines = (tmp_path / "late.csv").read_text().splitlines()[1:]
    assert [int(line.split(",")[0]) for line in lines] == exchange.stamps()
    windows = 500_000 // 199
    assert result.pages < 60 < windows, result.pages
