"""Order requests and the typed answers of the order endpoints (cross and isolated alike)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from riskd.bitget.models import OptAmount, OptMs, WireModel

OrderType = Literal["limit", "market"]
Side = Literal["buy", "sell"]
LoanType = Literal["normal", "autoLoan", "autoRepay", "autoLoanAndRepay"]
TimeInForce = Literal["gtc", "post_only", "fok", "ioc"]

#: The order fields in the document's order (the body is sent in this order).
_ORDER_WIRE_ORDER = (
    "order_type",
    "price",
    "loan_type",
    "time_in_force",
    "base_quantity",
    "quote_amount",
    "client_oid",
    "side",
)


class OrderRequest(BaseModel):
    """One order for ``*_place_order`` or an element of ``*_batch_place_order``.

    The document's rules are checked before sending: a limit order needs ``price`` and
    ``base_quantity``; a market buy needs ``quote_amount``; a market sell ``base_quantity``.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )

    side: Side
    order_type: OrderType
    loan_type: LoanType = "normal"
    time_in_force: TimeInForce = "gtc"
    price: OptAmount = None
    base_quantity: OptAmount = None
    quote_amount: OptAmount = None
    client_oid: str | None = None

    @model_validator(mode="after")
    def _documented_rules(self) -> Self:
        for name in ("price", "base_quantity", "quote_amount"):
            value: Decimal | None = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise ValueError(f"{name} must be a positive amount, got {value}")
        if self.order_type == "limit":
            if self.price is None or self.base_quantity is None:
                raise ValueError("a limit order needs price and base_quantity")
        elif self.side == "buy" and self.quote_amount is None:
            raise ValueError("a market buy needs quote_amount")
        elif self.side == "sell" and self.base_quantity is None:
            raise ValueError("a market sell needs base_quantity")
        if self.client_oid is not None and len(self.client_oid) > 40:
            raise ValueError("client_oid is longer than 40 characters")
        return self

    def wire_params(self) -> dict[str, object]:
        """The order as wire-named parameters (camelCase), in the document's order."""
        out: dict[str, object] = {}
        for name in _ORDER_WIRE_ORDER:
            value = getattr(self, name)
            if value is not None:
                out[to_camel(name)] = value
        return out


class PlaceOrderResult(WireModel):
    order_id: str
    client_oid: str | None = None


class OrderAck(WireModel):
    order_id: str | None = None
    client_oid: str | None = None


class OrderFailure(WireModel):
    order_id: str | None = None
    client_oid: str | None = None
    error_msg: str | None = None


class BatchOrderResult(WireModel):
    """Answer of batch place, cancel and batch cancel: what succeeded and what failed.

    A bare ``{"orderId": ..., "clientOid": ...}`` (a single cancel answered like a place) is
    read as one success.
    """

    result_list: tuple[OrderAck, ...] = ()
    failure: tuple[OrderFailure, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _single_ack(cls, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and not {"resultList", "result_list", "failure"} & set(data)
            and ("orderId" in data or "clientOid" in data)
        ):
            return {"resultList": [data]}
        return data


class Order(WireModel):
    """An open or historical order."""

    symbol: str
    order_id: str
    client_oid: str | None = None
    order_type: str | None = None
    source: str | None = None
    price: OptAmount = None
    loan_type: str | None = None
    time_in_force: str | None = None
    side: str | None = None
    status: str | None = None
    base_quantity: OptAmount = None
    quote_amount: OptAmount = None
    fill_price: OptAmount = None
    fill_quantity: OptAmount = None
    fill_total_amount: OptAmount = None
    c_time: OptMs = None


class Fill(WireModel):
    """One trade (transaction detail) of an order."""

    symbol: str | None = None
    order_id: str
    fill_id: str
    order_type: str | None = None
    side: str | None = None
    fill_price: OptAmount = None
    fill_quantity: OptAmount = None
    fill_total_amount: OptAmount = None
    c_time: OptMs = None
    fee_ccy: str | None = None
    fees: OptAmount = None
