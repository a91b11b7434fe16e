"""Planning a reduce: the symbol's decimals and minimums, sizing to a target risk rate."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.amounts import quantize_down
from riskd.daemon.exchange import AssetRow, SymbolInfo
from riskd.daemon.plans import REDUCE_SLACK, ActionPlan, Skip, plan_action
from riskd.daemon.snapshots import Reference, cross_snapshot, isolated_snapshot
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot, SymbolTradeRule

PRICE = D(20000)
FEE = D("0.001")
BTC_RULE = SymbolTradeRule(
    quantity_scale=6,
    price_scale=2,
    min_trade_amount=D("0.0001"),
    max_trade_amount=D(10000),
    min_trade_usdt=D(5),
    taker_fee_rate=FEE,
)


def _snap(
    *,
    rate: str = "0.8",
    scope: str = "isolated:BTCUSDT",
    rule: SymbolTradeRule | None = BTC_RULE,
    **coins: tuple[str, str, str],
) -> ScopeSnapshot:
    balances = {c: CoinBalance(c, D(a), D(0), D(b), D(i)) for c, (a, b, i) in coins.items()}
    return ScopeSnapshot(
        account="alice",
        scope=scope,
        risk_rate=D(rate),
        balances=balances,
        observed_at=0.0,
        maintain_margin_rate={c: D("0.05") for c in coins},
        base_coin="BTC" if scope != "cross" else None,
        quote_coin="USDT" if scope != "cross" else None,
        trade_rules={} if rule is None else {"BTCUSDT": rule},
    )


def _decimals(value: D) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _plan(snap: ScopeSnapshot, params: dict[str, object] | None = None) -> ActionPlan:
    plan = plan_action("reduce", params or {}, snap, {"BTC": PRICE}, "i")
    assert isinstance(plan, ActionPlan), plan
    return plan


def test_sell_quantity_rounded_down_to_quantity_scale() -> None:
    """A sell's base quantity has at most the symbol's quantityScale decimals, rounded down."""
    snap = _snap(USDT=("0", "1000", "0"), BTC=("1", "0", "0"))
    plan = _plan(snap, {"amount": D("0.123456789")})
    assert plan.amount == D("0.123456") and plan.decimals == 6
    full = _plan(snap)  # the whole debt: 1000 / 20000 grossed up, 6 decimals
    assert full.amount is not None and _decimals(full.amount) <= 6
    assert full.amount == quantize_down(D(1000) / PRICE * REDUCE_SLACK / (1 - FEE), 6)


def test_buy_quote_amount_rounded_down_to_price_scale() -> None:
    """A buy's quote amount has at most the symbol's priceScale decimals, rounded down."""
    snap = _snap(USDT=("5000", "0", "0"), BTC=("0", "0.1234567", "0"))
    plan = _plan(snap)
    assert plan.side == "buy" and plan.coin == "USDT" and plan.amount is not None
    assert _decimals(plan.amount) <= 2
    exact = D("0.1234567") * PRICE * REDUCE_SLACK / (1 - FEE)
    assert plan.amount == quantize_down(exact, 2) and plan.amount < exact


def test_unknown_scale_keeps_8_decimals_and_never_more() -> None:
    """Without reference data the amount keeps 8 decimals; a scale above 8 still gives 8."""
    coins = {"USDT": ("0", "1000", "0"), "BTC": ("1", "0", "0")}
    plain = _plan(_snap(rule=None, **coins), {"amount": D("0.123456789")})
    assert plain.amount == D("0.12345678") and plain.decimals == 8
    wide = _plan(
        _snap(rule=SymbolTradeRule(quantity_scale=12), **coins), {"amount": D("0.123456789")}
    )
    assert wide.amount == D("0.12345678")


def test_below_minimum_quantity_is_skipped() -> None:
    """Less than minTradeAmount of base: skipped, naming the minimum and code 45111."""
    snap = _snap(USDT=("0", "1", "0"), BTC=("1", "0", "0"))
    skip = plan_action("reduce", {"amount": D("0.00005")}, snap, {"BTC": PRICE}, "i")
    assert isinstance(skip, Skip) and "minimum order of 0.0001 BTC" in skip.reason
    assert "45111" in skip.reason


def test_below_minimum_value_is_skipped() -> None:
    """An order worth less than minTradeUSDT: skipped with code 45110 (sell and buy)."""
    sell = _snap(USDT=("0", "3", "0"), BTC=("1", "0", "0"))  # 3 USDT of debt
    skip = plan_action("reduce", {}, sell, {"BTC": PRICE}, "i")
    assert isinstance(skip, Skip) and "45110" in skip.reason and "5 USDT" in skip.reason
    buy = _snap(USDT=("5000", "0", "0"), BTC=("0", "0.0002", "0"))  # 4 USDT of BTC debt
    skip = plan_action("reduce", {}, buy, {"BTC": PRICE}, "i")
    assert isinstance(skip, Skip) and "45110" in skip.reason


def test_amount_that_rounds_to_zero_is_skipped() -> None:
    """A positive amount below the symbol's smallest step is skipped, not sent as 0."""
    snap = _snap(USDT=("0", "1000", "0"), BTC=("1", "0", "0"))
    skip = plan_action("reduce", {"amount": D("0.0000004")}, snap, {"BTC": PRICE}, "i")
    assert isinstance(skip, Skip) and "rounds to 0 at the 6 decimals" in skip.reason


