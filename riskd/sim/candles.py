"""Candles of the simulated market: OHLC of a symbol's index price per Bitget granularity.

Served by the v2 spot candle endpoints (:mod:`riskd.sim.handlers_v2_public`). Each candle is
computed exactly from the market's kept history (:meth:`riskd.sim.market.Market.regimes`):
open is the price at the candle's start (or at the first instant of history inside it), close
the price at its last millisecond (or now, for the candle in progress), high and low the
extremes over the span. The simulator has no trade tape, so the volumes are ``0``.

The window semantics are the ones riskd's downloader must survive at the real exchange (see
docs/candles.md): ``startTime`` and ``endTime`` are inclusive bounds on a candle's start, and
when more than ``limit`` candles match, the *newest* ``limit`` come back, oldest first.
Candles start no earlier than the candle that holds the start of the kept history and no
later than the one in progress.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from decimal import Decimal

from riskd.amounts import fmt8
from riskd.bitget.endpoint_types import CandleGranularity
from riskd.sim.market import EPS_S, Market, Regime

ZERO_VOLUME = "0"


@dataclass(frozen=True, slots=True)
class Ohlc:
    """One candle's prices."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def ohlc(regimes: tuple[Regime, ...], t0: float, t1: float) -> Ohlc | None:
    """Prices over market seconds ``[t0, t1)`` from ``regimes`` (oldest first), or ``None`` when
    the span lies before the kept history."""
    starts = [r.start_s for r in regimes]
    first = max(0, bisect.bisect_right(starts, t0) - 1)
    opened: Decimal | None = None
    close = high = low = Decimal(0)
    for j in range(first, len(regimes)):
        regime = regimes[j]
        end = regimes[j + 1].start_s if j + 1 < len(regimes) else math.inf
        lo, hi = max(t0, regime.start_s), min(t1, end)
        if lo >= t1:
            break
        if lo >= hi:
            continue
        first_p, lowest, highest, close = regime.span(lo, hi)
        if opened is None:
            opened, low, high = first_p, lowest, highest
        low, high = min(low, lowest), max(high, highest)
    if opened is None:
        return None
    return Ohlc(opened, high, low, close)


def candle_rows(
    market: Market,
    symbol: str,
    granularity: CandleGranularity,
    *,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    now_s: float,
) -> list[list[str]]:
    """Bitget's ``data`` rows ``[ts, open, high, low, close, baseVolume, usdtVolume,
    quoteVolume]`` of the newest ``limit`` candles whose start lies in ``[start_ms, end_ms]``
    (each bound optional), oldest first."""
    seconds = granularity.seconds
    if seconds is None:
        raise ValueError(f"granularity {granularity.name} has no fixed length")
    regimes = market.regimes(symbol)
    history_start = regimes[0].start_s
    top = now_s if end_ms is None else min(now_s, end_ms / 1000)
    last = granularity.start_of(top)
    first = granularity.start_of(history_start)
    if start_ms is not None:
        lower = start_ms / 1000
        aligned = granularity.start_of(lower)
        first = max(first, aligned if aligned == lower else aligned + seconds)
    first = max(first, last - (limit - 1) * seconds)
    rows: list[list[str]] = []
    t = first
    while t <= last:
        prices = ohlc(regimes, max(t, history_start), min(t + seconds, now_s + EPS_S))
        if prices is not None:
            rows.append(
                [
                    str(round(t * 1000)),
                    fmt8(prices.open),
                    fmt8(prices.high),
                    fmt8(prices.low),
                    fmt8(prices.close),
                    ZERO_VOLUME,
                    ZERO_VOLUME,
                    ZERO_VOLUME,
                ]
            )
        t += seconds
    return rows
