"""Order sizing (pure, Decimal): how much debt a trade repays for a target, the fee's
gross-up, the symbol's decimals (lot size) and minimum order, and prices in the quote coin.

Used by :func:`riskd.daemon.plans.plan_action` on the freshest data just before a request
leaves; the targets themselves are :mod:`riskd.sizing.targets`, the caps
:mod:`riskd.sizing.caps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from riskd.amounts import WIRE_DECIMALS, for_people, to_wire
from riskd.risk import derived
from riskd.risk.math import repay_value_for_target
from riskd.risk.snapshot import USDT, ScopeSnapshot, SymbolTradeRule
from riskd.sizing.kinds import Skip
from riskd.sizing.targets import distance_reached, units_for_targets

ZERO = Decimal(0)
ONE = Decimal(1)
#: A target repay from free balance covering less than this share of what the target needs
#: is skipped (a crumb costs a call, in a crash a cycle, and moves nothing).
DUST_SHARE = Decimal("0.01")
#: A reduce sends this much more than the computed amount: price moves between the poll and
#: the fill, rounding, and (when the symbol's fee rate is unknown) a fee of up to ~0.5 %.
REDUCE_SLACK = Decimal("1.005")


def amount_for_target(
    snap: ScopeSnapshot, prices: Mapping[str, Decimal], coin: str, target: Decimal
) -> Decimal | None:
    """Units of ``coin`` to repay from its balance for the modelled risk rate to fall to
    ``target`` (:func:`riskd.risk.math.repay_value_for_target` on the freshest prices; held
    coins owed nothing need no tier rate); ``None`` when a price or the coin's rate is
    missing."""
    mmr = snap.maintain_margin_rate.get(coin)
    fresh = priced(snap, prices)
    try:
        v = derived.valuation(fresh)
        price = derived.price(fresh, coin)
    except derived.MissingData:
        return None
    if mmr is None or mmr <= 0:
        return None
    usdt = repay_value_for_target(v, target, mmr)
    return usdt / price if usdt.is_finite() else None


def reduce_units(
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    debt_coin: str,
    target: Decimal | None,
    fee: Decimal,
    *,
    distance: Decimal | None = None,
    funding: str | None = None,
) -> Decimal | Skip:
    """How much of ``debt_coin``'s debt (in that coin) the reduce should repay.

    An autoRepay trade repays debt with the proceeds of selling an asset of the same value:
    assets and debt fall alike, equity does not change (but for the fee), and the risk rate
    falls in proportion to the debt. When ``debt_coin`` is the scope's only debt, repaying
    ``x`` of a debt ``D`` scales the exchange's own rate by ``(D − x) / D``, so
    ``x = D × (1 − target / riskRate)``. With several debts, the valuation of the risk model
    (:func:`riskd.risk.math.repay_value_for_target`) sizes it when prices and tier rates are
    known; otherwise (and without a target) the whole debt.

    The fee of a trade repaying ``x`` costs ``x × fee / (1 − fee)`` of equity, which raises
    the rate back by ``target`` times that over the equity: with the coin's maintenance
    margin rate ``m`` known, ``x`` is scaled by ``m / (m − target × fee / (1 − fee))``
    (about 1 % for a 0.1 % fee at 10x). Capped at the debt.
    """
    debt = snap.balance(debt_coin).liability
    if debt <= 0:
        return Skip(f"no {debt_coin} debt for reduce to repay")
    if distance is not None:
        return units_with_distance(snap, prices, debt_coin, target, distance, funding, fee)
    if target is None:
        return debt
    if target < 0:
        raise ValueError(f"parameter target_risk_rate: {target} is negative")
    if snap.risk_rate <= target:
        rate = for_people(snap.risk_rate)
        return Skip(f"riskRate {rate} already at or below target {for_people(target)}", met=True)
    units, sizing = units_for_targets(
        priced(snap, prices), debt_coin, funding or debt_coin, rate=target, distance=None
    )
    if sizing == "all":
        return debt
    mmr = snap.maintain_margin_rate.get(debt_coin)
    if mmr is not None and mmr > 0 and fee > 0:
        drag = target * fee / (ONE - fee)
        units = units * mmr / (mmr - drag) if drag < mmr else debt
    return min(units, debt)


def price_in_quote(base: str, quote: str, prices: Mapping[str, Decimal]) -> Decimal | None:
    """The base coin's price in the quote coin, from USDT index prices."""
    pb, pq = usdt_price(base, prices), usdt_price(quote, prices)
    return pb / pq if pb and pq else None


