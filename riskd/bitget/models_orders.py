"""Order requests and the typed answers of the order endpoints (cross and isolated alike)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from riskd.bitget.endpoint_types import Api
from riskd.bitget.models import OptAmount, OptMs, WireModel, either, either_opt

OrderType = Literal["limit", "market"]
Side = Literal["buy", "sell"]
LoanType = Literal["normal", "autoLoan", "autoRepay", "autoLoanAndRepay"]
TimeInForce = Literal["gtc", "post_only", "fok", "ioc"]

#: v2 renamed three order fields (§1c of ENDPOINTS-v2.md).
_V2_NAMES = {"time_in_force": "force", "base_quantity": "baseSize", "quote_amount": "quoteSize"}
#: Order ``status`` spellings of both versions (and of the v2 pages, which differ) → one
#: vocabulary (v1's). Anything else is refused as malformed.
ORDER_STATUS = {
    "init": "init",
    "new": "new",
    "live": "new",
    "partial_fill": "partial_fill",
    "partially_fill": "partial_fill",
    "partially_filled": "partial_fill",
    "full_fill": "full_fill",
    "filled": "full_fill",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "reject": "rejected",
    "rejected": "rejected",
}
#: clientOid: at most this many characters (v1 document; v2 refuses over-long ids, 40305).
CLIENT_OID_MAX = 40

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
        if self.client_oid is not None and len(self.client_oid) > CLIENT_OID_MAX:
            raise ValueError(f"client_oid is longer than {CLIENT_OID_MAX} characters")
        return self

    def wire_params(self, api: Api = "v1") -> dict[str, object]:
        """The order as wire-named parameters of ``api``, in the document's order (v2:
        ``force``, ``baseSize``, ``quoteSize`` for v1's ``timeInForce``, ``baseQuantity``,
        ``quoteAmount``)."""
        out: dict[str, object] = {}
        for name in _ORDER_WIRE_ORDER:
            value = getattr(self, name)
            if value is not None:
                key = _V2_NAMES.get(name, to_camel(name)) if api == "v2" else to_camel(name)
                out[key] = value
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

    result_list: tuple[OrderAck, ...] = Field(
        default=(), validation_alias=AliasChoices("resultList", "successList")
    )
    failure: tuple[OrderFailure, ...] = Field(
        default=(), validation_alias=AliasChoices("failure", "failureList")
    )

    @model_validator(mode="before")
    @classmethod
    def _single_ack(cls, data: Any) -> Any:
        lists = {"resultList", "result_list", "failure", "successList", "failureList"}
        if isinstance(data, Mapping):
            data = {k: ([] if k in lists and v is None else v) for k, v in data.items()}
        if (
            isinstance(data, Mapping)
            and not lists & set(data)
            and ("orderId" in data or "clientOid" in data)
        ):
            return {"resultList": [data]}
        return data


class Order(WireModel):
    """An open or historical order (v2 names accepted: ``force``, ``baseSize``,
    ``quoteSize``, ``priceAvg``, ``size``, ``amount``, ``enterPointSource``). ``status`` is
    normalised to v1's words (:data:`ORDER_STATUS`); an unknown one is refused."""

    symbol: str
    order_id: str
    client_oid: str | None = None
    order_type: str | None = None
    source: str | None = either_opt("source", "enterPointSource")
    price: OptAmount = None
    loan_type: str | None = None
    time_in_force: str | None = either_opt("timeInForce", "force")
    side: str | None = None
    status: str | None = None
    base_quantity: OptAmount = either_opt("baseQuantity", "baseSize")
    quote_amount: OptAmount = either_opt("quoteAmount", "quoteSize")
    fill_price: OptAmount = either_opt("fillPrice", "priceAvg")
    fill_quantity: OptAmount = either_opt("fillQuantity", "size")
    fill_total_amount: OptAmount = either_opt("fillTotalAmount", "amount")
    c_time: OptMs = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        known = ORDER_STATUS.get(value.lower())
        if known is None:
            raise ValueError(
                f"unknown order status {value!r} (known: {', '.join(sorted(ORDER_STATUS))})"
            )
        return known


class Fill(WireModel):
    """One trade (transaction detail) of an order. v2: ``tradeId``, ``priceAvg``, ``size``,
    ``amount`` and a ``feeDetail`` object (flattened into ``fee_ccy`` / ``fees``)."""

    symbol: str | None = None
    order_id: str
    fill_id: str = either("fillId", "tradeId")
    order_type: str | None = None
    side: str | None = None
    fill_price: OptAmount = either_opt("fillPrice", "priceAvg")
    fill_quantity: OptAmount = either_opt("fillQuantity", "size")
    fill_total_amount: OptAmount = either_opt("fillTotalAmount", "amount")
    c_time: OptMs = None
    fee_ccy: str | None = None
    fees: OptAmount = None

    @model_validator(mode="before")
    @classmethod
    def _fee_detail(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("feeDetail"), Mapping):
            fee = data["feeDetail"]
            data = {
                **data,
                "feeCcy": data.get("feeCcy", fee.get("feeCoin")),
                "fees": data.get("fees", fee.get("totalFee")),
            }
        return data
