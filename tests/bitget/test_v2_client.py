"""The client on API v2: same methods and models as v1, v2 paths, names, paging and shapes."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import httpx
import pytest

from riskd.bitget.endpoints import endpoint
from riskd.bitget.errors import MalformedResponseError
from riskd.bitget.models_orders import OrderRequest

from .conftest import FakeExchange, ok

V2 = "/api/v2/margin"


def _body(request: httpx.Request) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(request.content)
    return out


def _query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


async def test_cross_risk_rate_reads_risk_rate_ratio_without_a_coin(fake: FakeExchange) -> None:
    """v2 cross risk rate is a GET with no coin; riskRateRatio becomes risk_rate."""
    fake.on(f"{V2}/crossed/account/risk-rate", ok({"riskRateRatio": "0.25"}))
    async with fake.client(api="v2") as c:
        rate = await c.cross_risk_rate()
    assert rate.risk_rate == D("0.25")
    (req,) = fake.calls(f"{V2}/crossed/account/risk-rate")
    assert req.method == "GET" and not req.url.query


async def test_cross_risk_rate_accepts_a_one_row_list(fake: FakeExchange) -> None:
    """One v2 page shows the cross rate as a list of one row: read as that row."""
    fake.on(f"{V2}/crossed/account/risk-rate", ok([{"symbol": "", "riskRateRatio": "0.5"}]))
    async with fake.client(api="v2") as c:
        assert (await c.cross_risk_rate()).risk_rate == D("0.5")


async def test_missing_risk_rate_ratio_names_endpoint_and_field(fake: FakeExchange) -> None:
    """An answer without riskRateRatio is malformed; the error names the path and field."""
    fake.on(f"{V2}/crossed/account/risk-rate", ok({"ratio": "0.5"}))
    async with fake.client(api="v2") as c:
        with pytest.raises(MalformedResponseError) as info:
            await c.cross_risk_rate()
    text = str(info.value)
    assert "/api/v2/margin/crossed/account/risk-rate" in text and "riskRateRatio" in text


async def test_list_where_an_object_was_expected_is_malformed(fake: FakeExchange) -> None:
    """A borrow answered with a list is refused naming the endpoint, outcome unknown."""
    fake.on(f"{V2}/crossed/account/borrow", ok([{"loanId": "1"}, {"loanId": "2"}]))
    async with fake.client(api="v2") as c:
        with pytest.raises(MalformedResponseError) as info:
            await c.cross_borrow(coin="USDT", borrow_amount=D(1))
    assert "cross_borrow" in str(info.value) and "list" in str(info.value)
    assert info.value.outcome_unknown


async def test_unknown_flash_repay_status_is_malformed(fake: FakeExchange) -> None:
    """A flash repay status outside BEGIN/REPAYING/FINISH is refused, naming the field."""
    fake.on(
        f"{V2}/crossed/account/query-flash-repay-status",
        ok([{"repayId": "9", "status": "HALF_DONE"}]),
    )
    async with fake.client(api="v2") as c:
        with pytest.raises(MalformedResponseError, match="status"):
            await c.cross_flash_repay_status(id_list=["9"])


async def test_unknown_order_status_is_malformed(fake: FakeExchange) -> None:
    """An order status no page documents is refused rather than guessed."""
    order = {"symbol": "BTCUSDT", "orderId": "1", "status": "exploded"}
    fake.on(f"{V2}/crossed/open-orders", ok({"orderList": [order], "maxId": "1", "minId": "1"}))
    async with fake.client(api="v2") as c:
        with pytest.raises(MalformedResponseError, match="status"):
            await c.cross_open_orders(symbol="BTCUSDT")


async def test_order_statuses_of_every_page_are_normalised(fake: FakeExchange) -> None:
    """live / partially_filled / filled read as v1's new / partial_fill / full_fill."""
    rows = [
        {"symbol": "BTCUSDT", "orderId": str(i), "status": s}
        for i, s in enumerate(("live", "partially_filled", "filled", "reject"))
    ]
    fake.on(f"{V2}/crossed/open-orders", ok({"orderList": rows, "maxId": "3", "minId": "0"}))
    async with fake.client(api="v2") as c:
        page = await c.cross_open_orders(symbol="BTCUSDT")
    assert [o.status for o in page.items] == ["new", "partial_fill", "full_fill", "rejected"]
    (req,) = fake.calls(f"{V2}/crossed/open-orders")
    assert "startTime" in _query(req)  # required on v2: 90 days back when not given


