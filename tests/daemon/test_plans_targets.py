"""Sizing to a distance target, and the legs of a cross reduce that names no coin."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from riskd.daemon import plans
from riskd.daemon.plans import ActionPlan, plan_action
from riskd.risk import derived
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot, SymbolTradeRule
from riskd.rules import sizing as rule_sizing
from riskd.sizing import ActionKind, Skip
from riskd.sizing.targets import after_trade, units_for_targets

MMR = D("0.1")


def _bal(coin: str, available: str = "0", borrow: str = "0") -> CoinBalance:
    return CoinBalance(coin, D(available), D(0), D(borrow), D(0))


def _snap(scope: str, rate: str, prices: dict[str, D], *balances: CoinBalance) -> ScopeSnapshot:
    isolated = scope != "cross"
    return ScopeSnapshot(
        account="a",
        scope=scope,
        risk_rate=D(rate),
        balances={b.coin: b for b in balances},
        observed_at=0.0,
        maintain_margin_rate={b.coin: MMR for b in balances},
        prices_usdt=prices,
        base_coin="BTC" if isolated else None,
        quote_coin="USDT" if isolated else None,
    )


def _long() -> ScopeSnapshot:
    return _snap(
        "isolated:BTCUSDT",
        "0.4",
        {"BTC": D(27000)},
        _bal("BTC", "0.5"),
        _bal("USDT", borrow="11000"),
    )


def test_the_plan_and_the_rule_engine_share_one_skip_and_one_kind() -> None:
    """One Skip type and one ActionKind serve the rules engine and the daemon's plans."""
    assert plans.Skip is rule_sizing.Skip is Skip
    assert plans.ActionKind is ActionKind
    assert Skip("x") == Skip("x") and Skip("x").reason == "x"


def test_reduce_to_a_distance_sells_just_enough() -> None:
    """A reduce with target_distance sells what restores that distance, and not much more."""
    snap = _long()
    before = derived.min_distance_to_liquidation(snap)
    plan = plan_action("reduce", {"target_distance": D("0.15")}, snap, {"BTC": D(27000)}, "i")
    assert isinstance(plan, ActionPlan) and plan.side == "sell" and plan.amount is not None
    assert before < D("0.15")
    sold = plan.amount * D(27000)
    after = derived.min_distance_to_liquidation(after_trade(snap, "USDT", "BTC", sold))
    assert D("0.15") <= after < D("0.16")


def test_a_crumb_of_free_quote_goes_with_the_trade_not_as_its_own_repay() -> None:
    """0.00000264 USDT free of an 11 000 debt: the reduce sells at once (its autoRepay takes
    the crumb) instead of spending a call on repaying it first; 500 USDT free is repaid first."""
    prices = {"BTC": D(27000)}
    crumb = _snap("isolated:BTCUSDT", "0.4", prices, _bal("BTC", "0.5"),
                  _bal("USDT", "0.00000264", "11000"))  # fmt: skip
    plan = plan_action("reduce", {"target_distance": D("0.15")}, crumb, prices, "i")
    assert isinstance(plan, ActionPlan) and plan.kind is ActionKind.REDUCE and plan.side == "sell"
    free = replace(crumb, balances={**crumb.balances, "USDT": _bal("USDT", "500", "11000")})
    first = plan_action("reduce", {"target_distance": D("0.15")}, free, prices, "i")
    assert isinstance(first, ActionPlan) and first.kind is ActionKind.REPAY
    assert first.amount == D(500)


def test_distance_target_already_met_is_skipped() -> None:
    """A distance the scope already has leaves nothing to do, and says so."""
    plan = plan_action("reduce", {"target_distance": D("0.01")}, _long(), {}, "i")
    assert isinstance(plan, Skip) and "already" in plan.reason


def test_units_for_both_targets_take_the_larger() -> None:
    """With a rate and a distance target, the amount meets both."""
    snap = _long()
    by_rate, _ = units_for_targets(snap, "USDT", "BTC", rate=D("0.3"), distance=None)
    by_distance, _ = units_for_targets(snap, "USDT", "BTC", rate=None, distance=D("0.2"))
    both, sizing = units_for_targets(snap, "USDT", "BTC", rate=D("0.3"), distance=D("0.2"))
    assert both == max(by_rate, by_distance)
    assert sizing in ("proportional", "distance")


def _cross(usdt: str, *, owe_usdt: bool = False) -> ScopeSnapshot:
    if owe_usdt:
        return _snap(
            "cross",
            "0.6",
            {"BTC": D(30000), "ETH": D(2000)},
            _bal("USDT", borrow="20000"),
            _bal("BTC", "0.5"),
            _bal("ETH", "5"),
        )
    return _snap(
        "cross",
        "0.6",
        {"BTC": D(30000), "ETH": D(2000)},
        _bal("BTC", borrow="1"),
        _bal("USDT", usdt),
        _bal("ETH", "3"),
    )


