"""The debt value to repay to reach a target (pure, Decimal).

A protective trade turns an asset into a debt coin and repays it (``reduce``, autoRepay) or
repays a debt from the coin's own balance (``repay``): assets and debt fall by the same value
``x`` (USDT), equity stays (but for fees), and both the risk rate and the distance to
liquidation improve as ``x`` grows. Two targets, either or both:

- ``target_rate``: the risk rate to come down to. With one debt coin the share is exact
  and needs no prices (``debt × (1 − target / riskRate)`` on the exchange's own rate); with
  several, the risk model's valuation (:func:`riskd.risk.math.repay_value_for_target`).
- ``target_distance``: the ``minDistanceToLiquidation`` to restore — the move against the
  scope (held coins falling, owed coins rising, all at once) it must survive afterwards.
  Found by bisection on ``x`` (the distance grows with ``x``).

With both, the larger ``x`` (both must hold). The result is capped at the debt.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from riskd.risk import derived
from riskd.risk.math import repay_value_for_target
from riskd.risk.snapshot import ScopeSnapshot

ZERO = Decimal(0)
ONE = Decimal(1)
#: Bisection steps for a distance target (the bracket shrinks 2^-40: far below a cent).
STEPS = 40


def after_trade(snap: ScopeSnapshot, debt_coin: str, funding: str, value: Decimal) -> ScopeSnapshot:
    """``snap`` after ``value`` USDT of ``funding`` is turned into ``debt_coin`` and repaid
    (``funding == debt_coin``: a repay from the coin's own balance). Needs prices."""
    balances = dict(snap.balances)
    pd = derived.price(snap, debt_coin)
    pf = derived.price(snap, funding)
    d = snap.balance(debt_coin)
    units = min(value / pd, d.liability)
    interest = min(d.interest, units)
    balances[debt_coin] = replace(
        d, borrow=max(ZERO, d.borrow - (units - interest)), interest=d.interest - interest
    )
    f = balances.get(funding) or snap.balance(funding)
    spend = value / pf
    balances[funding] = replace(f, available=max(ZERO, f.available - spend))
    return replace(snap, balances=MappingProxyType(balances))


def value_for_distance(
    snap: ScopeSnapshot, debt_coin: str, funding: str, target: Decimal
) -> Decimal:
    """The least USDT value of ``debt_coin`` to repay (funded by ``funding``) for the
    scope's ``minDistanceToLiquidation`` to reach ``target``; 0 when it already does, the
    whole debt (or all the funding there is) when nothing less can."""
    if derived.min_distance_to_liquidation(snap) >= target:
        return ZERO
    pd = derived.price(snap, debt_coin)
    pf = derived.price(snap, funding)
    f = snap.balance(funding)
    hi = snap.balance(debt_coin).liability * pd
    if funding != debt_coin:
        hi = min(hi, f.available * pf)
    if derived.min_distance_to_liquidation(after_trade(snap, debt_coin, funding, hi)) < target:
        return hi
    lo = ZERO
    for _ in range(STEPS):
        mid = (lo + hi) / 2
        if derived.min_distance_to_liquidation(after_trade(snap, debt_coin, funding, mid)) >= (
            target
        ):
            hi = mid
        else:
            lo = mid
    return hi


def units_for_rate(snap: ScopeSnapshot, debt_coin: str, target: Decimal) -> Decimal | None:
    """Units of ``debt_coin`` to repay for the risk rate to fall to ``target``: exact with
    one debt coin (the exchange's own rate), from the valuation with several; ``None`` when
    the valuation lacks a price or a tier rate."""
    debt = snap.balance(debt_coin).liability
    if snap.risk_rate <= target:
        return ZERO
    if derived.debt_coins(snap) == [debt_coin]:
        return debt * (ONE - target / snap.risk_rate)
    try:
        v = derived.valuation(snap)
        price = derived.price(snap, debt_coin)
    except derived.MissingData:
        return None
    mmr = snap.maintain_margin_rate.get(debt_coin)
    if mmr is None or mmr <= 0:
        return None
    usdt = repay_value_for_target(v, target, mmr)
    return usdt / price if usdt.is_finite() else None


def units_for_targets(
    snap: ScopeSnapshot,
    debt_coin: str,
    funding: str,
    *,
    rate: Decimal | None,
    distance: Decimal | None,
) -> tuple[Decimal, str]:
    """Units of ``debt_coin`` to repay for both targets, and how they were sized
    (``proportional``/``valuation``/``distance``/``all``); capped at the debt."""
    debt = snap.balance(debt_coin).liability
    units, sizing = ZERO, "proportional"
    if rate is not None:
        by_rate = units_for_rate(snap, debt_coin, rate)
        if by_rate is None:
            return debt, "all"
        units = by_rate
        sizing = "proportional" if derived.debt_coins(snap) == [debt_coin] else "valuation"
    if distance is not None:
        try:
            value = value_for_distance(snap, debt_coin, funding, distance)
            by_distance = value / derived.price(snap, debt_coin)
        except derived.MissingData:
            # No price or tier rate: the distance cannot be judged, the rate target still can.
            by_distance = ZERO if rate is not None else debt
        if by_distance > units:
            units, sizing = by_distance, "distance"
    return min(units, debt), sizing


def distance_reached(snap: ScopeSnapshot, target: Decimal) -> bool:
    """The scope's ``minDistanceToLiquidation`` is at least ``target``. Without the prices
    or tier rates to judge it, True: a distance target is then left to the rate lines (the
    rule variable reads as its cap, so a distance line does not fire either)."""
    try:
        return derived.min_distance_to_liquidation(snap) >= target
    except derived.MissingData:
        return True


__all__ = [
    "after_trade",
    "distance_reached",
    "units_for_rate",
    "units_for_targets",
    "value_for_distance",
]
