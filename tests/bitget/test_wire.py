"""Parameters: checked against the endpoint table and encoded deterministically."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from riskd.bitget.client_core import resolve_endpoint, wire_name
from riskd.bitget.endpoints import BY_NAME
from riskd.bitget.errors import RequestParamError
from riskd.bitget.models_orders import OrderRequest
from riskd.bitget.wire import encode


def _body(name: str, params: dict[str, Any]) -> Any:
    query, body = encode(BY_NAME[name], params)
    assert query == ""
    return json.loads(body)


def test_unknown_parameter_is_refused_with_the_known_ones() -> None:
    """A misspelt parameter names itself and lists what the endpoint takes."""
    with pytest.raises(RequestParamError, match=r"unknown parameter\(s\) coinn; known: coin"):
        encode(BY_NAME["cross_risk_rate"], {"coinn": "USDT"})


def test_missing_required_parameter_is_named() -> None:
    """A required parameter left out is named with the endpoint."""
    with pytest.raises(RequestParamError, match=r"cross_repay .*'repayAmount' is required"):
        encode(BY_NAME["cross_repay"], {"coin": "USDT"})


def test_amounts_are_plain_decimal_strings_and_floats_are_refused() -> None:
    """Decimals go out as plain text with ≤ 8 decimals rounded down; floats never."""
    body = _body("cross_repay", {"coin": "USDT", "repayAmount": Decimal("1.123456789")})
    assert body == {"coin": "USDT", "repayAmount": "1.12345678"}
    assert (
        _body("cross_repay", {"coin": "USDT", "repayAmount": Decimal("1E+2")})["repayAmount"]
        == "100"
    )
    assert _body("cross_repay", {"coin": "USDT", "repayAmount": "2.50"})["repayAmount"] == "2.5"
    with pytest.raises(RequestParamError, match=r"repayAmount.*float"):
        encode(BY_NAME["cross_repay"], {"coin": "USDT", "repayAmount": 1.5})
    with pytest.raises(RequestParamError, match="repayAmount"):
        encode(BY_NAME["cross_repay"], {"coin": "USDT", "repayAmount": "lots"})


def test_body_follows_the_documents_parameter_order_and_drops_none() -> None:
    """POST bodies list parameters in the table's order; None means absent."""
    _, body = encode(
        BY_NAME["isolated_repay"],
        {"symbol": "BTCUSDT", "repayAmount": Decimal("3"), "coin": "BTC"},
    )
    assert body == b'{"coin":"BTC","repayAmount":"3","symbol":"BTCUSDT"}'
    _, empty = encode(BY_NAME["cross_flash_repay"], {"coin": None})
    assert empty == b"{}"


def test_integers_and_times() -> None:
    """int/ms parameters take ints or digit strings; bools and negatives are refused."""
    q, _ = encode(BY_NAME["cross_loans"], {"startTime": "1659403328000", "pageSize": 20})
    assert q == "pageSize=20&startTime=1659403328000"
    for bad in (True, -1, "12a", 1.0):
        with pytest.raises(RequestParamError, match="startTime"):
            encode(BY_NAME["cross_loans"], {"startTime": bad})


def test_lists_must_be_lists() -> None:
    """A bare string for a list parameter is refused rather than split into characters."""
    with pytest.raises(RequestParamError, match=r"idList.*expected a list"):
        encode(BY_NAME["cross_flash_repay_status"], {"idList": "123"})
    assert _body("cross_flash_repay_status", {"idList": ["1", 2]}) == {"idList": ["1", "2"]}


def test_orders_are_validated_and_serialised_in_document_order() -> None:
    """Order lists accept OrderRequest or wire-named mappings; bad orders name the field."""
    order = OrderRequest(side="sell", order_type="market", base_quantity=Decimal("0.5"))
    body = _body("cross_batch_place_order", {"symbol": "BTCUSDT", "orderList": [order]})
    assert body["orderList"] == [
        {
            "orderType": "market",
            "loanType": "normal",
            "timeInForce": "gtc",
            "baseQuantity": "0.5",
            "side": "sell",
        }
    ]
    with pytest.raises(RequestParamError, match=r"'orderList'\[0\]: side: Field required"):
        encode(
            BY_NAME["cross_batch_place_order"],
            {"symbol": "X", "orderList": [{"orderType": "limit"}]},
        )
    with pytest.raises(RequestParamError, match="empty"):
        encode(BY_NAME["cross_batch_place_order"], {"symbol": "X", "orderList": []})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"side": "buy", "order_type": "limit", "price": Decimal("1")}, "limit order"),
        ({"side": "buy", "order_type": "market", "base_quantity": Decimal("1")}, "market buy"),
        ({"side": "sell", "order_type": "market", "quote_amount": Decimal("1")}, "market sell"),
        ({"side": "buy", "order_type": "market", "quote_amount": Decimal("-1")}, "positive"),
        ({"side": "buy", "order_type": "market", "quote_amount": 1.5}, "float"),
        ({"side": "hold", "order_type": "market"}, "side"),
    ],
)
def test_order_request_enforces_the_documented_rules(kwargs: dict[str, Any], match: str) -> None:
    """OrderRequest refuses orders the document says the exchange would refuse."""
    with pytest.raises(ValidationError, match=match):
        OrderRequest(**kwargs)


async def test_refusals_of_dangerous_empty_selections(fake: Any) -> None:
    """An empty symbol list or coin is not silently turned into 'repay everything'."""
    async with fake.client() as client:
        with pytest.raises(RequestParamError, match="pass None"):
            await client.isolated_flash_repay(symbols=[])
        with pytest.raises(RequestParamError, match="pass None"):
            await client.cross_flash_repay(coin="  ")
        with pytest.raises(RequestParamError, match="order_id or client_oid"):
            await client.cross_cancel_order(symbol="BTCUSDT")
    assert fake.requests == [r for r in fake.requests if r.url.path.endswith("/public/time")]


def test_names() -> None:
    """snake_case keywords map to the document's names; unknown endpoints suggest others."""
    assert [wire_name(n) for n in ("repay_amount", "id_list", "last_fill_id", "coin")] == [
        "repayAmount",
        "idList",
        "lastFillId",
        "coin",
    ]
    with pytest.raises(RequestParamError, match="did you mean cross_risk_rate"):
        resolve_endpoint("cross_riskrate")