def test_any_coin_owed_usdt_sells_the_largest_holding() -> None:
    """reduce symbol="*" with USDT owed sells the coin held for the most value."""
    plan = plan_action(
        "reduce", {"symbol": "*", "target_distance": D("0.3")}, _cross("0", owe_usdt=True), {}, "i"
    )
    assert isinstance(plan, ActionPlan)
    assert (plan.kind, plan.symbol, plan.side, plan.coin) == ("reduce", "BTCUSDT", "sell", "BTC")


def test_any_coin_short_is_bought_back_with_free_usdt() -> None:
    """reduce symbol="*" with BTC owed and USDT free buys BTC back (autoRepay repays it)."""
    snap = _cross("33000")
    plan = plan_action("reduce", {"symbol": "*", "target_distance": D("0.3")}, snap, {}, "i")
    assert isinstance(plan, ActionPlan)
    assert (plan.symbol, plan.side, plan.coin) == ("BTCUSDT", "buy", "USDT")
    # Only what the target needs: far less than the whole short.
    assert plan.amount is not None and plan.amount < D(30000)


def test_any_coin_short_without_usdt_first_sells_collateral_for_it() -> None:
    """With no free USDT, the first leg sells another coin for the USDT the buy-back needs."""
    snap = _snap(
        "cross",
        "0.6",
        {"BTC": D(30000), "ETH": D(2000)},
        _bal("BTC", borrow="1"),
        _bal("ETH", "19"),
    )
    plan = plan_action("reduce", {"symbol": "*", "target_distance": D("0.3")}, snap, {}, "i")
    assert isinstance(plan, ActionPlan)
    assert (plan.symbol, plan.side, plan.coin) == ("ETHUSDT", "sell", "ETH")


def test_an_order_over_max_trade_amount_is_split_and_says_so() -> None:
    """An order cut at the symbol's maxTradeAmount carries a note and is marked limited."""
    rule = SymbolTradeRule(max_trade_amount=D("0.1"))
    snap = replace(_long(), trade_rules={"BTCUSDT": rule})
    plan = plan_action("reduce", {"target_distance": D("0.3")}, snap, {}, "i")
    assert isinstance(plan, ActionPlan)
    assert plan.amount == D("0.1") and plan.limited
    assert plan.note is not None and "maxTradeAmount" in plan.note


def test_with_batch_orders_the_whole_need_goes_in_one_call() -> None:
    """Where the exchange takes batch orders, the same need is one plan of even orders of at
    most maxTradeAmount (one clientOid each, all journaled), not a first leg of 0.1."""
    rule = SymbolTradeRule(max_trade_amount=D("0.1"))
    snap = replace(_long(), trade_rules={"BTCUSDT": rule})
    legs = plan_action("reduce", {"target_distance": D("0.3")}, snap, {}, "i")
    plan = plan_action("reduce", {"target_distance": D("0.3")}, snap, {}, "i", batch=True)
    assert isinstance(plan, ActionPlan) and isinstance(legs, ActionPlan)
    pieces = plan.order_amounts()
    assert len(pieces) > 1 and all(p <= D("0.1") for p in pieces)
    assert plan.amount is not None and legs.amount is not None and plan.amount > legs.amount
    assert not plan.limited and plan.note is not None and "maxTradeAmount" in plan.note
    params = plan.params()
    assert params["clientOids"].split(",") == list(plan.client_oids())
    assert len(set(plan.client_oids())) == len(pieces)
    assert f"as {len(pieces)} orders in one batch" in plan.describe()


def test_a_need_over_ten_pieces_leaves_the_rest_for_the_next_call() -> None:
    """Ten orders is one batch (one request in the window): more is marked limited."""
    rule = SymbolTradeRule(max_trade_amount=D("0.001"))
    snap = replace(_long(), trade_rules={"BTCUSDT": rule})
    plan = plan_action("reduce", {"target_distance": D("0.3")}, snap, {}, "i", batch=True)
    assert isinstance(plan, ActionPlan)
    assert plan.order_amounts() == (D("0.001"),) * 10 and plan.limited
    assert plan.note is not None and "the rest goes in the next call" in plan.note


def test_any_coin_without_a_price_says_so() -> None:
    """With no USDT price for the coin it would sell, the leg is skipped naming the coin."""
    snap = _snap("cross", "0.9", {}, _bal("USDT", borrow="20000"), _bal("SOL", "100"))
    plan = plan_action("reduce", {"symbol": "*", "target_risk_rate": D("0.5")}, snap, {}, "i")
    assert isinstance(plan, Skip) and "no USDT price for SOL" in plan.reason
