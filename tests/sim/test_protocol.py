"""Protocol fidelity: every endpoint, envelopes, unknown paths, parameters and amounts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from riskd.bitget.endpoints import BY_NAME, ENDPOINTS
from riskd.sim.app import HANDLERS

#: Minimal valid parameters for every endpoint (the document's required ones).
MINIMAL: dict[str, dict[str, object]] = {
    "cross_interest_rate_and_limit": {"coin": "USDT"},
    "isolated_interest_rate_and_limit": {"symbol": "BTCUSDT"},
    "cross_tier_data": {"coin": "USDT"},
    "isolated_tier_data": {"symbol": "BTCUSDT"},
    "cross_borrow": {"coin": "USDT", "borrowAmount": "10"},
    "isolated_borrow": {"coin": "USDT", "borrowAmount": "10", "symbol": "BTCUSDT"},
    "cross_repay": {"coin": "USDT", "repayAmount": "1"},
    "isolated_repay": {"coin": "USDT", "repayAmount": "1", "symbol": "BTCUSDT"},
    "cross_risk_rate": {"coin": "USDT"},
    "isolated_risk_rate": {"symbol": "BTCUSDT"},
    "cross_max_borrowable": {"coin": "BTC"},
    "isolated_max_borrowable": {"coin": "BTC", "symbol": "BTCUSDT"},
    "cross_max_transfer_out": {"coin": "USDT"},
    "isolated_max_transfer_out": {"coin": "USDT", "symbol": "BTCUSDT"},
    "cross_flash_repay": {"coin": "USDT"},
    "isolated_flash_repay": {"symbols": ["BTCUSDT"]},
    "cross_flash_repay_status": {"idList": ["1"]},
    "isolated_flash_repay_status": {"idList": ["1"]},
    "cross_batch_cancel_order": {"symbol": "BTCUSDT", "orderIds": ["1"]},
    "isolated_batch_cancel_order": {"symbol": "BTCUSDT", "orderIds": ["1"]},
    "cross_cancel_order": {"symbol": "BTCUSDT", "orderId": "1"},
    "isolated_cancel_order": {"symbol": "BTCUSDT", "orderId": "1"},
}
ORDER = {
    "symbol": "BTCUSDT",
    "side": "buy",
    "orderType": "limit",
    "price": "20000",
    "baseQuantity": "0.01",
    "loanType": "normal",
    "timeInForce": "gtc",
}
for _m in ("cross", "isolated"):
    MINIMAL[f"{_m}_place_order"] = ORDER
    MINIMAL[f"{_m}_batch_place_order"] = {
        "symbol": "BTCUSDT",
        "orderList": [{k: v for k, v in ORDER.items() if k != "symbol"}],
    }
    for _n in ("open_orders",):
        MINIMAL[f"{_m}_{_n}"] = {"symbol": "BTCUSDT"}
    for _n in ("order_history", "fills"):
        MINIMAL[f"{_m}_{_n}"] = {"symbol": "BTCUSDT", "startTime": "1"}
    for _n in ("loans", "repays", "interests", "liquidations", "fin_flows"):
        MINIMAL[f"{_m}_{_n}"] = {"startTime": "1"} | (
            {"symbol": "BTCUSDT"} if _m == "isolated" else {}
        )


def test_every_endpoint_has_a_handler() -> None:
    """The app answers every endpoint of the table."""
    assert {e.name for e in ENDPOINTS} <= set(HANDLERS)


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
async def test_every_endpoint_answers_success_envelope(api, alice, name) -> None:
    """Each endpoint answers {code 00000, msg success, requestTime, data} with its method."""
    if name.endswith("_repay") and not name.endswith("flash_repay"):
        borrow = name.replace("repay", "borrow")
        await api.data(borrow, MINIMAL[borrow], alice)
    resp = await api.call(name, MINIMAL.get(name, {}), alice)
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["code"] == "00000" and body["msg"] == "success"
    assert isinstance(body["requestTime"], int)
    assert "data" in body


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS if any(p.required for p in e.params)])
async def test_missing_required_parameter_is_40019(api, alice, name) -> None:
    """Leaving out the first required parameter gives 40019 naming it."""
    ep = BY_NAME[name]
    first = next(p.name for p in ep.params if p.required)
    params = {k: v for k, v in MINIMAL.get(name, {}).items() if k != first}
    status, code, msg = await api.error(name, params, alice)
    assert (status, code) == (400, "40019")
    assert msg == f"Parameter {first} cannot be empty"


async def test_unknown_path_is_40404_with_http_400(api) -> None:
    """An unknown path answers the document's 40404 (HTTP 400, like every listed code)."""
    resp = await api.client.get("/api/margin/v1/cross/account/nothing")
    assert resp.status_code == 400
    assert resp.json()["code"] == "40404"
    assert resp.json()["msg"].startswith("Request URL NOT FOUND")


async def test_wrong_method_names_the_right_one(api) -> None:
    """GET on a POST endpoint is refused, saying which method the path takes."""
    resp = await api.client.get(BY_NAME["cross_borrow"].path)
    assert resp.status_code == 400
    assert resp.json()["code"] == "40404"
    assert "takes POST, not GET" in resp.json()["msg"]


