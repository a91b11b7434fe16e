"""Action parameters: repay amounts (expression or target risk rate), reduce, flash repay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from riskd.rules.sizing import Skip, action_params
from riskd.rules.variables import ScopeContext

from .helpers import D, coin, rule_text, ruleset, snap


def _params(then: str, s: object, scope: str = "cross") -> dict[str, object]:
    rules = ruleset(rule_text(then=then, scope=scope))
    ctx = ScopeContext(s, 0.0)  # type: ignore[arg-type]
    return dict(action_params(rules.rules[0].then[0], ctx))


def test_repay_amount_binds_bare_names_to_the_coin() -> None:
    """`min(available, borrow + interest)` reads the repaid coin's balance, in Decimal."""
    s = snap(coins=(coin("USDT", available="120.5", borrow="100", interest="0.25"),))
    p = _params(
        '{ action = "repay", coin = "USDT", amount = "min(available, borrow + interest)" }', s
    )
    assert p == {"coin": "USDT", "amount": D("100.25"), "sizing": "amount"}


def test_repay_amount_is_rounded_down_to_8_decimals() -> None:
    """Amounts never exceed what was computed: round toward zero at 8 decimals."""
    s = snap(coins=(coin("USDT", available="10", borrow="10"),))
    p = _params('{ action = "repay", coin = "USDT", amount = "available / 3" }', s)
    assert p["amount"] == D("3.33333333")


def test_repay_amount_zero_is_skipped() -> None:
    """Nothing to repay is a skip with a reason."""
    s = snap(coins=(coin("USDT", available="0", borrow="10"),))
    with pytest.raises(Skip, match="amount of USDT is 0"):
        _params('{ action = "repay", coin = "USDT", amount = "available" }', s)


def test_target_single_debt_coin_needs_no_prices() -> None:
    """One debt coin: x = L × (1 − target / riskRate), exact against the exchange's rate."""
    s = snap("0.8", coins=(coin("USDT", available="1000", borrow="400"),))
    p = _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.5 }', s)
    assert p == {
        "coin": "USDT",
        "amount": D("150"),
        "sizing": "proportional",
        "target_risk_rate": D("0.5"),  # the daemon sizes it again when it sends it
    }


def test_target_is_capped_by_available() -> None:
    """The repay never asks for more than the coin's available balance."""
    s = snap("0.8", coins=(coin("USDT", available="20", borrow="400"),))
    p = _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.5 }', s)
    assert p["amount"] == D("20")


def test_target_with_several_debts_and_prices_sizes_exactly() -> None:
    """With prices, repaying the computed amount brings the local risk rate to the target."""
    from riskd.risk import derived
    from riskd.risk.snapshot import CoinBalance

    usdt = coin("USDT", available="20000", borrow="30000")
    btc = coin("BTC", available="1", borrow="0.1")
    prices = {"BTC": D("20000")}
    mmr = {"USDT": D("0.1"), "BTC": D("0.1")}
    # assets 40000, debt 32000, equity 8000: local rate 3200 / 8000 = 0.4
    s = snap("0.4", coins=(usdt, btc), prices_usdt=prices, maintain_margin_rate=mmr)
    p = _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.25 }', s)
    assert (p["sizing"], p["amount"]) == ("valuation", D(12000))
    amount = p["amount"]
    assert isinstance(amount, Decimal)
    after = snap(
        "0.4",
        coins=(CoinBalance("USDT", D(20000) - amount, D(0), D(30000) - amount, D(0)), btc),
        prices_usdt=prices,
        maintain_margin_rate=mmr,
    )
    assert derived.local_risk_rate(after) == D("0.25")


def test_target_with_several_debts_and_no_prices_repays_all_it_can() -> None:
    """No prices: repay the coin's whole debt, capped at available (over-repaying is safe)."""
    s = snap("0.9", coins=(coin("USDT", available="50", borrow="30"), coin("BTC", borrow="1")))
    p = _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.5 }', s)
    assert p == {"coin": "USDT", "amount": D("30"), "sizing": "all", "target_risk_rate": D("0.5")}


@pytest.mark.parametrize(
    ("risk", "usdt", "reason"),
    [
        ("0.4", coin("USDT", available="50", borrow="30"), "already at or below the target"),
        ("0.9", coin("USDT", available="50"), "no USDT debt to repay"),
        ("0.9", coin("USDT", available="0", borrow="30"), "no available USDT"),
    ],
)
def test_target_skips_when_there_is_nothing_to_do(risk: str, usdt: object, reason: str) -> None:
    """Below target, no debt, or nothing available: skipped, saying why."""
    s = snap(risk, coins=(usdt,))  # type: ignore[arg-type]
    with pytest.raises(Skip, match=reason):
        _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.5 }', s)


def test_repay_base_coin_in_isolated_scope() -> None:
    """`coin = "base"` resolves to the isolated symbol's base coin."""
    s = snap("0.9", scope="isolated:BTCUSDT", coins=(coin("BTC", available="2", borrow="1"),))
    p = _params(
        '{ action = "repay", coin = "base", amount = "min(available, borrow)" }',
        s,
        scope="isolated:*",
    )
    assert p == {"coin": "BTC", "amount": D(1), "sizing": "amount"}