async def test_borrow_carries_a_client_oid_and_returns_the_loan_id(fake: FakeExchange) -> None:
    """Every v2 borrow carries a clientOid (generated when not given); loanId is kept."""
    fake.on(
        f"{V2}/crossed/account/borrow",
        ok({"loanId": "77", "coin": "USDT", "borrowAmount": "1"}),
    )
    async with fake.client(api="v2") as c:
        r = await c.cross_borrow(coin="USDT", borrow_amount=D(1))
        await c.cross_borrow(coin="USDT", borrow_amount=D(1), client_oid="riskd-1")
    assert r.loan_id == "77"
    first, second = (_body(q) for q in fake.calls(f"{V2}/crossed/account/borrow"))
    assert first["clientOid"].startswith("riskd-") and len(first["clientOid"]) <= 40
    assert second == {"coin": "USDT", "borrowAmount": "1", "clientOid": "riskd-1"}


async def test_isolated_repay_sends_client_oid_cross_repay_cannot(fake: FakeExchange) -> None:
    """Isolated repay carries clientOid; cross repay has none in v2; both return repayId."""
    answer = {"coin": "USDT", "repayId": "5", "remainDebtAmount": "0", "repayAmount": "2"}
    fake.on(f"{V2}/isolated/account/repay", ok({**answer, "symbol": "BTCUSDT"}))
    fake.on(f"{V2}/crossed/account/repay", ok(answer))
    async with fake.client(api="v2") as c:
        iso = await c.isolated_repay(
            symbol="BTCUSDT", coin="USDT", repay_amount=D(2), client_oid="riskd-abc"
        )
        cross = await c.cross_repay(coin="USDT", repay_amount=D(2))
    assert iso.repay_id == cross.repay_id == "5"
    (iso_req,) = fake.calls(f"{V2}/isolated/account/repay")
    (cross_req,) = fake.calls(f"{V2}/crossed/account/repay")
    assert _body(iso_req)["clientOid"] == "riskd-abc"
    assert "clientOid" not in _body(cross_req)


async def test_isolated_risk_rates_are_one_paged_get_for_every_symbol(fake: FakeExchange) -> None:
    """All isolated symbols' rates in one GET; a full page asks for the next pageNum."""
    full = [{"symbol": f"S{i:03}USDT", "riskRateRatio": "0.1"} for i in range(100)]
    fake.on(
        f"{V2}/isolated/account/risk-rate",
        ok(full),
        ok([{"symbol": "BTCUSDT", "riskRateRatio": "0.7"}]),
    )
    async with fake.client(api="v2") as c:
        rates = await c.isolated_risk_rates()
    assert len(rates) == 101 and rates["BTCUSDT"].risk_rate == D("0.7")
    reqs = fake.calls(f"{V2}/isolated/account/risk-rate")
    assert [_query(r)["pageNum"] for r in reqs] == ["1", "2"]
    assert all(r.method == "GET" and "symbol" not in _query(r) for r in reqs)


