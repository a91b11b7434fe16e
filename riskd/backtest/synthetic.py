"""Synthetic candles (labelled so): a seeded random walk with optional crashes.

Used for the shipped sample file (``scenarios/candles/synthetic-btcusdt-1m.csv``), the tests
and the speed bench. Not market data: real history comes from ``riskd candles download``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from riskd.candles.read import Candle

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Crash:
    """From candle ``at``, the price falls by ``depth`` (0.35 = −35 %) over ``over`` candles,
    then recovers ``rebound`` of the fall over as many candles."""

    at: int
    depth: float
    over: int
    rebound: float = 0.3


def synthetic(
    n: int,
    *,
    start_ms: int = 1_700_000_000_000 - 1_700_000_000_000 % 60_000,
    step_ms: int = 60_000,
    price: float = 30000.0,
    volatility: float = 0.0008,
    crashes: Sequence[Crash] = (),
    seed: int = 7,
    reversion: float = 0.0,
) -> Iterator[Candle]:
    """``n`` candles of a seeded walk (floats only inside the generator; prices are cents).

    ``reversion`` (per candle, e.g. ``1 / 43200``: a month) pulls the log price back toward
    the start price, so that a long walk wanders around it instead of drifting away.
    """
    rng = random.Random(seed)
    p = price
    anchor = math.log(price)
    drift_until = -1
    drift = 0.0
    for i in range(n):
        for c in crashes:
            if i == c.at:
                drift, drift_until = (1 - c.depth) ** (1 / c.over), i + c.over
            if i == c.at + c.over:
                drift, drift_until = (1 / (1 - c.depth * c.rebound)) ** (1 / c.over), i + c.over
        factor = drift if i < drift_until else 1.0
        if reversion and i >= drift_until:
            factor *= math.exp(-reversion * (math.log(p) - anchor))
        o = p
        moves = [o]
        for _ in range(4):
            p = p * factor**0.25 * (1 + rng.gauss(0, volatility))
            moves.append(p)
        hi, lo = max(moves), min(moves)
        yield Candle(
            start_ms + i * step_ms,
            _cents(o),
            _cents(hi),
            _cents(lo),
            _cents(p),
            _cents(rng.uniform(1, 50)),
        )


def _cents(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def to_csv(candles: Iterator[Candle], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append("ts,open,high,low,close,volume")
    lines += [f"{c.ts_ms},{c.open},{c.high},{c.low},{c.close},{c.volume}" for c in candles]
    return "\n".join(lines) + "\n"
