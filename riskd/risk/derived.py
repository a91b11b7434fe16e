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
    out: dict[str, Decimal] = {}
    for c in _held(snap):
        m = snap.maintain_margin_rate.get(c)
        if m is None:
            raise MissingData(f"no maintainMarginRate for {c}")
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
