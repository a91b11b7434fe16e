"""Record lists: every balance change is recorded; ids increase; paging as the document says."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

START = {"startTime": "1"}


async def _borrow(api, keys, amount: str, coin: str = "USDT") -> None:
    await api.data("cross_borrow", {"coin": coin, "borrowAmount": amount}, keys)


async def test_funding_is_recorded_as_transfer_in(api, alice) -> None:
    """Set-up funding appears in the fin lists as transfer_in with the balance after it."""
    fins = (await api.data("cross_fin_flows", START | {"marginType": "transfer_in"}, alice))[
        "resultList"
    ]
    assert {f["coin"]: f["amount"] for f in fins} == {
        "USDT": "10000.00000000",
        "BTC": "0.10000000",
        "ETH": "1.50000000",
    }
    assert all(f["balance"] == f["amount"] and f["fee"] == "0.00000000" for f in fins)
    iso = (await api.data("isolated_fin_flows", START | {"symbol": "BTCUSDT"}, alice))["resultList"]
    assert {f["coin"] for f in iso} == {"USDT", "BTC"} and iso[0]["symbol"] == "BTCUSDT"


async def test_borrow_writes_loan_interest_and_fin_records(api, alice) -> None:
    """One borrow: a loan record (manualLoan), a 'first' interest record and a fin borrow."""
    await _borrow(api, alice, "100")
    loan = (await api.data("cross_loans", START, alice))["resultList"][0]
    assert loan["type"] == "manualLoan" and loan["amount"] == "100.00000000"
    assert loan["coin"] == "USDT" and loan["loanId"].isdigit()
    interest = (await api.data("cross_interests", START, alice))["resultList"][0]
    assert interest["type"] == "first" and interest["interestCoin"] == "USDT"
    fin = (await api.data("cross_fin_flows", START | {"marginType": "borrow"}, alice))["resultList"]
    assert fin[0]["amount"] == "100.00000000" and fin[0]["balance"] == "10100.00000000"


async def test_ids_increase_and_pages_go_below_page_id(api, alice) -> None:
    """Five loans page 2 by 2, newest first, each page below the previous minId."""
    for i in range(5):
        await _borrow(api, alice, str(10 + i))
    seen: list[str] = []
    page_id = None
    for expected in (2, 2, 1, 0):
        params = START | {"pageSize": "2"} | ({"pageId": page_id} if page_id else {})
        page = await api.data("cross_loans", params, alice)
        ids = [r["loanId"] for r in page["resultList"]]
        assert len(ids) == expected
        if ids:
            assert (page["maxId"], page["minId"]) == (ids[0], ids[-1])
            page_id = page["minId"]
        else:
            assert page["maxId"] is None and page["minId"] is None
        seen += ids
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)
    amounts = [r["amount"] for r in (await api.data("cross_loans", START, alice))["resultList"]]
    assert amounts == [f"{a}.00000000" for a in (14, 13, 12, 11, 10)]


async def test_default_page_size_is_100(api, alice) -> None:
    """Without pageSize a list returns at most 100 records."""
    for _ in range(105):
        await _borrow(api, alice, "1")
    page = await api.data("cross_loans", START, alice)
    assert len(page["resultList"]) == 100
    page = await api.data("cross_loans", START | {"pageSize": "500"}, alice)
    assert len(page["resultList"]) == 105


async def test_time_filters_use_market_time_ms(api, alice, sim, market) -> None:
    """startTime/endTime (ms of market time) bound the records."""
    t0 = market.now_ms()
    await _borrow(api, alice, "1")
    sim.control.advance(60)
    await _borrow(api, alice, "2")
    newer = await api.data("cross_loans", {"startTime": str(t0 + 1)}, alice)
    assert [r["amount"] for r in newer["resultList"]] == ["2.00000000"]
    older = await api.data("cross_loans", {"startTime": str(t0), "endTime": str(t0 + 1)}, alice)
    assert [r["amount"] for r in older["resultList"]] == ["1.00000000"]
    assert newer["resultList"][0]["cTime"] == str(t0 + 60_000)


async def test_filters_by_coin_and_id(api, alice) -> None:
    """coin and loanId / repayId narrow the lists."""
    await _borrow(api, alice, "1")
    await _borrow(api, alice, "0.01", coin="BTC")
    btc = await api.data("cross_loans", START | {"coin": "BTC"}, alice)
    assert [r["coin"] for r in btc["resultList"]] == ["BTC"]
    one = await api.data("cross_loans", START | {"loanId": btc["maxId"]}, alice)
    assert len(one["resultList"]) == 1
    await api.data("cross_repay", {"coin": "USDT", "repayAmount": "1.5"}, alice)
    rep = await api.data("cross_repays", START, alice)
    by_id = await api.data("cross_repays", START | {"repayId": rep["maxId"]}, alice)
    assert by_id["resultList"] == rep["resultList"]


async def test_scheduled_interest_records(api, alice, sim) -> None:
    """Each hour of debt leaves a 'scheduled' interest record at the hour's market time."""
    await _borrow(api, alice, "2400")
    sim.control.advance(2 * 3600)
    rows = (await api.data("cross_interests", START, alice))["resultList"]
    assert [r["type"] for r in rows] == ["scheduled", "scheduled", "first"]
    assert all(D(r["amount"]) == D("0.02") for r in rows)
    assert int(rows[0]["cTime"]) - int(rows[1]["cTime"]) == 3_600_000


async def test_isolated_lists_are_per_symbol(api, alice) -> None:
    """Isolated lists need their symbol and show only its records."""
    await api.data(
        "isolated_borrow", {"coin": "USDT", "borrowAmount": "5", "symbol": "ETHUSDT"}, alice
    )
    btc = await api.data("isolated_loans", START | {"symbol": "BTCUSDT"}, alice)
    eth = await api.data("isolated_loans", START | {"symbol": "ETHUSDT"}, alice)
    assert btc["resultList"] == [] and eth["resultList"][0]["symbol"] == "ETHUSDT"


@pytest.mark.parametrize("name", ["cross_liquidations", "isolated_liquidations"])
async def test_liquidation_lists_put_ids_beside_a_bare_array(api, alice, name) -> None:
    """Liquidation lists: data is an array; maxId/minId are top-level keys, as documented."""
    body = (await api.call(name, START, alice)).json()
    assert body["data"] == [] and "maxId" in body and "minId" in body
    assert body["code"] == "00000"


async def test_every_balance_change_is_in_fin(api, alice, sim) -> None:
    """Sum of fin amounts per coin equals the coin's total balance (nothing unrecorded)."""
    await _borrow(api, alice, "500")
    order = {
        "symbol": "BTCUSDT",
        "side": "buy",
        "orderType": "market",
        "quoteAmount": "600",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    await api.data("cross_place_order", order, alice)
    sim.control.advance(3600)
    await api.data("cross_repay", {"coin": "USDT", "repayAmount": "200"}, alice)
    fins = (await api.data("cross_fin_flows", START | {"pageSize": "500"}, alice))["resultList"]
    scope = sim.control.state("alice").scope("cross")
    for coin in ("USDT", "BTC", "ETH"):
        total = sum((D(f["amount"]) for f in fins if f["coin"] == coin), D(0))
        b = scope.balance(coin)
        assert total == b.available + b.frozen, coin
