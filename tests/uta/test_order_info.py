"""v3 order info (``/api/v3/trade/order-info``): every listed answer shape, the simulator's
answer by clientOid and order id, "no such order" as ``None``."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.bitget.models_uta import UtaOrder, order_info_payload
from tests.uta.conftest import Env

ROW = {
    "orderId": "7",
    "clientOid": "riskd-x",
    "symbol": "BTCUSDT",
    "side": "sell",
    "orderType": "market",
    "orderStatus": "filled",
}


@pytest.mark.parametrize(
    "data", [ROW, [ROW], {"list": [ROW]}], ids=["object", "one-item list", "list wrapper"]
)
def test_every_listed_shape_gives_the_order(data: object) -> None:
    """An object, a one-item list and ``{list: [order]}`` all give the one order."""
    row = order_info_payload(data)
    assert UtaOrder.model_validate(row).client_oid == "riskd-x"


@pytest.mark.parametrize("data", [None, "", [], {}, {"list": []}])
def test_an_empty_answer_is_no_order(data: object) -> None:
    """An empty answer names no order (read as "no such order", not as an error)."""
    assert order_info_payload(data) is None


def test_several_orders_are_refused() -> None:
    """A list of two orders is not an answer about one order: refused naming the count."""
    with pytest.raises(ValueError, match="list of 2"):
        order_info_payload([ROW, ROW])


async def test_simulator_answers_a_done_order_by_client_oid_and_id(env: Env) -> None:
    """A filled market order is found by clientOid and by id; an unknown one is ``None``."""
    async with env.uta() as client:
        placed = await client.uta_place_margin_order(
            symbol="BTCUSDT", side="sell", order_type="market", qty=D("0.01"), client_oid="c-1"
        )
        by_oid = await client.uta_order_info(client_oid="c-1")
        by_id = await client.uta_order_info(order_id=placed.order_id)
        missing = await client.uta_order_info(client_oid="c-unknown")
    assert by_oid is not None and by_oid.order_id == placed.order_id
    assert by_oid.status == "full_fill" and by_oid.symbol == "BTCUSDT"
    assert by_id is not None and by_id.client_oid == "c-1"
    assert missing is None
