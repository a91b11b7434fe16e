"""Orders against the index price: fills, fees, frozen balances, loanType semantics, lists."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

CROSS = "cross"


def order(**kw: str) -> dict[str, str]:
    base = {"symbol": "BTCUSDT", "loanType": "normal", "timeInForce": "gtc"}
    return base | kw


def market_buy(quote: str, **kw: str) -> dict[str, str]:
    return order(side="buy", orderType="market", quoteAmount=quote, **kw)


def limit(side: str, price: str, qty: str, **kw: str) -> dict[str, str]:
    return order(side=side, orderType="limit", price=price, baseQuantity=qty, **kw)


def bal(sim, coin: str, scope: str = CROSS):
    return sim.control.state("alice").scope(scope).balance(coin)


async def test_market_buy_fills_at_index_with_fee_in_base(api, alice, sim) -> None:
    """3000 USDT at 30000 buys 0.1 BTC minus a 0.1 % fee (0.0001 BTC)."""
    data = await api.data("cross_place_order", market_buy("3000", clientOid="m1"), alice)
    assert data["clientOid"] == "m1"
    assert bal(sim, "USDT").available == D(7000)
    assert bal(sim, "BTC").available == D("0.1") + D("0.0999")
    fills = await api.data("cross_fills", {"symbol": "BTCUSDT", "startTime": "1"}, alice)
    fill = fills["resultList"][0]
    assert fill["orderId"] == data["orderId"]
    assert (fill["fillPrice"], fill["fillQuantity"]) == ("30000.00000000", "0.10000000")
    assert (fill["fees"], fill["feeCcy"]) == ("0.00010000", "BTC")
    fins = (await api.data("cross_fin_flows", {"startTime": "1"}, alice))["resultList"]
    assert [f["marginType"] for f in fins[:2]] == ["deal_in", "deal_out"]


async def test_market_sell_fee_in_quote(api, alice, sim) -> None:
    """Selling 0.05 BTC at 30000 credits 1500 − 1.5 USDT."""
    await api.data(
        "cross_place_order", order(side="sell", orderType="market", baseQuantity="0.05"), alice
    )
    assert bal(sim, "USDT").available == D("11498.5")
    assert bal(sim, "BTC").available == D("0.05")


async def test_limit_order_rests_frozen_and_cancel_releases(api, alice, sim) -> None:
    """A non-crossing limit buy freezes qty × price of USDT; cancelling releases it."""
    data = await api.data("cross_place_order", limit("buy", "25000", "0.1"), alice)
    assert bal(sim, "USDT").frozen == D(2500)
    assert bal(sim, "USDT").available == D(7500)
    opened = await api.data("cross_open_orders", {"symbol": "BTCUSDT"}, alice)
    assert [o["orderId"] for o in opened["orderList"]] == [data["orderId"]]
    assert opened["orderList"][0]["status"] == "new"
    res = await api.data(
        "cross_cancel_order", {"symbol": "BTCUSDT", "orderId": data["orderId"]}, alice
    )
    assert res["resultList"][0]["orderId"] == data["orderId"] and res["failure"] == []
    assert bal(sim, "USDT").frozen == 0 and bal(sim, "USDT").available == D(10000)
    again = await api.data(
        "cross_cancel_order", {"symbol": "BTCUSDT", "orderId": data["orderId"]}, alice
    )
    assert again["resultList"] == [] and len(again["failure"]) == 1


async def test_limit_buy_fills_at_its_price_when_index_crosses(api, alice, sim) -> None:
    """The resting buy at 25000 fills at 25000 once the index falls to 24000."""
    await api.data("cross_place_order", limit("buy", "25000", "0.1"), alice)
    sim.control.set_price("BTCUSDT", D(24000))
    assert bal(sim, "USDT").frozen == 0
    assert bal(sim, "USDT").available == D(7500)
    assert bal(sim, "BTC").available == D("0.1") + D("0.0999")
    history = await api.data("cross_order_history", {"symbol": "BTCUSDT", "startTime": "1"}, alice)
    row = history["orderList"][0]
    assert row["status"] == "full_fill" and row["fillPrice"] == "25000.00000000"


async def test_limit_sell_fills_when_index_rises(api, alice, sim) -> None:
    """A resting sell at 35000 freezes BTC and fills when the index reaches it."""
    await api.data("cross_place_order", limit("sell", "35000", "0.05"), alice)
    assert bal(sim, "BTC").frozen == D("0.05")
    sim.control.set_price("BTCUSDT", D(36000))
    assert bal(sim, "BTC").frozen == 0
    assert bal(sim, "USDT").available == D(10000) + D(1750) - D("1.75")


async def test_crossing_limit_fills_at_index_as_taker(api, alice, sim) -> None:
    """A buy limit above the index fills at once at the index price."""
    await api.data("cross_place_order", limit("buy", "31000", "0.1"), alice)
    assert bal(sim, "USDT").available == D(7000)
    assert bal(sim, "USDT").frozen == 0


@pytest.mark.parametrize(
    ("price", "tif", "status"),
    [
        ("31000", "post_only", "cancelled"),
        ("25000", "ioc", "cancelled"),
        ("25000", "fok", "cancelled"),
        ("25000", "post_only", "new"),
        ("31000", "ioc", "full_fill"),
    ],
)
async def test_time_in_force(api, alice, price, tif, status) -> None:
    """post_only cancels when crossing; ioc/fok cancel when not crossing."""
    data = await api.data("cross_place_order", limit("buy", price, "0.01", timeInForce=tif), alice)
    history = await api.data("cross_order_history", {"symbol": "BTCUSDT", "startTime": "1"}, alice)
    row = next(o for o in history["orderList"] if o["orderId"] == data["orderId"])
    assert row["status"] == status


async def test_normal_order_without_balance_is_refused(api, alice) -> None:
    """loanType normal needs the balance: 50020 Insufficient balance."""
    status, code, _ = await api.error("cross_place_order", market_buy("10001"), alice)
    assert (status, code) == (400, "50020")


async def test_auto_loan_borrows_the_shortfall(api, alice, sim) -> None:
    """autoLoan borrows what is missing at placement (loan type autoLoan)."""
    await api.data("cross_place_order", market_buy("12000", loanType="autoLoan"), alice)
    usdt = bal(sim, "USDT")
    assert usdt.borrow == D(2000) and usdt.available == 0
    loans = (await api.data("cross_loans", {"startTime": "1"}, alice))["resultList"]
    assert loans[0]["type"] == "autoLoan" and loans[0]["amount"] == "2000.00000000"


async def test_auto_repay_uses_proceeds_for_the_debt(api, alice, sim) -> None:
    """autoRepay repays the received coin's debt after the fill (repay type autoRepay)."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "1000"}, alice)
    sell = order(side="sell", orderType="market", baseQuantity="0.05", loanType="autoRepay")
    await api.data("cross_place_order", sell, alice)
    usdt = bal(sim, "USDT")
    assert usdt.borrow == 0 and usdt.interest == 0
    repays = (await api.data("cross_repays", {"startTime": "1"}, alice))["resultList"]
    assert repays[0]["type"] == "autoRepay"


