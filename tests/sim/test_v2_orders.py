"""v2 orders: force/baseSize/quoteSize, clientOid idempotency and look-ups, batches, lists."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

V2: dict[str, Any] = {"api": "v2"}
SYM = {"symbol": "BTCUSDT"}
SINCE = {**SYM, "startTime": "1"}


def _limit_buy(client_oid: str, price: str = "20000") -> dict[str, str]:
    return {
        **SYM,
        "side": "buy",
        "orderType": "limit",
        "price": price,
        "baseSize": "0.01",
        "loanType": "normal",
        "force": "gtc",
        "clientOid": client_oid,
    }


async def test_place_with_client_oid_is_found_by_it_and_refused_twice(api, alice) -> None:
    """The clientOid finds the order in open orders; using it again is 50060."""
    placed = await api.data("cross_place_order", _limit_buy("o-1"), alice, **V2)
    assert placed["clientOid"] == "o-1" and placed["orderId"].isdigit()
    status, code, _ = await api.error("cross_place_order", _limit_buy("o-1"), alice, **V2)
    assert (status, code) == (400, "50060")
    found = await api.data("cross_open_orders", {**SINCE, "clientOid": "o-1"}, alice, **V2)
    assert [o["orderId"] for o in found["orderList"]] == [placed["orderId"]]
    row = found["orderList"][0]
    assert (row["status"], row["force"], row["baseSize"]) == ("live", "gtc", "0.01000000")
    assert (await api.error("cross_open_orders", SYM, alice, **V2))[1] == "40019"


async def test_cancel_by_client_oid_and_errors(api, alice) -> None:
    """Cancel by clientOid answers the ids; a second cancel is 50062, an unknown id 43001."""
    placed = await api.data("cross_place_order", _limit_buy("c-1"), alice, **V2)
    done = await api.data("cross_cancel_order", {**SYM, "clientOid": "c-1"}, alice, **V2)
    assert done == {"orderId": placed["orderId"], "clientOid": "c-1"}
    again = await api.error("cross_cancel_order", {**SYM, "clientOid": "c-1"}, alice, **V2)
    assert again[1] == "50062"
    unknown = await api.error("cross_cancel_order", {**SYM, "orderId": "1"}, alice, **V2)
    assert unknown[1] == "43001"
    history = await api.data("cross_order_history", SINCE, alice, **V2)
    assert history["orderList"][0]["status"] == "cancelled"


async def test_batch_place_and_cancel_with_object_lists(api, alice) -> None:
    """Batches answer successList/failureList; batch cancel takes {orderId}/{clientOid}."""
    good = {k: v for k, v in _limit_buy("b-1").items() if k != "symbol"}
    bad = {**good, "clientOid": "b-2", "force": "later"}
    body = {**SYM, "orderList": [good, bad]}
    out = await api.data("isolated_batch_place_order", body, alice, **V2)
    assert [o["clientOid"] for o in out["successList"]] == ["b-1"]
    assert out["failureList"][0]["clientOid"] == "b-2"
    ids = {**SYM, "orderIdList": [{"clientOid": "b-1"}, {"orderId": "42"}]}
    cancelled = await api.data("isolated_batch_cancel_order", ids, alice, **V2)
    assert [o["clientOid"] for o in cancelled["successList"]] == ["b-1"]
    assert cancelled["failureList"][0]["orderId"] == "42"
    many = {**SYM, "orderList": [good] * 21}
    assert (await api.error("isolated_batch_place_order", many, alice, **V2))[1] == "40306"


async def test_fills_and_history_page_by_id_less_than(api, alice) -> None:
    """Market orders fill; fills answer fills/feeDetail; history pages by idLessThan."""
    for _ in range(3):
        sell = {
            **SYM,
            "side": "sell",
            "orderType": "market",
            "baseSize": "0.01",
            "loanType": "normal",
            "force": "IOC",
        }
        await api.data("cross_place_order", sell, alice, **V2)
    fills = await api.data("cross_fills", {**SINCE, "limit": "2"}, alice, **V2)
    assert len(fills["fills"]) == 2 and fills["minId"] == fills["fills"][-1]["tradeId"]
    fee = fills["fills"][0]["feeDetail"]
    assert fee["feeCoin"] == "USDT" and D(fee["totalFee"]) < 0
    page1 = await api.data("cross_order_history", {**SINCE, "limit": "2"}, alice, **V2)
    assert all(o["status"] == "filled" for o in page1["orderList"])
    nxt = {**SINCE, "limit": "2", "idLessThan": page1["minId"]}
    page2 = await api.data("cross_order_history", nxt, alice, **V2)
    assert len(page2["orderList"]) == 1
    assert int(page2["maxId"]) < int(page1["minId"])
