"""Paging through Bitget's candle endpoints into a candle file (``riskd candles download``).

The range ``[start_ms, end_ms)`` is walked forward in windows of ``limit - 1`` candle lengths:
a window ``[cursor, cursor + (limit - 1) × g]`` holds at most ``limit`` candle starts, so one
page answers it whether the exchange bounds ``startTime``/``endTime`` inclusively or not, or
ignores ``startTime`` and returns the newest ``limit`` rows before ``endTime`` (all reported
for Bitget; docs/candles.md). The next window starts at the previous window's end (an
overlap of one instant, for an exclusive ``endTime``); rows already written are skipped by
timestamp, so a page boundary never duplicates a candle. A page whose first row opens later
than the window's first candle is followed by pages before that row (``endTime`` just before
it) until one brings nothing new: an exchange that caps pages below the documented maximum
(returning the newest rows, as reported) loses nothing either. Empty windows (no trades: the
exchange omits such candles; before a symbol was listed) are skipped: after an empty window
the next candle is searched for by doubling, then halving, the probed span.

Only closed candles are written: a candle must end at or before the exchange's time when the
download started. Every request goes through the client, whose rate gate (the budget) keeps
the calls inside the endpoint's limit and the public limit shared by unsigned endpoints.

``candles`` (the recent endpoint: 1000 rows a page, but only so far back) is used when the
whole range lies inside its documented depth for the granularity; ``history_candles`` (200
rows a page, any age) otherwise. ``endpoint=`` forces one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from riskd.bitget.client_market import CandleRow, MarketMethods
from riskd.bitget.endpoint_types import CandleGranularity
from riskd.bitget.endpoints_v2 import CANDLE_PAGE_MAX, CANDLES_RECENT_DAYS
from riskd.candles.store import CandleStore

EndpointName = Literal["candles", "history_candles"]
EndpointChoice = Literal["auto", "candles", "history_candles"]
DAY_MS = 86_400_000
#: Margin kept inside the recent endpoint's documented depth when choosing it.
RECENT_MARGIN_MS = DAY_MS
#: Most pages one window may take (a cap far below the documented one would loop long).
MAX_PAGES_PER_WINDOW = 1000


@dataclass(frozen=True, slots=True)
class Plan:
    """What to download: ``symbol``'s candles of ``granularity`` opening in
    ``[start_ms, end_ms)``, through ``endpoint`` with pages of ``limit`` rows."""

    symbol: str
    granularity: CandleGranularity
    start_ms: int
    end_ms: int
    endpoint: EndpointName
    limit: int

    def __post_init__(self) -> None:
        if self.start_ms >= self.end_ms:
            raise ValueError(f"the range is empty: {self.start_ms} >= {self.end_ms}")
        if not 2 <= self.limit <= CANDLE_PAGE_MAX[self.endpoint]:
            raise ValueError(f"limit {self.limit} outside 2..{CANDLE_PAGE_MAX[self.endpoint]}")


@dataclass(frozen=True, slots=True)
class PageReport:
    """Progress after one page: how far the range is covered and what was written."""

    covered_to_ms: int
    written: int
    pages: int
    last_ts: int | None


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What a download did."""

    written: int
    pages: int
    first_ts: int | None
    last_ts: int | None


def choose_endpoint(
    granularity: CandleGranularity, start_ms: int, now_ms: int, choice: EndpointChoice = "auto"
) -> EndpointName:
    """The endpoint to page through (see the module docstring)."""
    if choice != "auto":
        return choice
    days = CANDLES_RECENT_DAYS.get(granularity.name)
    if days is not None and start_ms >= now_ms - days * DAY_MS + RECENT_MARGIN_MS:
        return "candles"
    return "history_candles"


def plan_for(
    symbol: str,
    granularity: CandleGranularity,
    start_ms: int,
    end_ms: int,
    now_ms: int,
    choice: EndpointChoice = "auto",
) -> Plan:
    """A plan whose end is capped after the last candle closed by ``now_ms`` (``ValueError``
    when no candle of the range has closed yet)."""
    endpoint = choose_endpoint(granularity, start_ms, now_ms, choice)
    end = min(end_ms, now_ms - granularity.ms + 1)
    return Plan(symbol, granularity, start_ms, end, endpoint, CANDLE_PAGE_MAX[endpoint])