MMR = D("0.05")


def _rate_after(rate: D, debt_value: D, repaid_value: D, fee_value: D) -> D:
    """The risk model after an autoRepay trade: debt falls by what was repaid, equity only
    by the fee (``rate = debt × mmr / equity`` before)."""
    equity = debt_value * MMR / rate
    return (debt_value - repaid_value) * MMR / (equity - fee_value)


def test_target_long_sells_the_proportional_share() -> None:
    """Long (quote debt D): sells x with x·P·(1 − fee) ≈ D·(1 − target/riskRate), fee
    included; the rate after the autoRepay lands just under the target."""
    debt, rate, target = D(10000), D("0.8"), D("0.5")
    snap = _snap(rate=str(rate), USDT=("0", str(debt), "0"), BTC=("1", "0", "0"))
    plan = _plan(snap, {"target_risk_rate": target})
    assert plan.side == "sell" and plan.coin == "BTC" and plan.amount is not None
    value = plan.amount * PRICE
    after = _rate_after(rate, debt, value * (1 - FEE), value * FEE)
    assert D("0.495") < after < target


def test_target_short_buys_the_proportional_share() -> None:
    """Short (base debt): buys base for quoteAmount ≈ debt value × (1 − target/riskRate),
    fee included; the rate after lands just under the target."""
    debt, rate, target = D("0.5"), D("0.9"), D("0.5")
    snap = _snap(rate=str(rate), USDT=("20000", "0", "0"), BTC=("0", str(debt), "0"))
    plan = _plan(snap, {"target_risk_rate": target})
    assert plan.side == "buy" and plan.coin == "USDT" and plan.amount is not None
    after = _rate_after(rate, debt * PRICE, plan.amount * (1 - FEE), plan.amount * FEE)
    assert D("0.495") < after < target


def test_target_without_fee_or_tier_is_the_plain_proportion() -> None:
    """With no known fee (or no tier rate) the share is D·(1 − target/riskRate) plus slack."""
    rule = SymbolTradeRule(quantity_scale=8)
    snap = _snap(rate="0.8", rule=rule, USDT=("0", "10000", "0"), BTC=("1", "0", "0"))
    plan = _plan(snap, {"target_risk_rate": D("0.5")})
    assert plan.amount == quantize_down(D(3750) / PRICE * REDUCE_SLACK)


def test_target_capped_by_available_and_whole_debt() -> None:
    """The order never spends more than is available, nor much more than repays the debt."""
    poor = _snap(rate="0.95", USDT=("0", "10000", "0"), BTC=("0.01", "0", "0"))
    assert _plan(poor, {"target_risk_rate": D("0.5")}).amount == D("0.01")
    rich = _snap(rate="0.95", USDT=("0", "100", "0"), BTC=("1", "0", "0"))
    whole = _plan(rich).amount
    assert whole is not None and _plan(rich, {"target_risk_rate": D(0)}).amount == whole
    assert whole * PRICE * (1 - FEE) < D(100) * D("1.01")


def test_target_at_or_above_risk_rate_is_skipped() -> None:
    """riskRate already at or below the target: nothing is sent."""
    snap = _snap(rate="0.5", USDT=("0", "1000", "0"), BTC=("1", "0", "0"))
    skip = plan_action("reduce", {"target_risk_rate": D("0.5")}, snap, {"BTC": PRICE}, "i")
    assert isinstance(skip, Skip) and "already at or below target" in skip.reason