async def test_auto_loan_and_repay_does_both(api, alice, sim) -> None:
    """autoLoanAndRepay borrows BTC to sell short, then a buy back repays the BTC debt."""
    sell = order(side="sell", orderType="market", baseQuantity="0.2", loanType="autoLoanAndRepay")
    await api.data("cross_place_order", sell, alice)
    assert bal(sim, "BTC").borrow == D("0.1")
    await api.data("cross_place_order", market_buy("4000", loanType="autoLoanAndRepay"), alice)
    btc = bal(sim, "BTC")
    assert btc.borrow == 0 and btc.interest == 0


async def test_batch_place_reports_each_failure(api, alice) -> None:
    """A batch places what it can and lists the others under failure with the reason."""
    good = {
        k: v for k, v in limit("buy", "20000", "0.01", clientOid="ok1").items() if k != "symbol"
    }
    small = {
        k: v for k, v in limit("buy", "20000", "0.0001", clientOid="small").items() if k != "symbol"
    }
    data = await api.data(
        "cross_batch_place_order", {"symbol": "BTCUSDT", "orderList": [good, small]}, alice
    )
    assert [r["clientOid"] for r in data["resultList"]] == ["ok1"]
    assert data["failure"][0]["clientOid"] == "small"
    assert "minimum amount 5 USDT" in data["failure"][0]["errorMsg"]