def usdt_price(coin: str, prices: Mapping[str, Decimal]) -> Decimal | None:
    p = ONE if coin == USDT else prices.get(coin)
    return p if p is not None and p.is_finite() and p > 0 else None


def fee(rule: SymbolTradeRule) -> Decimal:
    fee = rule.taker_fee_rate
    return fee if fee is not None and ZERO <= fee < ONE else ZERO


def decimals(scale: int | None) -> int:
    """Decimals to round an amount to: the symbol's scale, never more than 8."""
    return WIRE_DECIMALS if scale is None or scale < 0 else min(scale, WIRE_DECIMALS)


def below_minimum(
    rule: SymbolTradeRule,
    symbol: str,
    sell: bool,
    amount: Decimal,
    price: Decimal | None,
    base_coin: str,
    quote_coin: str,
    prices: Mapping[str, Decimal],
) -> Skip | None:
    """A Skip when the order is smaller than the symbol's minimum (codes 45111 / 45110)."""
    qty = amount if sell else (amount / price if price else None)
    if rule.min_trade_amount is not None and qty is not None and qty < rule.min_trade_amount:
        return Skip(
            f"{'sell' if sell else 'buy'} of {to_wire(qty)} {base_coin} on {symbol} is below"
            f" the minimum order of {to_wire(rule.min_trade_amount)} {base_coin} (the exchange"
            " refuses it: 45111)"
        )
    if rule.min_trade_usdt is None:
        return None
    unit = usdt_price(base_coin if sell else quote_coin, prices)
    if not unit:
        return None
    worth = amount * unit
    if worth < rule.min_trade_usdt:
        return Skip(
            f"{'sell' if sell else 'buy'} on {symbol} worth {to_wire(worth, 2)} USDT is below the"
            f" minimum order value of {to_wire(rule.min_trade_usdt)} USDT (the exchange refuses"
            " it: 45110)"
        )
    return None


def priced(snap: ScopeSnapshot, prices: Mapping[str, Decimal]) -> ScopeSnapshot:
    """``snap`` with the freshest prices (``prices`` wins over the snapshot's own)."""
    merged = {**snap.prices_usdt, **{c: p for c, p in prices.items() if p > 0}}
    return replace(snap, prices_usdt=MappingProxyType(merged))


def distance_met(snap: ScopeSnapshot, distance: Decimal) -> bool:
    return distance_reached(snap, distance)


def units_with_distance(
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    debt_coin: str,
    rate: Decimal | None,
    distance: Decimal,
    funding: str | None,
    fee: Decimal,
) -> Decimal | Skip:
    """Units of ``debt_coin`` that meet a distance target (and the rate target, if any),
    grossed up for the fee's cost to equity; the whole debt when prices are missing."""
    fresh = priced(snap, prices)
    rate_met = rate is None or snap.risk_rate <= rate
    if rate_met and distance_met(fresh, distance):
        return Skip(
            f"the distance to liquidation already meets the target {for_people(distance)}"
            + (
                ""
                if rate is None
                else f" and riskRate {for_people(snap.risk_rate)} the target {for_people(rate)}"
            ),
            met=True,
        )
    units, _ = units_for_targets(
        fresh,
        debt_coin,
        funding or debt_coin,
        rate=None if rate_met else rate,
        distance=distance,
    )
    if fee > 0:
        units = units / (ONE - fee)
    return min(units, snap.balance(debt_coin).liability)
