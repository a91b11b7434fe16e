"""Index prices: a path per symbol made of segments, evaluated at market time.

Segments run one after the other from the scenario start; each starts at the price the
previous one ended on. After the last segment the price holds.

- ``hold``: keep the price for ``duration_s``.
- ``step``: jump at once to ``to`` (or by ``change``, a relative move: ``-0.1`` is −10 %),
  then hold for ``duration_s`` (may be 0).
- ``linear``: move in a straight line to ``to`` / by ``change`` over ``duration_s``.
- ``random_walk``: a seeded multiplicative walk, one step every ``step_s`` seconds:
  ``p ← p × (1 + drift + volatility × z)`` with ``z`` standard normal.

Prices are Decimals with 8 decimals. A price pinned with :meth:`Market.set_price` replaces the
path of its symbol from then on.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from riskd.sim.catalog import USDT, Catalog
from riskd.sim.errors import SimError

SegmentKind = Literal["step", "linear", "random_walk", "hold"]
SEGMENT_KINDS: tuple[SegmentKind, ...] = ("step", "linear", "random_walk", "hold")
_Q8 = Decimal("0.00000001")
MAX_WALK_STEPS = 2_000_000


def q8(value: Decimal) -> Decimal:
    return value.quantize(_Q8, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of a price path."""

    kind: SegmentKind
    duration_s: float = 0.0
    to: Decimal | None = None
    change: Decimal | None = None
    volatility: Decimal = Decimal(0)
    drift: Decimal = Decimal(0)
    step_s: float = 1.0

    def target(self, start: Decimal) -> Decimal:
        if self.to is not None:
            return self.to
        if self.change is not None:
            return q8(start * (1 + self.change))
        return start


class PricePath:
    """A symbol's price as a function of seconds since the scenario start."""

    def __init__(
        self, start_price: Decimal, segments: Sequence[Segment], seed: int, symbol: str
    ) -> None:
        if start_price <= 0:
            raise ValueError(f"{symbol}: start price must be > 0")
        self.start_price = start_price
        self.segments = tuple(segments)
        self._starts: list[float] = []
        self._start_prices: list[Decimal] = []
        self._walks: dict[int, list[Decimal]] = {}
        t = 0.0
        price = start_price
        for i, seg in enumerate(self.segments):
            self._starts.append(t)
            self._start_prices.append(price)
            if seg.kind == "random_walk":
                walk = self._walk(price, seg, random.Random(f"{seed}:{symbol}:{i}"))
                self._walks[i] = walk
                price = walk[-1]
            else:
                price = seg.target(price)
            t += seg.duration_s
        self.end_s = t
        self.end_price = price

    @staticmethod
    def _walk(start: Decimal, seg: Segment, rng: random.Random) -> list[Decimal]:
        steps = int(seg.duration_s // seg.step_s)
        if steps > MAX_WALK_STEPS:
            raise ValueError(f"random walk of {steps} steps is too long (max {MAX_WALK_STEPS})")
        floor = q8(start * Decimal("0.0001")) or _Q8
        prices = [start]
        price = start
        for _ in range(steps):
            z = Decimal(repr(round(rng.gauss(0.0, 1.0), 6)))
            price = max(floor, q8(price * (1 + seg.drift + seg.volatility * z)))
            prices.append(price)
        return prices

    def _index(self, t: float) -> int:
        return bisect.bisect_right(self._starts, t) - 1

    def price_at(self, t: float) -> Decimal:
        if t >= self.end_s or not self.segments:
            return self.end_price
        if t < 0:
            return self.start_price
        i = self._index(t)
        seg = self.segments[i]
        p0 = self._start_prices[i]
        elapsed = t - self._starts[i]
        if seg.kind == "hold":
            return p0
        if seg.kind == "step":
            return seg.target(p0)
        if seg.kind == "linear":
            p1 = seg.target(p0)
            frac = Decimal(int(elapsed * 1000)) / Decimal(max(1, int(seg.duration_s * 1000)))
            return q8(p0 + (p1 - p0) * min(Decimal(1), frac))
        walk = self._walks[i]
        return walk[min(len(walk) - 1, int(elapsed // seg.step_s))]

    def moves_between(self, t0: float, t1: float) -> bool:
        """False when the price is certainly constant over ``[t0, t1]``."""
        if t0 >= self.end_s or not self.segments:
            return False
        if t0 < 0:
            return True
        i = self._index(t0)
        if self.segments[i].kind not in ("hold", "step"):
            return True
        return t1 >= self._starts[i] + self.segments[i].duration_s


class Market:
    """Index prices of every symbol at market time (seconds of the injected clock)."""

    def __init__(
        self,
        catalog: Catalog,
        start_prices: Mapping[str, Decimal],
        paths: Mapping[str, Sequence[Segment]],
        start_s: float,
        seed: int,
    ) -> None:
        self.catalog = catalog
        self.start_s = start_s
        self._paths = {
            sym: PricePath(price, paths.get(sym, ()), seed, sym)
            for sym, price in start_prices.items()
        }
        self._pinned: dict[str, Decimal] = {}

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._paths)

    def elapsed(self, now_s: float) -> float:
        return now_s - self.start_s

    def price(self, symbol: str, now_s: float) -> Decimal:
        pinned = self._pinned.get(symbol)
        if pinned is not None:
            return pinned
        path = self._paths.get(symbol)
        if path is None:
            raise SimError("50024", detail=symbol)
        return path.price_at(self.elapsed(now_s))

    def coin_price(self, coin: str, now_s: float) -> Decimal:
        """USDT value of one unit of ``coin``."""
        return Decimal(1) if coin == USDT else self.price(coin + USDT, now_s)

    def prices(self, now_s: float) -> dict[str, Decimal]:
        return {sym: self.price(sym, now_s) for sym in self._paths}

    def coin_prices(self, now_s: float) -> dict[str, Decimal]:
        out = {USDT: Decimal(1)}
        for sym in self._paths:
            out[self.catalog.symbol(sym).base] = self.price(sym, now_s)
        return out

    def set_price(self, symbol: str, price: Decimal) -> None:
        if symbol not in self._paths:
            raise SimError("50024", detail=symbol)
        if price <= 0:
            raise ValueError(f"price of {symbol} must be > 0, got {price}")
        self._pinned[symbol] = q8(price)

    def release_price(self, symbol: str) -> None:
        """Let ``symbol`` follow its scenario path again."""
        self._pinned.pop(symbol, None)

    def moves_between(self, t0_s: float, t1_s: float) -> bool:
        a, b = self.elapsed(t0_s), self.elapsed(t1_s)
        return any(
            sym not in self._pinned and path.moves_between(a, b)
            for sym, path in self._paths.items()
        )
