"""Gap-aware rule values: distances to liquidation, the largest price step, the poll interval."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from riskd.risk import derived
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.rules.expressions import ExpressionError, compile_expression
from riskd.rules.variables import Ref, ScopeContext

MMR = D("0.05")


def _bal(coin: str, available: str = "0", borrow: str = "0") -> CoinBalance:
    return CoinBalance(coin, D(available), D(0), D(borrow), D(0))


def _long(price: str = "30000", t: float = 0.0) -> ScopeSnapshot:
    """A 5x isolated BTCUSDT long: 0.5 BTC, 12 000 USDT owed, liquidated at 25 200."""
    return ScopeSnapshot(
        account="a",
        scope="isolated:BTCUSDT",
        risk_rate=D("0.2"),
        balances={"BTC": _bal("BTC", "0.5"), "USDT": _bal("USDT", borrow="12000")},
        observed_at=t,
        maintain_margin_rate={"BTC": MMR, "USDT": MMR},
        prices_usdt={"BTC": D(price)},
        base_coin="BTC",
        quote_coin="USDT",
    )


def _cross_short() -> ScopeSnapshot:
    """Owes 1 BTC (30 000), holds 33 000 USDT and 1 ETH (2 000); mmr 0.1 each."""
    return ScopeSnapshot(
        account="a",
        scope="cross",
        risk_rate=D("0.6"),
        balances={
            "BTC": _bal("BTC", borrow="1"),
            "USDT": _bal("USDT", "33000"),
            "ETH": _bal("ETH", "1"),
        },
        observed_at=0.0,
        maintain_margin_rate={"BTC": D("0.1"), "USDT": D("0.1"), "ETH": D("0.1")},
        prices_usdt={"BTC": D(30000), "ETH": D(2000)},
    )


def test_min_distance_of_a_long_is_the_fall_that_liquidates() -> None:
    """A long's minDistanceToLiquidation is the price fall to its liquidation price (16 %)."""
    assert derived.min_distance_to_liquidation(_long()) == D("0.16")
    assert derived.coin_distance_to_liquidation(_long(), "BTC") == D("-0.16")


def test_min_distance_moves_owed_coins_up_and_held_coins_down_together() -> None:
    """In cross, the adverse move raises the owed BTC and lowers the held ETH at once: nearer
    than BTC's own move, while ETH alone (worth too little) cannot liquidate."""
    snap = _cross_short()
    d = derived.min_distance_to_liquidation(snap)
    btc = derived.coin_distance_to_liquidation(snap, "BTC")
    assert derived.coin_distance_to_liquidation(snap, "ETH") == D("Infinity")
    assert 0 < d < btc
    # At that move the local risk rate is at the liquidation ratio.
    moved = replace(snap, prices_usdt={"BTC": D(30000) * (1 + d), "ETH": D(2000) * (1 - d)})
    assert derived.local_risk_rate(moved) == pytest.approx(D(1), abs=D("1e-9"))


def test_no_debt_reads_as_the_cap() -> None:
    """A scope with no debt is as far from liquidation as the variable can say (10)."""
    snap = _long()
    free = replace(snap, balances={"BTC": _bal("BTC", "0.5")})
    assert derived.min_distance_to_liquidation(free) == derived.DISTANCE_CAP


def test_max_price_step_and_poll_interval_read_the_history() -> None:
    """maxPriceStep is the largest jump between consecutive looks in the window, the current
    price included; pollInterval the seconds since the previous look."""
    expr = compile_expression('maxPriceStep("1m") + pollInterval')
    history = {
        "price:BTC": ((0.0, D(30000)), (10.0, D(28800)), (20.0, D(28800))),
        "@seen": ((10.0, D(0)), (20.0, D(0))),
    }
    ctx = ScopeContext(_long("27648", t=21.0), 21.0, history)
    assert ctx.value(Ref("maxPriceStep", None, "maxPriceStep", 60.0)) == D("0.04")
    assert ctx.value(Ref("pollInterval")) == D(1)
    assert expr.evaluate(ctx) == D("1.04")


def test_missing_prices_keep_the_rule_healthy() -> None:
    """Without a price feed the distance reads as its cap and no price step is seen."""
    snap = _long()
    bare = replace(snap, prices_usdt={})
    expr = compile_expression('minDistanceToLiquidation < 0.01 + 2 * maxPriceStep("2m")')
    assert expr.evaluate(ScopeContext(bare, 0.0)) is False


def test_distance_function_takes_one_coin() -> None:
    """distanceToLiquidation("BTC") is per coin; anything else is refused at load."""
    expr = compile_expression('distanceToLiquidation("BTC") > -0.2')
    assert expr.evaluate(ScopeContext(_long(), 0.0)) is True
    with pytest.raises(ExpressionError, match="one coin"):
        compile_expression("distanceToLiquidation()")
    with pytest.raises(ExpressionError, match="window"):
        compile_expression("maxPriceStep(5)")