def test_target_without_debt_or_price_is_skipped() -> None:
    """No debt to repay, or no price to size the order: skipped with the reason."""
    calm = _snap(USDT=("10", "0", "0"), BTC=("1", "0", "0"))
    skip = plan_action("reduce", {"target_risk_rate": D("0.5")}, calm, {"BTC": PRICE}, "i")
    assert isinstance(skip, Skip) and "no USDT debt" in skip.reason
    owed = _snap(USDT=("0", "1000", "0"), BTC=("1", "0", "0"))
    skip = plan_action("reduce", {"target_risk_rate": D("0.5")}, owed, {}, "i")
    assert isinstance(skip, Skip) and "BTC price" in skip.reason


def test_target_with_several_debts_uses_the_risk_model() -> None:
    """Cross with two debts: the USDT share comes from the risk model's valuation."""
    snap = _snap(
        rate="0.5",
        scope="cross",
        USDT=("0", "10000", "0"),
        BTC=("1", "0", "0"),
        ETH=("0", "1", "0"),
    )
    prices = {"BTC": PRICE, "ETH": D(2000)}
    params = {"symbol": "BTCUSDT", "target_risk_rate": D("0.05")}
    plan = plan_action("reduce", params, snap, prices, "i")
    assert isinstance(plan, ActionPlan) and plan.side == "sell"
    # assets 20000, debts 12000 → equity 8000, Σ debt × mmr = 600: repaying x USDT leaves
    # (600 − 0.05 x) / 8000 = 0.05 at x = 4000 (the proportion would say 9000).
    # The fee's cost to equity is made up for: × mmr / (mmr − target × fee / (1 − fee)).
    drag = D("0.05") * FEE / (1 - FEE)
    units = D(4000) * MMR / (MMR - drag)
    assert plan.amount == quantize_down(units / PRICE * REDUCE_SLACK / (1 - FEE), 6)


def test_amount_and_target_together_are_refused() -> None:
    """amount and target_risk_rate together are a bad request, not a guess."""
    snap = _snap(USDT=("0", "1000", "0"), BTC=("1", "0", "0"))
    with pytest.raises(ValueError, match="not both"):
        plan_action("reduce", {"amount": "0.1", "target_risk_rate": "0.5"}, snap, {}, "i")


def test_lowered_by_a_cap_stays_on_the_symbol_scale() -> None:
    """A reduce lowered to fit a cap is rounded down again to the symbol's decimals."""
    snap = _snap(USDT=("0", "1000", "0"), BTC=("1", "0", "0"))
    plan = _plan(snap).with_legs({"BTC": D("0.0123456789")})
    assert plan.amount == D("0.012345") and dict(plan.legs) == {"BTC": D("0.012345")}


def test_largest_order_caps_the_quantity() -> None:
    """A sell never exceeds the symbol's maxTradeAmount."""
    rule = SymbolTradeRule(quantity_scale=4, max_trade_amount=D("0.5"))
    snap = _snap(rule=rule, USDT=("0", "100000", "0"), BTC=("10", "0", "0"))
    assert _plan(snap).amount == D("0.5")


def test_snapshots_carry_the_symbols_trade_rules() -> None:
    """Isolated snapshots carry their symbol's rules; cross the <COIN>USDT ones it holds."""
    info = SymbolInfo(
        "BTCUSDT",
        "BTC",
        "USDT",
        D("0.8"),
        D(1),
        quantity_scale=6,
        price_scale=2,
        min_trade_amount=D("0.0001"),
        min_trade_usdt=D(5),
        taker_fee_rate=FEE,
    )
    odd = SymbolInfo("ETHUSDT", "ETH", "USDT", D("0.8"), D(1), quantity_scale=-1)
    ref = Reference({"BTCUSDT": info, "ETHUSDT": odd})
    rows = [AssetRow("BTC", D(1), D(0), D(0), D(0), "BTCUSDT")]
    iso = isolated_snapshot("a", "BTCUSDT", rows, D(0), 0.0, ref, {})
    rule = iso.trade_rules["BTCUSDT"]
    assert (rule.quantity_scale, rule.price_scale, rule.min_trade_usdt) == (6, 2, D(5))
    cross_rows = [
        AssetRow("BTC", D(1), D(0), D(0), D(0)),
        AssetRow("ETH", D(1), D(0), D(0), D(0)),
        AssetRow("USDT", D(1), D(0), D(0), D(0)),
    ]
    cross = cross_snapshot("a", cross_rows, D(0), 0.0, ref, {})
    assert set(cross.trade_rules) == {"BTCUSDT", "ETHUSDT"}
    assert cross.trade_rules["ETHUSDT"].quantity_scale is None  # negative: unknown
    assert isolated_snapshot("a", "SOLUSDT", [], D(0), 0.0, ref, {}).trade_rules == {}