async def test_isolated_risk_rates_stop_once_every_wanted_symbol_is_seen(
    fake: FakeExchange,
) -> None:
    """Asking for a few symbols reads one page when they are all on it."""
    fake.on(
        f"{V2}/isolated/account/risk-rate",
        ok([{"symbol": f"S{i:03}USDT", "riskRateRatio": "0.1"} for i in range(100)]),
    )
    async with fake.client(api="v2") as c:
        rates = await c.isolated_risk_rates(symbols=["S001USDT", "S050USDT"])
    assert set(rates) == {"S001USDT", "S050USDT"}
    assert len(fake.calls(f"{V2}/isolated/account/risk-rate")) == 1


async def test_records_page_with_limit_and_id_less_than(fake: FakeExchange) -> None:
    """page_size → limit, the cursor → idLessThan = previous minId, inside resultList."""
    rec = {"coin": "USDT", "repayAmount": "3", "repayPrincipal": "2.9", "repayInterest": "0.1"}
    fake.on(
        f"{V2}/crossed/repay-history",
        ok({"resultList": [{**rec, "repayId": "9"}, {**rec, "repayId": "8"}], "minId": "8"}),
        ok({"resultList": [{**rec, "repayId": "7", "repayType": "auto_repay"}], "minId": "7"}),
        ok({"resultList": [], "maxId": None, "minId": None}),
    )
    async with fake.client(api="v2") as c:
        got = [r async for r in c.iter_records("cross_repays", start_time=1, page_size=2)]
    assert [r.repay_id for r in got] == ["9", "8", "7"]
    assert got[0].total_amount == D(3) and got[0].amount == D("2.9")
    assert got[2].type == "autoRepay"
    queries = [_query(r) for r in fake.calls(f"{V2}/crossed/repay-history")]
    assert [q.get("idLessThan") for q in queries] == [None, "8", "7"]
    assert all(q["limit"] == "2" and "pageSize" not in q for q in queries)


async def test_flash_repay_ids_and_symbol_list(fake: FakeExchange) -> None:
    """Cross flash repay: repayId (object or list); isolated: symbolList, per-pair result."""
    fake.on(f"{V2}/crossed/account/flash-repay", ok([{"repayId": "31", "coin": "USDT"}]))
    fake.on(
        f"{V2}/isolated/account/flash-repay",
        ok([{"repayId": "32", "symbol": "BTCUSDT", "result": "success"}]),
    )
    async with fake.client(api="v2") as c:
        cross = await c.cross_flash_repay(coin="USDT")
        (iso,) = await c.isolated_flash_repay(symbols=["BTCUSDT"])
    assert cross.id == "31" and (iso.id, iso.code) == ("32", "success")
    (req,) = fake.calls(f"{V2}/isolated/account/flash-repay")
    assert _body(req) == {"symbolList": ["BTCUSDT"]}


async def test_orders_are_sent_with_v2_names(fake: FakeExchange) -> None:
    """force / baseSize / quoteSize instead of timeInForce / baseQuantity / quoteAmount."""
    fake.on(f"{V2}/isolated/place-order", ok({"orderId": "1", "clientOid": "riskd-x"}))
    order = OrderRequest(
        side="sell", order_type="market", loan_type="autoRepay", base_quantity=D("0.01")
    )
    async with fake.client(api="v2") as c:
        await c.isolated_place_order(symbol="BTCUSDT", order=order)
    (req,) = fake.calls(f"{V2}/isolated/place-order")
    body = _body(req)
    assert body["baseSize"] == "0.01" and body["force"] == "gtc"
    assert "baseQuantity" not in body and body["clientOid"].startswith("riskd-")


async def test_batch_cancel_sends_a_list_of_id_objects(fake: FakeExchange) -> None:
    """order_ids become orderIdList [{orderId}]; successList/failureList are read."""
    fake.on(
        f"{V2}/crossed/batch-cancel-order",
        ok({"successList": [{"orderId": "1"}], "failureList": [{"orderId": "2", "errorMsg": "x"}]}),
    )
    async with fake.client(api="v2") as c:
        r = await c.cross_batch_cancel_order(symbol="BTCUSDT", order_ids=["1", "2"])
    assert [a.order_id for a in r.result_list] == ["1"] and r.failure[0].order_id == "2"
    (req,) = fake.calls(f"{V2}/crossed/batch-cancel-order")
    assert _body(req)["orderIdList"] == [{"orderId": "1"}, {"orderId": "2"}]


