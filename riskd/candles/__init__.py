"""Candle files: reading (:mod:`riskd.candles.read`) and downloading them."""

from riskd.candles.read import (
    Candle,
    CandleFileError,
    CandleSeries,
    Gap,
    format_granularity,
    granularity_ms,
    last_timestamp,
    read_candles,
)

__all__ = [
    "Candle",
    "CandleFileError",
    "CandleSeries",
    "Gap",
    "format_granularity",
    "granularity_ms",
    "last_timestamp",
    "read_candles",
]
