"""Derived values of one scope, for rule expressions and repayment sizing (pure, Decimal).

Everything valued in USDT needs an index price for every non-USDT coin the scope holds or
owes; a missing price raises :class:`MissingData` naming the coin, so that a rule using the
value is marked unhealthy with a clear reason instead of guessing.
"""

from __future__ import annotations

from decimal import Decimal

from riskd.risk import math as riskmath
from riskd.risk.snapshot import USDT, ScopeSnapshot

ZERO = Decimal(0)
ONE = Decimal(1)
INFINITY = Decimal("Infinity")


class MissingData(LookupError):
    """A value the computation needs is not in the snapshot (a price, a tier rate…)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "missing data"


def price(snap: ScopeSnapshot, coin: str) -> Decimal:
    """USDT index price of ``coin`` (USDT is 1)."""
    if coin == USDT:
        return ONE
    p = snap.prices_usdt.get(coin)
    if p is None:
        raise MissingData(f"no USDT price for {coin} (is a price source configured?)")
    return p


def _held(snap: ScopeSnapshot) -> list[str]:
    return [c for c, b in snap.balances.items() if b.total_amount != 0 or b.liability != 0]


def assets_usdt(snap: ScopeSnapshot) -> Decimal:
    """Σ (available + frozen) × price."""
    return sum((snap.balances[c].total_amount * price(snap, c) for c in _held(snap)), ZERO)


def debt_usdt(snap: ScopeSnapshot) -> Decimal:
    """Σ (borrow + interest) × price."""
    return sum((snap.balances[c].liability * price(snap, c) for c in _held(snap)), ZERO)


def equity_usdt(snap: ScopeSnapshot) -> Decimal:
    """Assets − debt, in USDT."""
    return assets_usdt(snap) - debt_usdt(snap)


def _mmr_map(snap: ScopeSnapshot) -> dict[str, Decimal]:
    """The tier rate of every held coin; a coin owed nothing needs none (its weight
    liability × price × rate is 0 whatever the rate), as in the daemon's own risk rate —
    riskd reads tiers only for the coins a cross account owes."""
    out: dict[str, Decimal] = {}
    for c in _held(snap):
        m = snap.maintain_margin_rate.get(c)
        if m is None:
            if snap.balances[c].liability > 0:
                raise MissingData(f"no maintainMarginRate for {c}")
            m = ZERO
        out[c] = m
    return out


def _prices_map(snap: ScopeSnapshot) -> dict[str, Decimal]:
    return {c: price(snap, c) for c in _held(snap)}


def valuation(snap: ScopeSnapshot) -> riskmath.Valuation:
    """The scope valued by :func:`riskd.risk.math.value` (needs prices and mmr)."""
    held = [snap.balances[c] for c in _held(snap)]
    return riskmath.value(held, _prices_map(snap), _mmr_map(snap))


def local_risk_rate(snap: ScopeSnapshot) -> Decimal:
    """The risk rate recomputed from balances, prices and tier rates."""
    return valuation(snap).risk_rate


def distance_to_liquidation(snap: ScopeSnapshot) -> Decimal:
    """Signed price move to liquidation (−0.12: a 12 % fall liquidates).

    ``Infinity`` when no uniform move of all non-USDT prices reaches the liquidation ratio
    (for example, no debt at all).
    """
    held = [snap.balances[c] for c in _held(snap)]
    d = riskmath.distance_to_liquidation(
        held, _prices_map(snap), _mmr_map(snap), snap.liquidation_risk_ratio
    )
    return INFINITY if d is None else d


def debt_coins(snap: ScopeSnapshot) -> list[str]:
    """Coins with a liability (borrow + interest > 0), sorted."""
    return sorted(c for c, b in snap.balances.items() if b.liability > 0)


#: ``minDistanceToLiquidation`` when no adverse move liquidates (a move of 1000 %).
DISTANCE_CAP = Decimal(10)


def _linear_terms(snap: ScopeSnapshot, moves: dict[str, Decimal]) -> tuple[Decimal, Decimal]:
    """``(f0, slope)`` of ``f(d) = N(d) − r × E(d)`` when each coin ``c`` of ``moves`` is
    priced ``price × (1 + moves[c] × d)`` (the risk rate is at liquidation where f = 0)."""
    r = snap.liquidation_risk_ratio
    mmr = _mmr_map(snap)
    f0 = slope = ZERO
    for c in _held(snap):
        b = snap.balances[c]
        p = price(snap, c)
        f = b.liability * p * mmr[c] - r * (b.total_amount - b.liability) * p
        f0 += f
        slope += f * moves.get(c, ZERO)
    return f0, slope


def coin_distance_to_liquidation(snap: ScopeSnapshot, coin: str) -> Decimal:
    """Signed move of ``coin``'s price alone (the others held) that liquidates the scope:
    −0.2 = a 20 % fall of that coin; 0 when already liquidated; ``Infinity`` when no move
    of that coin does (USDT, or a coin the scope neither holds nor owes)."""
    if coin == USDT or coin not in _held(snap):
        return INFINITY
    held = [snap.balances[c] for c in _held(snap)]
    d = riskmath.coin_distance_to_liquidation(
        held, _prices_map(snap), _mmr_map(snap), snap.liquidation_risk_ratio, coin
    )
    return INFINITY if d is None else d


def adverse_moves(snap: ScopeSnapshot) -> dict[str, Decimal]:
    """The direction that hurts each non-USDT coin's holder: −1 (a fall) for a coin the
    scope holds more of than it owes, +1 (a rise) for a coin it owes more of."""
    return {c: (-ONE if snap.balances[c].net >= 0 else ONE) for c in _held(snap) if c != USDT}


def min_distance_to_liquidation(snap: ScopeSnapshot) -> Decimal:
    """The smallest move against the scope that liquidates it, as a fraction ≥ 0: every coin
    it holds falls and every coin it owes rises by that fraction at once (a correlated
    crash). 0 when already liquidated; :data:`DISTANCE_CAP` when no move up to 1000 % does."""
    if not _has_debt(snap):
        return DISTANCE_CAP
    moves = adverse_moves(snap)
    f0, slope = _linear_terms(snap, moves)
    if f0 >= 0:
        return ZERO
    if slope > 0:
        d = -f0 / slope
        if d <= ONE:
            return d
    # Past a 100 % fall the falling coins are worth nothing: only the rising ones move on.
    f1 = f0 + slope
    if f1 >= 0:
        return ONE
    _, rise_slope = _linear_terms(snap, {c: m for c, m in moves.items() if m > 0})
    if rise_slope <= 0:
        return DISTANCE_CAP
    return min(ONE - f1 / rise_slope, DISTANCE_CAP)


def min_distance_or_cap(snap: ScopeSnapshot) -> Decimal:
    """:func:`min_distance_to_liquidation`, or :data:`DISTANCE_CAP` when a price or tier rate
    is missing (the rate lines alone decide then: rules and polling stay healthy without a
    price feed)."""
    try:
        return min_distance_to_liquidation(snap)
    except MissingData:
        return DISTANCE_CAP


def _has_debt(snap: ScopeSnapshot) -> bool:
    return any(snap.balances[c].liability > 0 for c in _held(snap))
