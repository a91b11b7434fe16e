"""Planning: amounts capped by balance and debt, the interest floor, reduce sides."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.daemon.plans import ActionPlan, Skip, client_oid, plan_action
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot


def _snap(scope: str = "isolated:BTCUSDT", **coins: tuple[str, str, str, str]) -> ScopeSnapshot:
    balances = {c: CoinBalance(c, D(a), D(f), D(b), D(i)) for c, (a, f, b, i) in coins.items()}
    return ScopeSnapshot(
        account="alice",
        scope=scope,
        risk_rate=D("0.9"),
        balances=balances,
        observed_at=0.0,
        maintain_margin_rate={c: D("0.1") for c in coins},
        base_coin="BTC" if scope != "cross" else None,
        quote_coin="USDT" if scope != "cross" else None,
    )


def test_repay_capped_by_available_and_debt() -> None:
    """A repay never asks for more than is available nor more than is owed."""
    snap = _snap(USDT=("50", "0", "100", "1"), BTC=("1", "0", "0", "0"))
    plan = plan_action("repay", {"coin": "USDT", "amount": D(500)}, snap, {}, "i1")
    assert isinstance(plan, ActionPlan) and plan.amount == D(50)
    snap = _snap(USDT=("500", "0", "100", "1"))
    plan = plan_action("repay", {}, snap, {}, "i1")
    assert isinstance(plan, ActionPlan) and plan.coin == "USDT" and plan.amount == D(101)


def test_repay_raised_to_interest() -> None:
    """An amount below the interest is raised to it (the exchange refuses less: 50042)."""
    snap = _snap(USDT=("50", "0", "100", "2"))
    plan = plan_action("repay", {"coin": "USDT", "amount": "1"}, snap, {}, "i1")
    assert isinstance(plan, ActionPlan) and plan.amount == D(2)


def test_repay_skipped_when_available_below_interest() -> None:
    """With less available than the interest, nothing is sent and the reason says 50042."""
    snap = _snap(USDT=("1", "0", "100", "2"))
    skip = plan_action("repay", {"coin": "USDT"}, snap, {}, "i1")
    assert isinstance(skip, Skip) and "50042" in skip.reason


def test_repay_without_debt_skipped() -> None:
    """No debt: nothing to repay."""
    skip = plan_action("repay", {}, _snap(USDT=("10", "0", "0", "0")), {}, "i1")
    assert isinstance(skip, Skip) and "no debt" in skip.reason


def test_repay_target_uses_risk_math() -> None:
    """A target risk rate sizes the repayment with the risk model."""
    snap = _snap(USDT=("1000", "0", "900", "0"), BTC=("0.05", "0", "0", "0"))
    # assets 2000, liabilities 900, equity 1100, numerator 90 (rate 0.0818):
    # to reach 0.05 repay (90 - 0.05 × 1100) / 0.1 = 350 USDT.
    plan = plan_action("repay", {"coin": "USDT", "target": "0.05"}, snap, {"BTC": D(20000)}, "i")
    assert isinstance(plan, ActionPlan) and plan.amount == D(350)


def test_flash_repay_legs_are_debts() -> None:
    """A flash repay's legs (for caps) are the debts it will clear."""
    snap = _snap(USDT=("10", "0", "100", "1"), BTC=("1", "0", "0.1", "0"))
    plan = plan_action("flashRepay", {}, snap, {}, "i1")
    assert isinstance(plan, ActionPlan)
    assert dict(plan.legs) == {"USDT": D(101), "BTC": D("0.1")}
    assert plan.symbol == "BTCUSDT" and plan.coin is None


def test_reduce_sells_base_for_quote_debt_with_client_oid() -> None:
    """Quote debt: sell base (autoRepay) worth the debt plus slack, capped by what is held."""
    snap = _snap(USDT=("0", "0", "1000", "0"), BTC=("1", "0", "0", "0"))
    plan = plan_action("reduce", {}, snap, {"BTC": D(20000)}, "abc")
    assert isinstance(plan, ActionPlan)
    assert plan.side == "sell" and plan.coin == "BTC"
    assert plan.amount == D("0.05025")
    assert plan.client_oid == client_oid("abc") and len(plan.client_oid) <= 40