async def test_batch_cancel(api, alice, sim) -> None:
    """Batch cancel cancels by orderIds and clientOids; unknown ones go to failure."""
    a = await api.data("isolated_place_order", limit("buy", "20000", "0.01"), alice)
    await api.data("isolated_place_order", limit("buy", "21000", "0.01", clientOid="b"), alice)
    data = await api.data(
        "isolated_batch_cancel_order",
        {"symbol": "BTCUSDT", "orderIds": [a["orderId"], "999"], "clientOids": ["b"]},
        alice,
    )
    assert len(data["resultList"]) == 2 and len(data["failure"]) == 1
    assert bal(sim, "USDT", "isolated:BTCUSDT").frozen == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (market_buy("4"), "45110"),
        (limit("buy", "20000", "0.00005"), "45111"),
        (limit("buy", "20000.123", "0.01"), "40020"),
        (limit("buy", "20000", "0.0000001"), "40020"),
        (order(side="hold", orderType="market", quoteAmount="10"), "40020"),
        (order(side="buy", orderType="stop", quoteAmount="10"), "40020"),
        (order(side="buy", orderType="market", quoteAmount="10", loanType="x"), "40020"),
        (order(side="buy", orderType="limit", baseQuantity="0.01"), "40019"),
        (order(side="buy", orderType="market"), "40019"),
        (limit("buy", "-1", "0.01"), "40020"),
        (market_buy("10", clientOid="x" * 41), "40020"),
    ],
)
async def test_order_validation_codes(api, alice, params, code) -> None:
    """Minimums, scales, enumerations and required fields get the document's codes."""
    status, got, _ = await api.error("cross_place_order", params, alice)
    assert (status, got) == (400, code)


async def test_duplicate_client_oid_is_refused(api, alice) -> None:
    """A clientOid already used by the account gets 50060."""
    await api.data("cross_place_order", limit("buy", "20000", "0.01", clientOid="dup"), alice)
    status, code, _ = await api.error(
        "cross_place_order", limit("buy", "20000", "0.01", clientOid="dup"), alice
    )
    assert (status, code) == (400, "50060")


async def test_history_and_fills_page_below_ids(api, alice) -> None:
    """Order history pages with minId and fills with lastFillId, newest first."""
    ids = []
    for _ in range(3):
        ids.append((await api.data("cross_place_order", market_buy("10"), alice))["orderId"])
    page = await api.data(
        "cross_order_history", {"symbol": "BTCUSDT", "startTime": "1", "pageSize": "2"}, alice
    )
    assert [o["orderId"] for o in page["orderList"]] == [ids[2], ids[1]]
    assert (page["maxId"], page["minId"]) == (ids[2], ids[1])
    rest = await api.data(
        "cross_order_history",
        {"symbol": "BTCUSDT", "startTime": "1", "minId": page["minId"]},
        alice,
    )
    assert [o["orderId"] for o in rest["orderList"]] == [ids[0]]
    fills = await api.data(
        "cross_fills", {"symbol": "BTCUSDT", "startTime": "1", "pageSize": "1"}, alice
    )
    older = await api.data(
        "cross_fills",
        {"symbol": "BTCUSDT", "startTime": "1", "lastFillId": fills["minId"]},
        alice,
    )
    assert [f["orderId"] for f in older["resultList"]] == [ids[1], ids[0]]


async def test_isolated_orders_stay_in_their_scope(api, alice, sim) -> None:
    """An isolated order spends the isolated balance, not the cross one."""
    await api.data("isolated_place_order", market_buy("1000"), alice)
    assert bal(sim, "USDT", "isolated:BTCUSDT").available == D(4000)
    assert bal(sim, "USDT").available == D(10000)
    cross_orders = await api.data(
        "cross_order_history", {"symbol": "BTCUSDT", "startTime": "1"}, alice
    )
    assert cross_orders["orderList"] == []
