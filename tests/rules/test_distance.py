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


def _adverse(snap: ScopeSnapshot, history: dict[str, tuple[tuple[float, D], ...]]) -> D:
    ctx = ScopeContext(snap, snap.observed_at, history)
    return ctx.value(Ref("adverseRate", None, "adverseRate", 20.0))


def test_adverse_rate_of_a_long_is_the_fall_per_second() -> None:
    """BTC from 30 000 to 27 000 in the last 20 s: a long reads 0.5 % a second against it,
    and a rise reads negative (in its favour)."""
    history = {"price:BTC": ((0.0, D(30000)), (10.0, D(28500)))}
    assert _adverse(_long("27000", t=20.0), history) == D("0.005")
    assert _adverse(_long("33000", t=20.0), history) == D("-0.005")


def test_adverse_rate_of_a_short_is_the_rise() -> None:
    """A scope that owes the coin is hurt by a rise: BTC up 6 % in 20 s reads 0.3 %/s."""
    snap = replace(
        _long("31800", t=20.0),
        balances={"BTC": _bal("BTC", borrow="0.5"), "USDT": _bal("USDT", "18000")},
    )
    assert _adverse(snap, {"price:BTC": ((0.0, D(30000)),)}) == D("0.003")


def test_adverse_rate_weights_each_coin_by_the_scope_s_net_value_in_it() -> None:
    """Cross, owing 1 BTC (30 000) and holding 1 ETH (2 000): BTC up 1 % and ETH down 10 %
    in 20 s: the debt grows by 303 and the ETH loses 180, against an exposure of 32 100 at
    today's prices, over 20 s."""
    snap = replace(_cross_short(), observed_at=20.0, prices_usdt={"BTC": D(30300), "ETH": D(1800)})
    history = {"price:BTC": ((0.0, D(30000)),), "price:ETH": ((0.0, D(2000)),)}
    expected = (D(30300) * D("0.01") + D(1800) * D("0.1")) / (D(30300) + D(1800)) / 20
    assert _adverse(snap, history) == pytest.approx(expected, abs=D("1e-24"))


def test_adverse_rate_ignores_what_the_scope_itself_did() -> None:
    """A repay that halves the debt at a steady price changes the distance, not the prices:
    the pace stays 0, where the distance's own rate reads a market moving the scope's way."""
    history = {"price:BTC": ((0.0, D(30000)), (10.0, D(30000)))}
    repaid = replace(
        _long(t=20.0), balances={"BTC": _bal("BTC", "0.5"), "USDT": _bal("USDT", borrow="6000")}
    )
    assert _adverse(repaid, history) == 0
    before = derived.min_distance_to_liquidation(_long())
    assert derived.min_distance_to_liquidation(repaid) > before


def test_adverse_rate_without_history_or_prices_is_zero() -> None:
    """Before a second look, and for a coin without a price, no pace is seen."""
    assert _adverse(_long(t=0.0), {}) == 0
    assert _adverse(replace(_long(t=20.0), prices_usdt={}), {"price:BTC": ((0.0, D(1)),)}) == 0
    with pytest.raises(ExpressionError, match="window"):
        compile_expression('adverseRate("BTC")')
