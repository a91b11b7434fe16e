"""Sizing that moves no more capital than the targets need (issue 15's capital goal)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal as D

import pytest

from riskd.daemon.plans import ActionPlan, plan_action
from riskd.risk import derived
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.sizing import ActionKind, Skip
from riskd.sizing.orders import amount_for_target, reduce_units
from riskd.sizing.targets import after_trade

MMR = D("0.1")
BTC, ETH = D(40500), D(2420)


def _bal(coin: str, available: str = "0", borrow: str = "0") -> CoinBalance:
    return CoinBalance(coin, D(available), D(0), D(borrow), D(0))


def _snap(
    scope: str, rate: str, prices: Mapping[str, D], mmr: Mapping[str, D], *balances: CoinBalance
) -> ScopeSnapshot:
    isolated = scope != "cross"
    return ScopeSnapshot(
        account="a",
        scope=scope,
        risk_rate=D(rate),
        balances={b.coin: b for b in balances},
        observed_at=0.0,
        maintain_margin_rate=mmr,
        prices_usdt=prices,
        base_coin="BTC" if isolated else None,
        quote_coin="USDT" if isolated else None,
    )


def _two_debts() -> ScopeSnapshot:
    """A cross account that sold borrowed BTC and ETH; tiers only for the owed coins, as
    the daemon reads them (no tier for the USDT it holds but does not owe)."""
    return _snap(
        "cross",
        "0.523",
        {"BTC": BTC, "ETH": ETH},
        {"BTC": MMR, "ETH": MMR},
        _bal("USDT", "8700"),
        _bal("BTC", borrow="0.095"),
        _bal("ETH", borrow="1.425"),
    )


def _long_with_free_usdt(free: str) -> ScopeSnapshot:
    """A 6x isolated long holding part of its margin as free USDT."""
    return _snap(
        "isolated:BTCUSDT",
        "0.45",
        {"BTC": D(27300)},
        {"BTC": D("0.05"), "USDT": D("0.05")},
        _bal("USDT", free, borrow="10000"),
        _bal("BTC", "0.33333333"),
    )


def test_distance_needs_no_tier_for_a_coin_the_scope_does_not_owe() -> None:
    """minDistanceToLiquidation of a cross scope is computed without a tier for held coins it
    does not owe, and equals the figure computed with any tier for them."""
    snap = _two_debts()
    without = derived.min_distance_to_liquidation(snap)
    with_tier = derived.min_distance_to_liquidation(
        _snap(
            "cross",
            "0.523",
            snap.prices_usdt,
            {"BTC": MMR, "ETH": MMR, "USDT": D("0.3")},
            *snap.balances.values(),
        )
    )
    assert D(0) < without < derived.DISTANCE_CAP and without == with_tier


def test_an_owed_coin_without_its_tier_is_still_missing_data() -> None:
    """The distance still refuses to guess when an owed coin's tier rate is unknown."""
    snap = _snap("cross", "0.5", {"BTC": BTC}, {}, _bal("USDT", "100"), _bal("BTC", borrow="1"))
    with pytest.raises(derived.MissingData, match="BTC"):
        derived.min_distance_to_liquidation(snap)


def test_a_buy_back_with_two_debts_is_sized_to_the_rate_not_the_whole_debt() -> None:
    """From 0.523 to 0.5 with two owed coins, the buy-back repays (N − 0.5 × E) / mmr of
    value, not the whole BTC debt (the missing USDT tier once made it the whole debt)."""
    snap = _two_debts()
    units = reduce_units(snap, {}, "BTC", D("0.5"), D(0), funding="USDT")
    assert not isinstance(units, Skip)
    v = derived.valuation(snap)
    expected = (v.weighted_liabilities - D("0.5") * v.equity) / MMR / BTC
    assert units == pytest.approx(expected) and units < D("0.095") / 10


def test_the_star_reduce_buys_back_only_what_the_rate_needs() -> None:
    """A cross reduce of any coin spends on the buy-back about what the rate target needs."""
    plan = plan_action(
        "reduce", {"symbol": "*", "target_risk_rate": D("0.5")}, _two_debts(), {}, "i"
    )
    assert isinstance(plan, ActionPlan) and plan.side == "buy" and plan.amount is not None
    assert D(200) < plan.amount < D(400)


def test_amount_for_target_values_several_debts_without_the_quote_tier() -> None:
    """The legacy repay target sizes from the valuation too, without a tier for USDT."""
    units = amount_for_target(_two_debts(), {}, "BTC", D("0.5"))
    assert units is not None and D(0) < units < D("0.01")


def test_a_reduce_spends_the_owed_coins_free_balance_first() -> None:
    """A reduce on a scope holding free quote repays from it first (its autoRepay sale
    would spend it anyway), sized to the target, before any trade."""
    snap = _long_with_free_usdt("2000")
    plan = plan_action("reduce", {"target_distance": D("0.08")}, snap, {}, "i")
    assert isinstance(plan, ActionPlan) and plan.kind == ActionKind.REPAY
    assert plan.coin == "USDT" and plan.amount is not None and D(0) < plan.amount <= D(2000)


def test_free_balance_that_meets_the_target_is_not_all_repaid() -> None:
    """When part of the free quote meets the target, only that part is repaid."""
    snap = _long_with_free_usdt("2000")
    need = derived.min_distance_to_liquidation(after_trade(snap, "USDT", "USDT", D(500))).quantize(
        D("0.0001")
    )
    plan = plan_action("reduce", {"target_distance": need}, snap, {}, "i")
    assert isinstance(plan, ActionPlan) and plan.kind == ActionKind.REPAY
    assert plan.amount is not None and D(450) < plan.amount < D(550)


def test_with_no_free_quote_the_reduce_trades() -> None:
    """Without free quote the reduce is a market sale sized to the target."""
    snap = _long_with_free_usdt("0")
    plan = plan_action("reduce", {"target_distance": D("0.08")}, snap, {}, "i")
    assert isinstance(plan, ActionPlan) and plan.kind == ActionKind.REDUCE and plan.side == "sell"


def test_a_met_target_sends_nothing_even_with_free_quote() -> None:
    """A reduce whose targets are already met is skipped as met, free quote or not."""
    snap = _long_with_free_usdt("2000")
    skip = plan_action("reduce", {"target_distance": D("0.01")}, snap, {}, "i")
    assert isinstance(skip, Skip) and skip.met
