"""Risk rate against hand-computed values, and forced liquidation at 1.0."""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as D

from riskd.sim.liquidation import FEE_RATE

Q8 = D("0.00000001")
ISO = {"symbol": "BTCUSDT"}


def q8(x: D) -> str:
    return str(x.quantize(Q8, rounding=ROUND_DOWN))


async def test_no_debt_means_risk_rate_zero(api, alice) -> None:
    """Without debt both risk rate endpoints answer 0."""
    assert await api.data("cross_risk_rate", {"coin": "USDT"}, alice) == {"riskRate": "0.00000000"}
    assert await api.data("isolated_risk_rate", ISO, alice) == [
        {"symbol": "BTCUSDT", "riskRate": "0.00000000"}
    ]


async def test_cross_risk_rate_matches_hand_computation(api, alice, sim) -> None:
    """Cross: 30000 USDT debt (+0.25 interest), mmr 0.10, equity 15999.75 → 3000.025/15999.75."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "30000"}, alice)
    rate = (await api.data("cross_risk_rate", {"coin": "BTC"}, alice))["riskRate"]
    assert rate == q8(D("3000.025") / D("15999.75"))
    sim.control.set_price("BTCUSDT", D(15000))  # BTC 0.1 now worth 1500: equity 14499.75
    rate = (await api.data("cross_risk_rate", {"coin": "USDT"}, alice))["riskRate"]
    assert rate == q8(D("3000.025") / D("14499.75"))


async def test_isolated_risk_rate_for_a_borrowed_base(api, alice) -> None:
    """Isolated short: 0.5 BTC debt (+0.00000103) at 30000, mmr 0.05, assets 5000 + 0.55 BTC."""
    params = {"coin": "BTC", "borrowAmount": "0.5", "symbol": "BTCUSDT"}
    await api.data("isolated_borrow", params, alice)
    liability = D("0.50000103") * 30000
    assets = D(5000) + D("0.55") * 30000
    expected = liability * D("0.05") / (assets - liability)
    got = await api.data("isolated_risk_rate", ISO, alice)
    assert got == [{"symbol": "BTCUSDT", "riskRate": q8(expected)}]


async def _leveraged_long(api, keys) -> None:
    """Isolated BTCUSDT: borrow the tier's 20000 USDT and buy BTC with it."""
    await api.data("isolated_borrow", {"coin": "USDT", "borrowAmount": "20000", **ISO}, keys)
    order = {
        **ISO,
        "side": "buy",
        "orderType": "market",
        "quoteAmount": "20000",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    await api.data("isolated_place_order", order, keys)


async def test_below_the_ratio_nothing_happens(api, alice, sim) -> None:
    """A drop that leaves the rate below 1.0 liquidates nothing."""
    await _leveraged_long(api, alice)
    sim.control.set_price("BTCUSDT", D(22600))
    state = sim.control.state("alice")
    assert D("0.8") < state.risk_rate("isolated:BTCUSDT") < 1
    assert state.liquidations == ()


async def test_forced_liquidation_at_1_brings_rate_near_half(api, alice, sim) -> None:
    """At riskRate ≥ 1 the scope is liquidated back to about 0.5, with fee and records."""
    await _leveraged_long(api, alice)
    resting = {
        **ISO,
        "side": "sell",
        "orderType": "limit",
        "price": "40000",
        "baseQuantity": "0.01",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    await api.data("isolated_place_order", resting, alice)
    sim.control.set_price("BTCUSDT", D(22000))
    state = sim.control.state("alice")
    scope = state.scope("isolated:BTCUSDT")
    assert len(state.liquidations) == 1
    liq = state.liquidations[0]
    assert liq.risk_rate >= 1
    assert D("0.4") <= scope.risk_rate <= D("0.55")
    assert scope.open_orders == ()
    assert scope.balance("BTC").frozen == 0

    listing = await api.call("isolated_liquidations", {"startTime": "1"}, alice)
    body = listing.json()
    assert isinstance(body["data"], list) and body["maxId"] == body["minId"]
    rec = body["data"][0]
    assert rec["liqId"] == body["maxId"] and rec["symbol"] == "BTCUSDT"
    assert D(rec["liqRisk"]) >= 1 and D(rec["totalDebt"]) > 20000

    repays = (await api.data("isolated_repays", {**ISO, "startTime": "1"}, alice))["resultList"]
    liq_repays = [r for r in repays if r["type"] == "liqRepay"]
    assert liq_repays
    expected_fee = sum((D(r["totalAmount"]) * FEE_RATE).quantize(Q8) for r in liq_repays)
    assert D(rec["LiqFee"]) == expected_fee > 0
    fins = (await api.data("isolated_fin_flows", {**ISO, "startTime": "1"}, alice))["resultList"]
    fee_rows = [f for f in fins if f["marginType"] == "liquidation_fee"]
    assert sum(-D(f["amount"]) for f in fee_rows) == expected_fee
    history = (await api.data("isolated_order_history", {**ISO, "startTime": "1"}, alice))[
        "orderList"
    ]
    sells = [o for o in history if o["side"] == "liquidation-sell"]
    assert sells and all(o["source"] == "SYS" and o["status"] == "full_fill" for o in sells)
    cancelled = [o for o in history if o["price"] == "40000.00000000"]
    assert cancelled[0]["status"] == "cancelled"
    assert sim.stats.liquidations == 1


async def test_bust_account_is_closed_out_and_written_off(api, alice, sim) -> None:
    """When net assets go negative, everything is sold and the risk fund covers the rest."""
    await _leveraged_long(api, alice)
    sim.control.set_price("BTCUSDT", D(3000))
    state = sim.control.state("alice")
    scope = state.scope("isolated:BTCUSDT")
    assert scope.liabilities_usdt == 0
    assert scope.risk_rate == 0
    fins = (await api.data("isolated_fin_flows", {**ISO, "startTime": "1"}, alice))["resultList"]
    assert any(f["marginType"] == "compensate" for f in fins)
    liq = (await api.call("isolated_liquidations", {"startTime": "1"}, alice)).json()["data"][0]
    assert D(liq["liqRisk"]) >= 1


async def test_cross_liquidation_with_several_coins(api, alice, sim) -> None:
    """Cross: a 3x long in ETH is liquidated when ETH falls, selling ETH first."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "32000"}, alice)
    order = {
        "symbol": "ETHUSDT",
        "side": "buy",
        "orderType": "market",
        "quoteAmount": "42000",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    await api.data("cross_place_order", order, alice)
    sim.control.set_price("ETHUSDT", D(1420))
    state = sim.control.state("alice")
    assert len(state.liquidations) == 1
    assert D("0.4") <= state.risk_rate("cross") <= D("0.55")
    history = await api.data("cross_order_history", {"symbol": "ETHUSDT", "startTime": "1"}, alice)
    assert any(o["side"] == "liquidation-sell" for o in history["orderList"])
    liq = (await api.call("cross_liquidations", {"startTime": "1"}, alice)).json()
    assert "symbol" not in liq["data"][0]
