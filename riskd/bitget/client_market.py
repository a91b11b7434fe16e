"""Public market-data methods of the client: the v2 spot candle endpoints.

::

    async with MarketClient(None, api="v2") as client:            # no credentials needed
        rows = await client.history_candles(symbol="BTCUSDT", granularity="1min",
                                            end_time=1_746_057_600_000, limit=200)

``candles`` (recent, up to 1000 rows a page) and ``history_candles`` (any age, up to 200 rows,
``endTime`` required) answer ``data`` as a list of rows ``[ts, open, high, low, close,
baseVolume, usdtVolume, quoteVolume]``; clients report rows of 6 and 7 fields too, and the
values may be strings or numbers, so every row of at least 6 fields is read. Rows come back
sorted by time whatever order the exchange used. The methods exist on v2 clients only (the
table of v1 has no candle endpoint). Paging through a long range is
:mod:`riskd.candles.download`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from riskd.amounts import AmountError, to_decimal
from riskd.bitget.client_core import ClientCore, wire

#: A row has at least ts, open, high, low, close and the base volume.
MIN_ROW_FIELDS = 6


@dataclass(frozen=True, slots=True)
class CandleRow:
    """One candle as the exchange sent it: ``raw`` holds its fields as text, unchanged."""

    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    #: Volume in the base coin (field 5).
    volume: Decimal
    raw: tuple[str, ...]


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"{value!r} is not a number or a string")
    return value if isinstance(value, str) else str(value)


def parse_row(row: object, index: int) -> CandleRow:
    """One ``data`` row; ``ValueError`` naming the row and the field when it is not a candle."""
    where = f"data[{index}]"
    if not isinstance(row, Sequence) or isinstance(row, str):
        raise ValueError(f"{where}: expected a list of fields, got {type(row).__name__}")
    if len(row) < MIN_ROW_FIELDS:
        raise ValueError(f"{where}: {len(row)} fields, expected at least {MIN_ROW_FIELDS}")
    try:
        raw = tuple(_text(v) for v in row)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if not raw[0].isdigit():
        raise ValueError(f"{where}: timestamp {raw[0]!r} is not milliseconds")
    names = ("open", "high", "low", "close", "volume")
    try:
        o, h, lo, c, v = (to_decimal(raw[i + 1], field=f"{where}.{names[i]}") for i in range(5))
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    if h < lo:
        raise ValueError(f"{where}: high {raw[2]} is below low {raw[3]}")
    return CandleRow(int(raw[0]), o, h, lo, c, v, raw)


class MarketMethods(ClientCore):
    """Unsigned spot market data (v2)."""

    async def candles(
        self,
        *,
        symbol: str,
        granularity: str,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int | None = None,
    ) -> tuple[CandleRow, ...]:
        """Recent candles (the depth depends on the granularity), oldest first."""
        params = wire(
            symbol=symbol,
            granularity=granularity,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
        )
        return await self._candle_rows("candles", params)

    async def history_candles(
        self, *, symbol: str, granularity: str, end_time: int, limit: int | None = None
    ) -> tuple[CandleRow, ...]:
        """Candles before ``end_time`` (ms), any age, oldest first."""
        params = wire(symbol=symbol, granularity=granularity, end_time=end_time, limit=limit)
        return await self._candle_rows("history_candles", params)

    async def _candle_rows(self, name: str, params: dict[str, object]) -> tuple[CandleRow, ...]:
        envelope = await self._typed(name, params)
        data = envelope.get("data")
        if data is None:
            return ()
        if not isinstance(data, list):
            raise self._malformed(name, f"data: expected a list, got {type(data).__name__}")
        try:
            rows = [parse_row(row, i) for i, row in enumerate(data)]
        except ValueError as exc:
            raise self._malformed(name, str(exc)) from None
        return tuple(sorted(rows, key=lambda r: r.ts))


class MarketClient(MarketMethods):
    """A client of the public market-data endpoints only (same constructor as
    :class:`~riskd.bitget.client.BitgetClient`; pass ``api="v2"``)."""


__all__ = ["CandleRow", "MarketClient", "MarketMethods", "parse_row"]