async def test_isolated_max_amounts_pick_the_coin_of_the_pair(fake: FakeExchange) -> None:
    """v2 answers both coins of the pair; the method returns the one asked for."""
    fake.on(
        f"{V2}/isolated/account/max-borrowable-amount",
        ok(
            {
                "symbol": "BTCUSDT",
                "baseCoin": "BTC",
                "baseCoinMaxBorrowAmount": "0.5",
                "quoteCoin": "USDT",
                "quoteCoinMaxBorrowAmount": "900",
            }
        ),
    )
    async with fake.client(api="v2") as c:
        usdt = await c.isolated_max_borrowable(symbol="BTCUSDT", coin="USDT")
        with pytest.raises(MalformedResponseError, match="ETH"):
            await c.isolated_max_borrowable(symbol="BTCUSDT", coin="ETH")
    assert usdt.max_borrowable_amount == D(900) and usdt.coin == "USDT"
    assert "coin" not in _query(fake.calls(f"{V2}/isolated/account/max-borrowable-amount")[0])


async def test_v2_server_time_sets_the_clock_offset(fake: FakeExchange) -> None:
    """The clock offset is measured from /api/v2/public/time ({serverTime})."""
    fake.server_offset_ms = 5_000
    fake.on(f"{V2}/crossed/account/risk-rate", ok({"riskRateRatio": "0"}))
    async with fake.client(api="v2") as c:
        await c.cross_risk_rate()
        assert c.server_clock.offset_ms == 5_000
    assert fake.calls("/api/v2/public/time") and not fake.calls("/api/spot/v1/public/time")


async def test_v1_keeps_its_own_shapes(fake: FakeExchange) -> None:
    """On v1 the cross rate is asked for USDT and a borrow sends no clientOid."""
    v1 = endpoint("cross_risk_rate", "v1").path
    fake.on(v1, ok({"riskRate": "0.2"}))
    fake.on(endpoint("cross_borrow").path, ok({"coin": "USDT", "borrowAmount": "1"}))
    async with fake.client() as c:
        assert (await c.cross_risk_rate()).risk_rate == D("0.2")
        await c.cross_borrow(coin="USDT", borrow_amount=D(1), client_oid="riskd-1")
    assert _query(fake.calls(v1)[0]) == {"coin": "USDT"}
    assert _body(fake.calls(endpoint("cross_borrow").path)[0]) == {
        "coin": "USDT",
        "borrowAmount": "1",
    }


async def test_v2_requests_match_the_reference_signature_vectors(fake: FakeExchange) -> None:
    """ENDPOINTS-v2.md §3 vectors: the risk-rate GET and the borrow POST sign identically."""
    fake.on(f"{V2}/crossed/account/risk-rate", ok({"riskRateRatio": "0"}))
    fake.on(
        f"{V2}/crossed/account/borrow", ok({"loanId": "1", "coin": "USDT", "borrowAmount": "1"})
    )
    async with fake.client(api="v2") as c:
        await c.cross_risk_rate()
        await c.cross_borrow(coin="USDT", borrow_amount=D(1), client_oid="riskd-1")
    (get,) = fake.calls(f"{V2}/crossed/account/risk-rate")
    (post,) = fake.calls(f"{V2}/crossed/account/borrow")
    assert get.headers["ACCESS-TIMESTAMP"] == "1700000000000"
    assert get.headers["ACCESS-SIGN"] == "yBc3KXc2b3pC5W3gF8QK6meA/viFrBG8JJajMCQX9/c="
    assert post.headers["ACCESS-SIGN"] == "BV8Ne4aYDbPJFSbrkfpUodFZpNjndv43eXGvt7K15ac="
