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
path of its symbol from then on; :meth:`Market.start_path` starts a new path for a symbol from
its current price at a given instant (a crash on request).

History (for the candle endpoints, :mod:`riskd.sim.candles`): every change of what a symbol's
price follows — the scenario path, a pin, a release, a new path — is kept as a
:class:`Regime` with the market second it took effect, so the price at any past instant and the
extremes over any past span can be recomputed exactly. Memory is bounded: at most
``MAX_REGIMES`` regimes per symbol and ``MAX_HISTORY_WALK_STEPS`` random-walk steps over all
kept regimes; older regimes are dropped and the candles before them are no longer served.
A pin set through :meth:`Market.set_price` without ``now_s`` takes effect at the latest market
instant the market was asked about (the control surface catches up first, so that is now).

The *feed* (what the index-price WebSocket channels publish) follows the true price except
during a :class:`FeedStop`: then it keeps the last price from before the stop, with that
moment's timestamp, while the market (liquidations, fills, valuations) moves on.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from riskd.sim.catalog import USDT, Catalog
from riskd.sim.errors import SimError

SegmentKind = Literal["step", "linear", "random_walk", "hold"]
SEGMENT_KINDS: tuple[SegmentKind, ...] = ("step", "linear", "random_walk", "hold")
_Q8 = Decimal("0.00000001")
MAX_WALK_STEPS = 2_000_000
#: History bounds (see the module docstring).
MAX_REGIMES = 1_000
MAX_HISTORY_WALK_STEPS = 2 * MAX_WALK_STEPS
#: The last instant of a span ``[t0, t1)`` is ``t1 - EPS_S`` (prices move on milliseconds).
EPS_S = 0.001


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


