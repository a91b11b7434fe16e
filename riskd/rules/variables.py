"""The names a rule expression may use, and how each is computed from a scope snapshot.

Three kinds of name:

- *scalars* such as ``riskRate`` or ``dataAge``: one number per scope;
- *per-coin* values such as ``borrow``: written ``borrow["USDT"]`` (or ``borrow[base]`` /
  ``borrow[quote]`` in isolated scopes). Inside an action that names a coin (``repay``'s
  ``amount``, ``reduce``'s ``amount``) the bare name ``borrow`` means that coin's borrow;
- *coin names* ``base`` and ``quote``: only inside ``[...]`` or as an action's ``coin``.

A compiled expression refers to values through :class:`Ref`; :class:`ScopeContext` turns a
``Ref`` into a ``Decimal`` for one snapshot at one ``now``, raising :class:`EvalError` with a
readable reason when it cannot (no price, no tier data, not an isolated scope…).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import NamedTuple

from riskd.risk import derived
from riskd.risk.snapshot import ScopeSnapshot, UtaFigures

ZERO = Decimal(0)

#: Marker coins resolved per scope / per action.
BASE = "@base"
QUOTE = "@quote"
ACTION_COIN = "@coin"


class EvalError(Exception):
    """A value that cannot be computed for this scope right now (rule becomes unhealthy)."""


@dataclass(frozen=True, slots=True)
class VarSpec:
    name: str
    doc: str
    #: Bounds a value can take (for lint); ``None``: unbounded on that side.
    lower: Decimal | None = None
    upper: Decimal | None = None


_NONNEG = Decimal(0)

SCALARS: Mapping[str, VarSpec] = {
    v.name: v
    for v in (
        VarSpec("riskRate", "the exchange's risk rate of the scope (0 = no debt)", _NONNEG),
        VarSpec("warningRiskRatio", "margin-call ratio from /public/currencies (0.8)", _NONNEG),
        VarSpec("liquidationRiskRatio", "forced-liquidation ratio (1.0)", _NONNEG),
        VarSpec("leverage", "the scope's leverage (tier data)", _NONNEG),
        VarSpec("openOrders", "number of open orders in the scope", _NONNEG),
        VarSpec("dataAge", "seconds since the scope's data was observed", _NONNEG),
        VarSpec("assets", "Σ (available + frozen) × price, USDT", _NONNEG),
        VarSpec("debt", "Σ (borrow + interest) × price, USDT", _NONNEG),
        VarSpec("equity", "assets − debt, USDT"),
        VarSpec("localRiskRate", "risk rate recomputed from balances and prices", _NONNEG),
        VarSpec(
            "distanceToLiquidation",
            "signed price move that liquidates (−0.12 = a 12 % fall); Infinity if none",
        ),
        VarSpec(
            "minDistanceToLiquidation",
            "smallest move against the scope (held coins fall, owed coins rise) that"
            " liquidates, ≥ 0 (0.05 = 5 %); 10 if none up to 1000 %",
            _NONNEG,
            derived.DISTANCE_CAP,
        ),
        VarSpec(
            "pollInterval",
            "seconds between this scope's last two observations (0 before the second)",
            _NONNEG,
        ),
        VarSpec("mgnRatio", "uta scope: the account's margin ratio as Bitget sends it", _NONNEG),
        VarSpec("mmr", "uta scope: maintenance margin, USD", _NONNEG),
        VarSpec("imr", "uta scope: initial margin, USD", _NONNEG),
        VarSpec("effEquity", "uta scope: equity that counts as margin, USD"),
        VarSpec("accountEquity", "uta scope: the account's equity, USD"),
        VarSpec(
            "utaLiquidationLevel",
            "uta scope: the mgnRatio that liquidates (setting uta_liquidation_level)",
            _NONNEG,
        ),
    )
}

PER_COIN: Mapping[str, VarSpec] = {
    v.name: v
    for v in (
        VarSpec("available", "free balance of the coin", _NONNEG),
        VarSpec("frozen", "balance locked in open orders", _NONNEG),
        VarSpec("borrow", "borrowed amount", _NONNEG),
        VarSpec("interest", "accrued unpaid interest", _NONNEG),
        VarSpec("net", "available + frozen − borrow − interest"),
        VarSpec("debt", "borrow + interest of the coin (uta: the coin's debt)", _NONNEG),
        VarSpec("equity", "net of the coin (uta: the coin's equity)"),
        VarSpec("totalAmount", "available + frozen", _NONNEG),
        VarSpec("price", "USDT index price (USDT is 1)", _NONNEG),
        VarSpec("maintainMarginRate", "maintenance margin rate of the coin's tier", _NONNEG),
        VarSpec("maxBorrowableAmount", "how much more of the coin can be borrowed", _NONNEG),
        VarSpec("interestRate", "daily interest rate of the coin", _NONNEG),
    )
}

COIN_NAMES: Mapping[str, str] = {
    "base": "the base coin of an isolated symbol (BTC in BTCUSDT)",
    "quote": "the quote coin of an isolated symbol (USDT in BTCUSDT)",
}

#: Scalars whose change over time ``delta``/``rate`` can follow.
HISTORIC = frozenset(n for n in SCALARS if n not in ("dataAge", "pollInterval"))
#: History series riskd keeps for ``maxPriceStep`` (one per coin: ``price:BTC``) and for
#: ``pollInterval`` (the observation times).
PRICE_SERIES = "price:"
SEEN_SERIES = "@seen"
#: How long the observation times are kept for ``pollInterval``.
SEEN_WINDOW = 60.0
#: Functions over the price history: a window, no scalar (they need :data:`PRICE_SERIES`).
PRICE_FUNCTIONS = frozenset({"maxPriceStep", "adverseRate"})

#: Functions: name → one-line doc (signatures are checked in expressions.py).
FUNCTIONS: Mapping[str, str] = {
    "min": "min(a, b, ...): the smallest of two or more numbers",
    "max": "max(a, b, ...): the largest of two or more numbers",
    "abs": "abs(x): x without its sign",
    "delta": 'delta("riskRate", "5m"): change of a scalar over the window (now − then)',
    "rate": 'rate("riskRate", "5m"): delta divided by the seconds it spans (per second)',
    "maxPriceStep": 'maxPriceStep("2m"): the largest change of a coin\'s index price between'
    " two observations of the scope within the window, as a fraction (0.04 = 4 %), over the"
    " non-USDT coins the scope holds or owes",
    "adverseRate": 'adverseRate("20s"): how fast the index prices move against the scope,'
    " as a fraction per second over the window (0.01 = 1 % a second; negative when they move"
    " its way): each exposed coin's change, weighted by the scope's net value in it now —"
    " prices only, so the scope's own repays and trades do not read as a market",
    "distanceToLiquidation": 'distanceToLiquidation("BTC"): the signed move of that coin\'s'
    " price alone that liquidates the scope (−0.2 = a 20 % fall); Infinity if none",
}

ALL_NAMES = sorted([*SCALARS, *PER_COIN, *COIN_NAMES, *FUNCTIONS])


class Ref(NamedTuple):
    """One value an expression reads: ``("riskRate", None, None, 0.0)``,
    ``("borrow", "USDT", None, 0.0)``, ``("riskRate", None, "delta", 300.0)``."""

    name: str
    coin: str | None = None
    fn: str | None = None
    window: float = 0.0

    def label(self) -> str:
        """Human form: ``riskRate``, ``borrow[USDT]``, ``delta(riskRate, 300s)``."""
        coin = self.coin
        if coin is not None:
            coin = {BASE: "base", QUOTE: "quote", ACTION_COIN: "coin"}.get(coin, coin)
        text = self.name if coin is None else f"{self.name}[{coin}]"
        if self.fn in PRICE_FUNCTIONS:
            return f"{self.fn}({self.window:g}s)"
        if self.name == "distanceToLiquidation" and coin is not None:
            return f"distanceToLiquidation({coin})"
        if self.fn is not None:
            return f"{self.fn}({text}, {self.window:g}s)"
        return text


#: A sample of a scalar: (observed_at, value).
Sample = tuple[float, Decimal]


def _data_age(snap: ScopeSnapshot, now: float) -> Decimal:
    return Decimal(str(round(snap.age(now), 3)))


def _leverage(snap: ScopeSnapshot, now: float) -> Decimal:
    if snap.leverage is None:
        raise EvalError("leverage is not known for this scope")
    return snap.leverage


def _uta(
    name: str, get: Callable[[UtaFigures], Decimal]
) -> Callable[[ScopeSnapshot, float], Decimal]:
    def read(snap: ScopeSnapshot, now: float) -> Decimal:
        if snap.uta is None:
            raise EvalError(f"{name} exists only in a uta scope (Unified Trading Account)")
        return get(snap.uta)

    return read


_SCALAR_FNS: dict[str, Callable[[ScopeSnapshot, float], Decimal]] = {
    "riskRate": lambda s, now: s.risk_rate,
    "warningRiskRatio": lambda s, now: s.warning_risk_ratio,
    "liquidationRiskRatio": lambda s, now: s.liquidation_risk_ratio,
    "leverage": _leverage,
    "openOrders": lambda s, now: Decimal(s.open_orders),
    "dataAge": _data_age,
    "assets": lambda s, now: derived.assets_usdt(s),
    "debt": lambda s, now: derived.debt_usdt(s),
    "equity": lambda s, now: derived.equity_usdt(s),
    "localRiskRate": lambda s, now: derived.local_risk_rate(s),
    "distanceToLiquidation": lambda s, now: derived.distance_to_liquidation(s),
    "minDistanceToLiquidation": lambda s, now: derived.min_distance_or_cap(s),
    "mgnRatio": _uta("mgnRatio", lambda u: u.mgn_ratio),
    "mmr": _uta("mmr", lambda u: u.mmr),
    "imr": _uta("imr", lambda u: u.imr),
    "effEquity": _uta("effEquity", lambda u: u.eff_equity),
    "accountEquity": _uta("accountEquity", lambda u: u.account_equity),
    "utaLiquidationLevel": _uta("utaLiquidationLevel", lambda u: u.liquidation_level),
}


def _lookup(table: Mapping[str, Decimal], coin: str, what: str) -> Decimal:
    v = table.get(coin)
    if v is None:
        raise EvalError(f"{what} of {coin} is not known for this scope")
    return v


_COIN_FNS: dict[str, Callable[[ScopeSnapshot, str], Decimal]] = {
    "available": lambda s, c: s.balance(c).available,
    "frozen": lambda s, c: s.balance(c).frozen,
    "borrow": lambda s, c: s.balance(c).borrow,
    "interest": lambda s, c: s.balance(c).interest,
    "net": lambda s, c: s.balance(c).net,
    "debt": lambda s, c: s.balance(c).liability,
    "equity": lambda s, c: s.balance(c).net,
    "totalAmount": lambda s, c: s.balance(c).total_amount,
    "price": derived.price,
    "maintainMarginRate": lambda s, c: _lookup(s.maintain_margin_rate, c, "maintainMarginRate"),
    "maxBorrowableAmount": lambda s, c: _lookup(s.max_borrowable, c, "maxBorrowableAmount"),
    "interestRate": lambda s, c: _lookup(s.daily_interest_rate, c, "interestRate"),
    "distanceToLiquidation": derived.coin_distance_to_liquidation,
}


def resolve_coin(snap: ScopeSnapshot, coin: str, action_coin: str | None = None) -> str:
    """Turn ``@base`` / ``@quote`` / ``@coin`` into a coin symbol for this scope."""
    if coin in (BASE, QUOTE):
        got = snap.base_coin if coin == BASE else snap.quote_coin
        if got is None:
            which = "base" if coin == BASE else "quote"
            raise EvalError(f"{which} coin is not known for scope {snap.scope}")
        return got
    if coin == ACTION_COIN:
        if action_coin is None:
            raise EvalError("no action coin here")
        return action_coin
    return coin


def scalar_value(snap: ScopeSnapshot, name: str, now: float) -> Decimal:
    """The current value of a scalar (raises :class:`EvalError`)."""
    try:
        return _SCALAR_FNS[name](snap, now)
    except derived.MissingData as exc:
        raise EvalError(str(exc)) from None


def _bracket(
    samples: tuple[Sample, ...], at: float, cutoff: float
) -> tuple[Sample | None, Sample | None]:
    """The newest sample at or before ``cutoff``, and the first one after it (before ``at``).
    ``samples`` are in time order (a binary search: a price history holds hundreds)."""
    i = bisect_right(samples, cutoff, key=_time)
    before = samples[i - 1] if i > 0 and samples[i - 1][0] < at else None
    after = samples[i] if i < len(samples) and samples[i][0] < at else None
    return before, after


def _time(sample: Sample) -> float:
    return sample[0]


def history_change(
    samples: tuple[Sample, ...], current: Decimal, at: float, window: float
) -> Decimal:
    """current − the value ``window`` seconds before ``at`` (``delta``).

    The reference value is the newest sample at or before ``at − window``; when history is
    shorter than the window, the oldest sample (a partial window); with no earlier sample,
    the change is 0.
    """
    before, after = _bracket(samples, at, at - window)
    ref = before or after
    return ZERO if ref is None else current - ref[1]


def history_rate(
    samples: tuple[Sample, ...], current: Decimal, at: float, window: float
) -> Decimal:
    """Change per second over the ``window`` seconds before ``at``: (current − the value at
    the window's start) / window, that value interpolated linearly between the samples either
    side of the start (the newest at or before it and the next one, or ``current``).

    So a fall that began inside the window is not averaged with the calm before a sparse
    sample (a calm scope is polled slowly), and a straight line reads its slope whatever the
    samples. While history is shorter than the window: from its oldest sample; with no earlier
    sample, 0.
    """
    start = window_start(samples, current, at, window)
    return ZERO if start is None else (current - start[0]) / start[1]


def window_start(
    samples: tuple[Sample, ...], current: Decimal, at: float, window: float
) -> tuple[Decimal, Decimal] | None:
    """The value at the start of the window :func:`history_rate` measures, and the seconds
    from there to ``at`` (None while there is no earlier sample)."""
    cutoff = at - window
    before, after = _bracket(samples, at, cutoff)
    end = after or (at, current)
    if before is None:
        span = at - end[0]
        return None if span <= 0 else (end[1], Decimal(str(round(span, 3))))
    t0, t1, tc = (Decimal(str(round(t, 3))) for t in (before[0], end[0], cutoff))
    # Two samples within a millisecond of each other: the later one stands for both.
    then = end[1] if t1 <= t0 else (before[1] * (t1 - tc) + end[1] * (tc - t0)) / (t1 - t0)
    return then, Decimal(str(round(window, 3)))


class ScopeContext:
    """Computes :class:`Ref` values for one snapshot at one ``now`` (memoised)."""

    __slots__ = ("_cache", "history", "now", "snap")

    def __init__(
        self,
        snap: ScopeSnapshot,
        now: float,
        history: Mapping[str, tuple[Sample, ...]] | None = None,
    ) -> None:
        self.snap = snap
        self.now = now
        self.history = history or {}
        self._cache: dict[Ref, Decimal | EvalError] = {}

    def value(self, ref: Ref, action_coin: str | None = None) -> Decimal:
        if ref.coin == ACTION_COIN:
            coin = resolve_coin(self.snap, ACTION_COIN, action_coin)
            ref = ref._replace(coin=coin)
        cached = self._cache.get(ref)
        if cached is None:
            try:
                cached = self._compute(ref)
            except EvalError as exc:
                cached = exc
            self._cache[ref] = cached
        if isinstance(cached, EvalError):
            raise cached
        return cached

    def _compute(self, ref: Ref) -> Decimal:
        snap = self.snap
        if ref.fn == "maxPriceStep":
            return max_price_step(snap, self.history, ref.window)
        if ref.fn == "adverseRate":
            return adverse_rate(snap, self.history, ref.window)
        if ref.name == "pollInterval":
            return poll_interval(snap, self.history)
        if ref.fn is not None:
            current = self.value(Ref(ref.name))
            samples = self.history.get(ref.name, ())
            if ref.fn == "rate":
                return history_rate(samples, current, snap.observed_at, ref.window)
            return history_change(samples, current, snap.observed_at, ref.window)
        if ref.coin is None:
            return scalar_value(snap, ref.name, self.now)
        coin = resolve_coin(snap, ref.coin)
        try:
            return _COIN_FNS[ref.name](snap, coin)
        except derived.MissingData as exc:
            raise EvalError(str(exc)) from None


def exposed_coins(snap: ScopeSnapshot) -> list[str]:
    """The non-USDT coins the scope holds or owes (whose price moves its risk)."""
    return sorted(
        c
        for c, b in snap.balances.items()
        if c != "USDT" and (b.total_amount != 0 or b.liability != 0)
    )


def max_price_step(
    snap: ScopeSnapshot, history: Mapping[str, tuple[Sample, ...]], window: float
) -> Decimal:
    """The largest relative change of an exposed coin's price between two consecutive
    observations within ``window`` (the current price against the last sample included)."""
    cutoff = snap.observed_at - window
    best = ZERO
    for coin in exposed_coins(snap):
        current = snap.prices_usdt.get(coin)
        if current is None:
            continue  # no price feed: no step seen (the rate lines still work)
        points = [
            v for t, v in history.get(PRICE_SERIES + coin, ()) if cutoff <= t < snap.observed_at
        ]
        series = [*points, current]
        for before, after in pairwise(series):
            if before > 0:
                best = max(best, abs(after / before - 1))
    return best


def adverse_rate(
    snap: ScopeSnapshot, history: Mapping[str, tuple[Sample, ...]], window: float
) -> Decimal:
    """How fast prices move against the scope (fraction per second, positive = against).

    Each exposed coin's relative change per second over ``window`` (measured as
    :func:`history_rate` measures, from the coin's recorded prices), weighted by the scope's
    net value in the coin now: −Σ netᵢ·pᵢ·rᵢ / Σ |netᵢ·pᵢ|, the uniform move against every
    coin that would change the equity as fast. Coins without a price or a history count 0.
    """
    num = den = ZERO
    for coin in exposed_coins(snap):
        price = snap.prices_usdt.get(coin)
        if price is None or price <= 0:
            continue
        value = snap.balance(coin).net * price
        den += abs(value)
        start = window_start(history.get(PRICE_SERIES + coin, ()), price, snap.observed_at, window)
        if start is None or start[0] <= 0:
            continue
        num -= value * (price / start[0] - 1) / start[1]
    return ZERO if den == 0 else num / den


def poll_interval(snap: ScopeSnapshot, history: Mapping[str, tuple[Sample, ...]]) -> Decimal:
    """Seconds between this observation and the one before it (0 before the second)."""
    seen = [t for t, _ in history.get(SEEN_SERIES, ()) if t < snap.observed_at]
    if not seen:
        return ZERO
    return Decimal(str(round(snap.observed_at - seen[-1], 3)))