def test_reduce_buys_base_for_base_debt() -> None:
    """Base debt: buy base with quote."""
    snap = _snap(USDT=("5000", "0", "0", "0"), BTC=("0", "0", "0.1", "0"))
    plan = plan_action("reduce", {}, snap, {"BTC": D(20000)}, "abc")
    assert isinstance(plan, ActionPlan) and plan.side == "buy" and plan.coin == "USDT"
    assert plan.amount == D("2010.000")


def test_reduce_cross_needs_symbol() -> None:
    """On the cross account reduce needs a symbol."""
    snap = _snap("cross", USDT=("0", "0", "10", "0"), BTC=("1", "0", "0", "0"))
    assert isinstance(plan_action("reduce", {}, snap, {"BTC": D(1)}, "i"), Skip)
    plan = plan_action("reduce", {"symbol": "BTCUSDT"}, snap, {"BTC": D(100)}, "i")
    assert isinstance(plan, ActionPlan) and plan.symbol == "BTCUSDT"


def test_cancel_orders_symbols() -> None:
    """Isolated: the scope's symbol; cross: symbols of coins with frozen balances."""
    iso = plan_action("cancelOrders", {}, _snap(USDT=("0", "5", "1", "0")), {}, "i")
    assert isinstance(iso, ActionPlan) and iso.symbols == ("BTCUSDT",)
    cross = _snap("cross", USDT=("0", "5", "1", "0"), ETH=("0", "1", "0", "0"))
    plan = plan_action("cancelOrders", {}, cross, {}, "i")
    assert isinstance(plan, ActionPlan) and plan.symbols == ("ETHUSDT",)


def test_bad_parameters_raise() -> None:
    """Float or garbage amounts are refused with the parameter named."""
    snap = _snap(USDT=("50", "0", "100", "1"))
    with pytest.raises(ValueError, match="parameter amount"):
        plan_action("repay", {"amount": 1.5}, snap, {}, "i")
    with pytest.raises(ValueError, match="unknown action kind"):
        plan_action("explode", {}, snap, {}, "i")


def test_cancel_orders_covers_buy_orders_frozen_in_usdt() -> None:
    """Cross with frozen USDT (buy orders): the symbols of every coin held or owed are
    searched too; with no other coin to name, a Skip asks for params.symbol."""
    cross = _snap(
        "cross",
        USDT=("100", "50", "0", "0"),
        BTC=("0.1", "0", "0", "0"),
        ETH=("0", "0", "0.5", "0"),
        SOL=("0", "0", "0", "0"),
    )
    plan = plan_action("cancelOrders", {}, cross, {}, "i")
    assert isinstance(plan, ActionPlan) and plan.symbols == ("BTCUSDT", "ETHUSDT")
    alone = _snap("cross", USDT=("100", "50", "0", "0"))
    skip = plan_action("cancelOrders", {}, alone, {}, "i")
    assert isinstance(skip, Skip) and "params.symbol" in skip.reason
    calm = _snap("cross", USDT=("100", "0", "0", "0"), BTC=("0.1", "0", "0", "0"))
    assert isinstance(plan_action("cancelOrders", {}, calm, {}, "i"), Skip)


def test_a_uta_repay_journals_the_debt_it_was_decided_on() -> None:
    """A repay on the uta scope carries debtBefore (debt + interest) for reconciliation after
    a restart; a classic repay does not."""
    snap = _snap("uta", USDT=("500", "0", "100", "1"))
    plan = plan_action("repay", {"coin": "USDT"}, snap, {}, "i1")
    assert isinstance(plan, ActionPlan) and plan.params()["debtBefore"] == "101"
    classic = plan_action("repay", {"coin": "USDT"}, _snap(USDT=("500", "0", "100", "1")), {}, "i1")
    assert isinstance(classic, ActionPlan) and "debtBefore" not in classic.params()