@dataclass(frozen=True, slots=True)
class FeedStop:
    """The index feed of ``symbols`` (none = every symbol) stops during scenario seconds
    ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ValueError(
                f"a feed stop needs 0 <= start_s < end_s, got {self.start_s}..{self.end_s}"
            )

    def covers(self, symbol: str, elapsed_s: float) -> bool:
        in_window = self.start_s <= elapsed_s < self.end_s
        return in_window and (not self.symbols or symbol in self.symbols)


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

    @property
    def walk_steps(self) -> int:
        """How many random-walk prices this path holds (its memory cost)."""
        return sum(len(w) for w in self._walks.values())

    def span(self, u0: float, u1: float) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """First, lowest, highest and last price over path seconds ``[u0, u1)`` (``u0 < u1``),
        exactly: hold and step segments are flat, linear ones monotonic, walks are scanned."""
        last = max(u0, u1 - EPS_S)
        first_p, last_p = self.price_at(u0), self.price_at(last)
        points = [first_p, last_p]
        for i, seg in enumerate(self.segments):
            s0 = self._starts[i]
            lo, hi = max(u0, s0), min(last, s0 + seg.duration_s)
            if lo > hi or lo >= s0 + seg.duration_s:
                continue
            if seg.kind == "random_walk":
                walk = self._walks[i]
                top = len(walk) - 1
                i0 = min(top, int((lo - s0) // seg.step_s))
                i1 = min(top, int((hi - s0) // seg.step_s))
                part = walk[i0 : i1 + 1]
                points += (min(part), max(part))
            else:
                points += (self.price_at(lo), self.price_at(hi))
        return first_p, min(points), max(points), last_p

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


@dataclass(frozen=True, slots=True)
class Regime:
    """What a symbol's price followed from market second ``start_s`` on: ``path`` (at path
    second ``t - origin_s``) or, when ``pinned`` is set, that constant price."""

    start_s: float
    path: PricePath
    origin_s: float
    pinned: Decimal | None = None

    def price(self, t: float) -> Decimal:
        return self.pinned if self.pinned is not None else self.path.price_at(t - self.origin_s)

    def span(self, t0: float, t1: float) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """First, lowest, highest and last price over market seconds ``[t0, t1)``."""
        if self.pinned is not None:
            p = self.pinned
            return p, p, p, p
        return self.path.span(t0 - self.origin_s, t1 - self.origin_s)


class Market:
    """Index prices of every symbol at market time (seconds of the injected clock)."""

    def __init__(
        self,
        catalog: Catalog,
        start_prices: Mapping[str, Decimal],
        paths: Mapping[str, Sequence[Segment]],
        start_s: float,
        seed: int,
        feed_stops: Iterable[FeedStop] = (),
    ) -> None:
        self.catalog = catalog
        self.start_s = start_s
        self.seed = seed
        self._paths = {
            sym: PricePath(price, paths.get(sym, ()), seed, sym)
            for sym, price in start_prices.items()
        }
        #: Market second at which each symbol's current path started.
        self._origin = dict.fromkeys(self._paths, start_s)
        self._pinned: dict[str, Decimal] = {}
        self._restarts = 0
        self.feed_stops: list[FeedStop] = list(feed_stops)
        #: Latest market second asked about (when a pin without ``now_s`` takes effect).
        self._seen_s = start_s
        self._regimes: dict[str, list[Regime]] = {
            sym: [Regime(start_s, path, start_s)] for sym, path in self._paths.items()
        }

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._paths)

    def elapsed(self, now_s: float) -> float:
        return now_s - self.start_s

    def price(self, symbol: str, now_s: float) -> Decimal:
        if now_s > self._seen_s:
            self._seen_s = now_s
        pinned = self._pinned.get(symbol)
        if pinned is not None:
            return pinned
        path = self._paths.get(symbol)
        if path is None:
            raise SimError("50024", detail=symbol)
        return path.price_at(now_s - self._origin[symbol])

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

    def set_price(self, symbol: str, price: Decimal, now_s: float | None = None) -> None:
        if symbol not in self._paths:
            raise SimError("50024", detail=symbol)
        if price <= 0:
            raise ValueError(f"price of {symbol} must be > 0, got {price}")
        self._pinned[symbol] = q8(price)
        self._record(symbol, now_s)

    def release_price(self, symbol: str, now_s: float | None = None) -> None:
        """Let ``symbol`` follow its scenario path again."""
        if self._pinned.pop(symbol, None) is not None:
            self._record(symbol, now_s)

    def start_path(self, symbol: str, segments: Sequence[Segment], now_s: float) -> None:
        """From ``now_s`` on, ``symbol`` follows ``segments`` from its current price (a pinned
        price is released: the new path starts from it)."""
        if symbol not in self._paths:
            raise SimError("50024", detail=symbol)
        price = self.price(symbol, now_s)
        self._restarts += 1
        seed = self.seed * 1_000 + self._restarts
        self._paths[symbol] = PricePath(price, segments, seed, symbol)
        self._origin[symbol] = now_s
        self._pinned.pop(symbol, None)
        self._record(symbol, now_s)

    # ------------------------------------------------------------------ history
    def _record(self, symbol: str, now_s: float | None) -> None:
        """Keep what ``symbol`` follows from now on (see the module docstring)."""
        regimes = self._regimes[symbol]
        at = max(self._seen_s if now_s is None else now_s, regimes[-1].start_s)
        self._seen_s = max(self._seen_s, at)
        regimes.append(
            Regime(at, self._paths[symbol], self._origin[symbol], self._pinned.get(symbol))
        )
        self._trim()

    def _trim(self) -> None:
        for regimes in self._regimes.values():
            if len(regimes) > MAX_REGIMES:
                del regimes[: len(regimes) - MAX_REGIMES]
        while True:
            paths = {
                id(r.path): (r.path.walk_steps, sym)
                for sym, rs in self._regimes.items()
                for r in rs
            }
            if sum(steps for steps, _ in paths.values()) <= MAX_HISTORY_WALK_STEPS:
                return
            # drop the oldest regime that is not a symbol's current one
            older = [(rs[0].start_s, sym) for sym, rs in self._regimes.items() if len(rs) > 1]
            if not older:
                return
            del self._regimes[min(older)[1]][0]

    def regimes(self, symbol: str) -> tuple[Regime, ...]:
        """What ``symbol``'s price followed, oldest first (the kept part of its history)."""
        regimes = self._regimes.get(symbol)
        if regimes is None:
            raise SimError("50024", detail=symbol)
        return tuple(regimes)

    def path_end_s(self, symbol: str) -> float:
        """Market second at which ``symbol``'s current path ends (its price holds after)."""
        return self._origin[symbol] + self._paths[symbol].end_s

    def moves_between(self, t0_s: float, t1_s: float) -> bool:
        return any(
            sym not in self._pinned
            and path.moves_between(t0_s - self._origin[sym], t1_s - self._origin[sym])
            for sym, path in self._paths.items()
        )

    # ------------------------------------------------------------------ the published feed
    def feed_time(self, symbol: str, now_s: float) -> float:
        """The market second whose price the feed shows for ``symbol`` at ``now_s``."""
        t = now_s
        moved = True
        while moved:
            moved = False
            for stop in self.feed_stops:
                start = self.start_s + stop.start_s
                if start < t and stop.covers(symbol, self.elapsed(t)):
                    t, moved = start, True
        return t

    def feed(self, now_s: float) -> dict[str, tuple[Decimal, float, bool]]:
        """symbol → (published price, its market time, live): ``live`` is False while the
        symbol's feed is stopped."""
        out = {}
        for sym in self._paths:
            t = self.feed_time(sym, now_s)
            out[sym] = (self.price(sym, t), t, t == now_s)
        return out