@pytest.mark.parametrize(
    ("name", "params", "code"),
    [
        ("cross_borrow", {"coin": "DOGE", "borrowAmount": "1"}, "50032"),
        ("isolated_borrow", {"coin": "USDT", "borrowAmount": "1", "symbol": "XXXUSDT"}, "50024"),
        ("isolated_borrow", {"coin": "ETH", "borrowAmount": "1", "symbol": "BTCUSDT"}, "50039"),
        ("cross_tier_data", {"coin": "NOPE"}, "50032"),
        ("isolated_tier_data", {"symbol": "NOPEUSDT"}, "50024"),
        ("cross_place_order", ORDER | {"symbol": "NOPEUSDT"}, "50024"),
    ],
)
async def test_unknown_symbols_and_coins(api, alice, name, params, code) -> None:
    """Unknown coins (50032), symbols (50024) and coins outside the pair (50039) are refused."""
    status, got, _ = await api.error(name, params, alice)
    assert (status, got) == (400, code)


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("abc", "40020"),
        ("1e", "40020"),
        ("NaN", "40020"),
        ("0.000000001", "50063"),
        ("-5", "50034"),
        ("0", "50034"),
        (1.5, "40020"),
        (True, "40020"),
    ],
)
async def test_bad_borrow_amounts(api, alice, amount, code) -> None:
    """Non-decimal, float, too precise and non-positive amounts each get their code."""
    status, got, _ = await api.error(
        "cross_borrow", {"coin": "USDT", "borrowAmount": amount}, alice
    )
    assert (status, got) == (400, code)


async def test_integer_json_amount_is_accepted(api, alice) -> None:
    """A JSON integer amount is exact and accepted (floats are not)."""
    data = await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": 5}, alice)
    assert data["borrowAmount"] == "5.00000000"


async def test_post_needs_json_content_type(api, alice) -> None:
    """A POST without Content-Type application/json is refused with 40007."""
    resp = await api.call(
        "cross_max_borrowable", {"coin": "USDT"}, alice, override={"Content-Type": "text/plain"}
    )
    assert resp.json()["code"] == "40007"


async def test_invalid_json_body_is_refused(api, alice) -> None:
    """A body that is not JSON (e.g. the document's trailing-comma examples) gets 40017."""
    ep = BY_NAME["cross_batch_cancel_order"]
    body = '{"symbol": "BTCUSDT", "orderIds": ["1"],}'
    headers = api.headers(alice, "POST", ep.path, "", body)
    resp = await api.client.post(ep.path, content=body.encode(), headers=headers)
    assert resp.status_code == 400
    assert resp.json()["code"] == "40017"


async def test_list_paging_errors(api, alice) -> None:
    """pageSize beyond 500, endTime before startTime and spans over 90 days are refused."""
    assert (await api.error("cross_loans", {"startTime": "1", "pageSize": "501"}, alice))[1] == (
        "40020"
    )
    assert (await api.error("cross_loans", {"startTime": "10", "endTime": "5"}, alice))[1] == (
        "40707"
    )
    span = {"startTime": "0", "endTime": str(91 * 86_400_000)}
    assert (await api.error("cross_loans", span, alice))[1] == "40705"


async def test_public_shapes_match_the_document(api) -> None:
    """Public answers carry the document's fields."""
    cur = await api.data("currencies")
    btc = next(c for c in cur if c["symbol"] == "BTCUSDT")
    assert btc["warningRiskRatio"] == "0.80000000"
    assert btc["liquidationRiskRatio"] == "1.00000000"
    assert btc["takerFeeRate"] == "0.00100000"
    iso = (await api.data("isolated_tier_data", {"symbol": "BTCUSDT"}))[0]
    assert iso["leverage"] == "10.00000000" and iso["maintainMarginRate"] == "0.05000000"
    rate = (await api.data("isolated_interest_rate_and_limit", {"symbol": "BTCUSDT"}))[0]
    assert set(rate) >= {"baseDailyInterestRate", "quoteMaxBorrowableAmount", "baseVips"}
    cross = (await api.data("cross_interest_rate_and_limit", {"coin": "USDT"}))[0]
    assert cross["vips"][0]["discountRate"] == "1.00000000"


async def test_requests_are_counted_per_endpoint(api, alice, sim) -> None:
    """sim.stats counts requests per endpoint name."""
    await api.call("cross_assets", {}, alice)
    await api.call("cross_assets", {}, alice)
    await api.client.get("/nowhere")
    stats = sim.stats
    assert stats.requests["cross_assets"] == 2
    assert stats.requests["unknown"] == 1
    assert stats.total_requests == 3


async def test_assets_shapes(api, alice) -> None:
    """Assets rows have net = available + frozen - borrow - interest."""
    await api.data(
        "isolated_borrow", {"coin": "USDT", "borrowAmount": "100", "symbol": "BTCUSDT"}, alice
    )
    rows = await api.data("isolated_assets", {"symbol": "BTCUSDT"}, alice)
    usdt = next(r for r in rows if r["coin"] == "USDT")
    net = (
        Decimal(usdt["available"])
        + Decimal(usdt["frozen"])
        - Decimal(usdt["borrow"])
        - Decimal(usdt["interest"])
    )
    assert Decimal(usdt["net"]) == net
    assert usdt["symbol"] == "BTCUSDT"
    assert json.dumps(rows)  # plain JSON types only