def test_reduce_sells_base_with_auto_repay() -> None:
    """reduce: market sell of the base coin with loanType autoRepay."""
    s = snap("0.9", scope="isolated:ETHUSDT", coins=(coin("ETH", available="3"),))
    p = _params('{ action = "reduce", amount = "available / 2" }', s, scope="isolated:*")
    assert p == {
        "symbol": "ETHUSDT",
        "coin": "ETH",
        "amount": D("1.5"),
        "side": "sell",
        "orderType": "market",
        "loanType": "autoRepay",
    }


def test_reduce_in_cross_names_its_symbol() -> None:
    """In cross, reduce sells the named symbol's base coin (inferred from the quote suffix)."""
    s = snap("0.9", coins=(coin("BTC", available="0.3"),))
    p = _params('{ action = "reduce", symbol = "BTCUSDT", amount = "available" }', s)
    assert (p["symbol"], p["coin"], p["amount"]) == ("BTCUSDT", "BTC", D("0.3"))


def test_reduce_to_target_leaves_sizing_to_the_daemon() -> None:
    """reduce with target_risk_rate passes the target on (the daemon sizes the order); the
    side follows the debt: sell base for a long, buy it back for a short."""
    s = snap(
        "0.9",
        scope="isolated:BTCUSDT",
        coins=(coin("USDT", borrow="1000"), coin("BTC", available="0.1")),
    )
    p = _params('{ action = "reduce", target_risk_rate = 0.5 }', s, scope="isolated:*")
    assert p == {
        "symbol": "BTCUSDT",
        "coin": "BTC",
        "target_risk_rate": D("0.5"),
        "orderType": "market",
        "loanType": "autoRepay",
        "sizing": "target",
        "side": "sell",
    }
    short = snap(
        "0.9",
        scope="isolated:BTCUSDT",
        coins=(coin("USDT", available="5000"), coin("BTC", borrow="0.1")),
    )
    p = _params('{ action = "reduce", target_risk_rate = 0.5 }', short, scope="isolated:*")
    assert p["side"] == "buy"
    c = snap("0.9", coins=(coin("ETH", available="1"),))
    p = _params('{ action = "reduce", symbol = "ETHUSDT", target_risk_rate = 0.5 }', c)
    assert (p["symbol"], p["coin"], p["target_risk_rate"]) == ("ETHUSDT", "ETH", D("0.5"))


def test_reduce_of_a_coin_neither_held_nor_owed_is_skipped() -> None:
    """A cross reduce step for a coin the account does not hold or owe is skipped, with why."""
    c = snap("0.9", coins=(coin("USDT", borrow="1000"), coin("BTC", available="1")))
    with pytest.raises(Skip, match="no ETH held or owed"):
        _params('{ action = "reduce", symbol = "ETHUSDT", target_risk_rate = 0.5 }', c)


def test_reduce_to_target_at_or_below_it_is_skipped() -> None:
    """reduce to a target the rate is already at or below: skipped with the reason."""
    s = snap("0.5", scope="isolated:BTCUSDT", coins=(coin("USDT", borrow="1000"),))
    with pytest.raises(Skip, match=r"already at or below the target 0\.5"):
        _params('{ action = "reduce", target_risk_rate = 0.5 }', s, scope="isolated:*")


def test_flash_repay_and_cancel_orders_params() -> None:
    """flashRepay: symbol in isolated, optional coin in cross; cancelOrders: symbol."""
    iso = snap("0.9", scope="isolated:BTCUSDT", open_orders=1)
    assert _params('"flashRepay"', iso, scope="isolated:*") == {"symbol": "BTCUSDT"}
    assert _params('{ action = "flashRepay", coin = "BTC" }', snap()) == {"coin": "BTC"}
    assert _params('"flashRepay"', snap()) == {}
    assert _params('"cancelOrders"', iso, scope="isolated:*") == {"symbol": "BTCUSDT"}
    frozen = snap(coins=(coin("USDT", frozen="1"),))
    assert _params('{ action = "cancelOrders", symbol = "ETHUSDT" }', frozen) == {
        "symbol": "ETHUSDT"
    }


def test_repay_to_target_skips_a_crumb_of_free_balance() -> None:
    """A target repay that could pay under 1 % of what the target needs is skipped, with why."""
    s = snap("0.9", scope="cross", coins=(coin("USDT", available="0.5", borrow="1000"),))
    with pytest.raises(Skip, match="too little to matter"):
        _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.5 }', s)
    s = snap("0.9", scope="cross", coins=(coin("USDT", available="50", borrow="1000"),))
    p = _params('{ action = "repay", coin = "USDT", target_risk_rate = 0.5 }', s)
    assert p["amount"] == D("50")


def test_reduce_by_amount_in_a_short_is_skipped_not_a_deeper_short() -> None:
    """An amount reduce always sells base: in a scope owing base (a short) it is skipped with
    the reason instead of selling more of what is owed."""
    short = snap(
        "0.9",
        scope="isolated:BTCUSDT",
        coins=(coin("USDT", available="5000"), coin("BTC", available="0.01", borrow="0.1")),
    )
    with pytest.raises(Skip, match="a short"):
        _params('{ action = "reduce", amount = "available" }', short, scope="isolated:*")
