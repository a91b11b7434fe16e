"""v2 record lists: resultList/maxId/minId, limit + idLessThan paging, v2 field names."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

V2: dict[str, Any] = {"api": "v2"}
ISO = {"symbol": "BTCUSDT"}
NINETY_ONE_DAYS_MS = 91 * 24 * 3600 * 1000


async def _three_repays(api, keys) -> None:
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "3000"}, keys, **V2)
    for amount in ("100", "200", "300"):
        await api.data("cross_repay", {"coin": "USDT", "repayAmount": amount}, keys, **V2)


async def test_repay_history_pages_with_limit_and_id_less_than(api, alice) -> None:
    """limit=2 gives the two newest; idLessThan=minId gives the rest; then an empty page."""
    await _three_repays(api, alice)
    first = await api.data("cross_repays", {"startTime": "1", "limit": "2"}, alice, **V2)
    assert set(first) == {"resultList", "maxId", "minId"}
    amounts = [r["repayAmount"] for r in first["resultList"]]
    assert amounts == ["300.00000000", "200.00000000"]
    assert first["maxId"] == first["resultList"][0]["repayId"]
    assert first["minId"] == first["resultList"][1]["repayId"]
    cursor = {"startTime": "1", "limit": "2", "idLessThan": first["minId"]}
    second = await api.data("cross_repays", cursor, alice, **V2)
    assert [r["repayAmount"] for r in second["resultList"]] == ["100.00000000"]
    third = await api.data("cross_repays", {**cursor, "idLessThan": second["minId"]}, alice, **V2)
    assert third == {"resultList": [], "maxId": None, "minId": None}


async def test_history_needs_start_time_and_a_90_day_window(api, alice) -> None:
    """No startTime is 40019; a window over 90 days 40705; limit over 500 is 40020."""
    assert (await api.error("cross_repays", {}, alice, **V2))[1] == "40019"
    window = {"startTime": "1", "endTime": str(1 + NINETY_ONE_DAYS_MS)}
    assert (await api.error("cross_loans", window, alice, **V2))[1] == "40705"
    big = {"startTime": "1", "limit": "501"}
    assert (await api.error("cross_interests", big, alice, **V2))[1] == "40020"
    no_symbol = {"startTime": "1"}
    assert (await api.error("isolated_loans", no_symbol, alice, **V2))[1] == "40019"


async def test_v2_field_names_of_every_record_list(api, alice) -> None:
    """borrowType, interstType (sic), marginType and the ids are v2's names."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "50"}, alice, **V2)
    since = {"startTime": "1"}
    loan = (await api.data("cross_loans", since, alice, **V2))["resultList"][0]
    assert loan["borrowType"] == "manual_loan" and loan["borrowAmount"] == "50.00000000"
    interest = (await api.data("cross_interests", since, alice, **V2))["resultList"][0]
    assert interest["interstType"] == "first" and interest["loanCoin"] == "USDT"
    assert set(interest) >= {"interestId", "interestAmount", "dailyInterestRate", "uTime"}
    fin = await api.data("cross_fin_flows", {**since, "marginType": "borrow"}, alice, **V2)
    assert [r["marginType"] for r in fin["resultList"]] == ["borrow"]
    assert fin["resultList"][0]["marginId"] == fin["maxId"]
    iso = await api.data("isolated_fin_flows", {**since, **ISO}, alice, **V2)
    assert all(r["symbol"] == "BTCUSDT" for r in iso["resultList"]) and iso["resultList"]


async def test_liquidation_history_and_orders_after_a_forced_liquidation(api, alice, sim) -> None:
    """liqRiskRatio ≥ 1 in resultList; liquidation-order lists the sells with idLessThan."""
    await api.data("isolated_borrow", {**ISO, "coin": "USDT", "borrowAmount": "20000"}, alice)
    buy = {
        **ISO,
        "side": "buy",
        "orderType": "market",
        "quoteSize": "20000",
        "loanType": "normal",
        "force": "GTC",
    }
    await api.data("isolated_place_order", buy, alice, **V2)
    sim.control.set_price("BTCUSDT", D(22000))
    liq = await api.data("isolated_liquidations", {**ISO, "startTime": "1"}, alice, **V2)
    row = liq["resultList"][0]
    assert D(row["liqRiskRatio"]) >= 1 and row["liqId"] == liq["maxId"]
    assert set(row) >= {"liqStartTime", "liqEndTime", "totalAssets", "totalDebt", "liqFee"}
    orders = await api.data("isolated_liquidation_orders", {"startTime": "1"}, alice, **V2)
    assert set(orders) == {"resultList", "idLessThan"}
    assert orders["resultList"] and all(
        o["side"] == "liquidation-sell" for o in orders["resultList"]
    )
    assert orders["idLessThan"] == orders["resultList"][-1]["orderId"]
    cross = await api.data("cross_liquidation_orders", {"startTime": "1"}, alice, **V2)
    assert cross == {"resultList": [], "idLessThan": None}