class Downloader:
    """Runs one :class:`Plan` into a :class:`CandleStore`."""

    def __init__(
        self,
        client: MarketMethods,
        plan: Plan,
        store: CandleStore,
        *,
        now_ms: int,
        last_ts: int | None = None,
        on_page: Callable[[PageReport], None] | None = None,
    ) -> None:
        self._client = client
        self._plan = plan
        self._store = store
        self._now_ms = now_ms
        self._last = last_ts
        self._first: int | None = None
        #: Called after every window with the progress so far.
        self.on_page = on_page
        self._pages = 0
        self._written = 0

    @property
    def pages(self) -> int:
        return self._pages

    @property
    def written(self) -> int:
        return self._written

    def start_ms(self) -> int:
        """Where the download (re)starts: the plan's start, or one candle after the last kept
        candle (the file's steps are whole candles)."""
        if self._last is None:
            return self._plan.start_ms
        return max(self._plan.start_ms, self._last + self._plan.granularity.ms)

    async def run(self) -> DownloadResult:
        plan = self._plan
        g = plan.granularity.ms
        span = (plan.limit - 1) * g
        stop = plan.end_ms  # candles open strictly before it
        cursor = self.start_ms()
        while cursor < stop:
            window_end = min(cursor + span, stop - 1)
            rows = await self._window(cursor, window_end)
            self._keep(rows)
            self._report(window_end + 1)
            if window_end >= stop - 1:
                break
            if rows:
                cursor = window_end
                continue
            after = await self._skip_quiet(window_end, stop - 1)
            if after is None:
                self._report(stop)
                break
            cursor = after
        return DownloadResult(self._written, self._pages, self._first, self._last)

    async def _has_rows(self, start: int, end: int) -> bool:
        """Does any candle open in ``[start, end]`` (one page)?"""
        return any(start <= r.ts <= end for r in await self._page(start, end))

    async def _skip_quiet(self, quiet_to: int, last: int) -> int | None:
        """After an empty window (nothing opens up to ``quiet_to``): where the next window
        with a candle starts, found by doubling the probed span and then halving it; ``None``
        when nothing opens up to ``last``. A range that starts years before the symbol was
        listed costs a few dozen requests, not one per window."""
        span = (self._plan.limit - 1) * self._plan.granularity.ms
        lo, size = quiet_to, 2 * span
        while True:
            hi = min(lo + size, last)
            if await self._has_rows(lo, hi):
                break
            if hi >= last:
                return None
            lo, size = hi, size * 2
            self._report(lo)
        while hi - lo > span:  # a candle opens in (lo, hi], none in [quiet_to, lo)
            mid = (lo + hi) // 2
            if await self._has_rows(lo, mid):
                hi = mid
            else:
                lo = mid
        return lo

    async def _page(self, start: int, end: int) -> tuple[CandleRow, ...]:
        plan = self._plan
        self._pages += 1
        if plan.endpoint == "candles":
            return await self._client.candles(
                symbol=plan.symbol,
                granularity=plan.granularity.name,
                start_time=start,
                end_time=end,
                limit=plan.limit,
            )
        return await self._client.history_candles(
            symbol=plan.symbol, granularity=plan.granularity.name, end_time=end, limit=plan.limit
        )

    async def _window(self, cursor: int, window_end: int) -> list[CandleRow]:
        """Every row opening in ``[cursor, window_end]``.

        When the page's first row inside the window opens more than a candle after
        ``cursor``, the rows before it are asked for (``endTime`` just before it) until a
        page brings none: a page capped below ``limit`` loses nothing. A window that starts
        with a quiet stretch costs one request more.
        """
        g = self._plan.granularity.ms
        found: dict[int, CandleRow] = {}
        end = window_end
        for _ in range(MAX_PAGES_PER_WINDOW):
            page = await self._page(cursor, end)
            inside = [r for r in page if cursor <= r.ts <= end and r.ts not in found]
            for row in inside:
                found[row.ts] = row
            if not inside or inside[0].ts - cursor < g:
                break
            end = inside[0].ts - 1
        return [found[ts] for ts in sorted(found)]

    def _keep(self, rows: list[CandleRow]) -> None:
        g = self._plan.granularity.ms
        keep = [
            r
            for r in rows
            if (self._last is None or r.ts > self._last)
            and self._plan.start_ms <= r.ts < self._plan.end_ms
            and r.ts + g <= self._now_ms
        ]
        if not keep:
            return
        self._store.append(keep)
        self._written += len(keep)
        if self._first is None:
            self._first = keep[0].ts
        self._last = keep[-1].ts

    def _report(self, covered_to_ms: int) -> None:
        if self.on_page is not None:
            covered = min(covered_to_ms, self._plan.end_ms)
            self.on_page(PageReport(covered, self._written, self._pages, self._last))
