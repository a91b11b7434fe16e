"""Typed responses of the public and account endpoints, and the shared model machinery.

Every model is a frozen pydantic model whose snake_case attributes mirror the document's
camelCase fields (``riskRate`` → ``risk_rate``). One model serves both API versions: where v2
renamed a field (``riskRateRatio``, ``repayId``, ``annualInterestRate``, ``pricePrecision``...)
the model accepts either name (:func:`either`), so callers never see which version answered.
Amounts are :class:`~decimal.Decimal` (floats are refused; the exchange sends decimal strings).
Unknown extra fields are ignored so that a new field at the exchange does not break a poll.
Fields that decide risk (balances, debt, risk rate) are required: a response without them is
malformed, not zero.

Orders and fills live in :mod:`riskd.bitget.models_orders`, records in
:mod:`riskd.bitget.models_records`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from riskd.amounts import to_decimal


class WireModel(BaseModel):
    """Base of every response model: frozen, camelCase aliases, extra fields ignored."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        coerce_numbers_to_str=True,
    )


def _amount(value: object) -> Decimal:
    return to_decimal(value)


def _opt_amount(value: object) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    return to_decimal(value)


def _opt_ms(value: object) -> object:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    return value


#: A required decimal amount (decimal string, int or Decimal; never a float).
Amount = Annotated[Decimal, BeforeValidator(_amount)]
#: An optional amount; ``""`` and ``null`` mean absent.
OptAmount = Annotated[Decimal | None, BeforeValidator(_opt_amount)]
#: Milliseconds since the epoch (the document sends them as strings or numbers).
OptMs = Annotated[int | None, BeforeValidator(_opt_ms)]

T = TypeVar("T", bound=BaseModel)


def either(*names: str) -> Any:
    """A field read from the first of ``names`` present (v1 name first, then v2's)."""
    return Field(validation_alias=AliasChoices(*names))


def either_opt(*names: str) -> Any:
    """An optional field read from the first of ``names`` present."""
    return Field(default=None, validation_alias=AliasChoices(*names))


def single_object(data: Any) -> Any:
    """A one-element list (a shape some v2 pages show) read as its element."""
    if isinstance(data, list) and len(data) == 1:
        return data[0]
    return data


class Envelope(WireModel):
    """Every answer: ``code``, ``msg`` (or ``message``), ``requestTime`` (number or string)."""

    code: str
    msg: str | None = Field(default=None, validation_alias=AliasChoices("msg", "message"))
    request_time: OptMs = None
    data: Any = None


class Page(WireModel, Generic[T]):
    """One page of a list endpoint, with the ids to page on.

    Built by :func:`page_from_envelope` from either shape the document uses: ``data`` as an
    object with ``resultList`` (or ``orderList``) and ``maxId``/``minId`` inside, or ``data``
    as a bare array with ``maxId``/``minId`` beside it (the liquidation lists).
    """

    items: tuple[T, ...] = ()
    max_id: str | None = None
    min_id: str | None = None


_LIST_KEYS = ("resultList", "orderList", "fills", "list")


def page_payload(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a list answer to ``{"items": [...], "maxId": ..., "minId": ...}``."""
    data = envelope.get("data")
    if data is None:
        return {"items": [], "maxId": envelope.get("maxId"), "minId": envelope.get("minId")}
    if isinstance(data, list):
        return {"items": data, "maxId": envelope.get("maxId"), "minId": envelope.get("minId")}
    if isinstance(data, Mapping):
        items: object = next((data[k] for k in _LIST_KEYS if k in data), [])
        return {
            "items": [] if items is None else items,
            "maxId": data.get("maxId", envelope.get("maxId")),
            "minId": data.get("minId", envelope.get("minId")),
        }
    raise ValueError(f"list data is {type(data).__name__}, expected an object or an array")


# --------------------------------------------------------------------------- public


class VipRate(WireModel):
    level: str
    daily_interest_rate: Amount
    yearly_interest_rate: Amount = either("yearlyInterestRate", "annualInterestRate")
    discount_rate: Amount


class CrossInterestRateAndLimit(WireModel):
    coin: str
    leverage: Amount
    transfer_in_able: bool = either("transferInAble", "transferable")
    borrow_able: bool = either("borrowAble", "borrowable")
    daily_interest_rate: Amount
    yearly_interest_rate: Amount = either("yearlyInterestRate", "annualInterestRate")
    max_borrowable_amount: Amount
    vips: tuple[VipRate, ...] = Field(default=(), validation_alias=AliasChoices("vips", "vipList"))


class IsolatedInterestRateAndLimit(WireModel):
    symbol: str
    leverage: Amount
    base_coin: str
    base_transfer_in_able: bool = either("baseTransferInAble", "baseTransferable")
    base_borrow_able: bool = either("baseBorrowAble", "baseBorrowable")
    base_daily_interest_rate: Amount
    base_yearly_interest_rate: Amount = either(
        "baseYearlyInterestRate", "baseAnnuallyInterestRate", "baseAnnualInterestRate"
    )
    base_max_borrowable_amount: Amount
    base_vips: tuple[VipRate, ...] = Field(
        default=(), validation_alias=AliasChoices("baseVips", "baseVipList")
    )
    quote_coin: str
    quote_transfer_in_able: bool = either("quoteTransferInAble", "quoteTransferable")
    quote_borrow_able: bool = either("quoteBorrowAble", "quoteBorrowable")
    quote_daily_interest_rate: Amount
    quote_yearly_interest_rate: Amount = either(
        "quoteYearlyInterestRate", "quoteAnnuallyInterestRate", "quoteAnnualInterestRate"
    )
    quote_max_borrowable_amount: Amount
    quote_vips: tuple[VipRate, ...] = Field(
        default=(), validation_alias=AliasChoices("quoteVips", "quoteVipList", "quoteList")
    )


class CrossTier(WireModel):
    tier: int
    leverage: Amount
    coin: str
    max_borrowable_amount: Amount
    maintain_margin_rate: Amount


class IsolatedTier(WireModel):
    tier: int
    symbol: str
    leverage: Amount
    base_coin: str
    quote_coin: str
    base_max_borrowable_amount: Amount
    quote_max_borrowable_amount: Amount
    maintain_margin_rate: Amount
    init_rate: OptAmount = None


class MarginCurrency(WireModel):
    """One margin symbol from ``/public/currencies``."""

    symbol: str
    base_coin: str
    quote_coin: str
    max_cross_leverage: Amount = either("maxCrossLeverage", "maxCrossedLeverage")
    max_isolated_leverage: Amount
    warning_risk_ratio: Amount
    liquidation_risk_ratio: Amount
    min_trade_amount: OptAmount = None
    max_trade_amount: OptAmount = None
    taker_fee_rate: OptAmount = None
    maker_fee_rate: OptAmount = None
    price_scale: int | None = either_opt("priceScale", "pricePrecision")
    quantity_scale: int | None = either_opt("quantityScale", "quantityPrecision")
    min_trade_usdt: OptAmount = Field(default=None, alias="minTradeUSDT")
    is_borrowable: bool | None = None
    user_min_borrow: OptAmount = None
    status: str | None = None


# --------------------------------------------------------------------------- account


class CrossAsset(WireModel):
    coin: str
    total_amount: Amount
    available: Amount
    frozen: Amount
    borrow: Amount
    interest: Amount
    net: Amount
    ctime: OptMs = either_opt("ctime", "cTime")


class IsolatedAsset(CrossAsset):
    symbol: str


class CrossBorrowResult(WireModel):
    """``loan_id``: v2 only (v1 returned no id)."""

    client_oid: str | None = None
    coin: str
    borrow_amount: Amount
    loan_id: str | None = None


class IsolatedBorrowResult(CrossBorrowResult):
    symbol: str


class CrossRepayResult(WireModel):
    """``repay_id``: v2 only (v1 returned no id)."""

    remain_debt_amount: Amount
    client_oid: str | None = None
    coin: str
    repay_amount: Amount
    repay_id: str | None = None


class IsolatedRepayResult(CrossRepayResult):
    symbol: str


class CrossRiskRate(WireModel):
    """The cross account's risk figure: v1 ``riskRate``, v2 ``riskRateRatio`` (whose
    direction is contested: see :mod:`riskd.risk.reading`). v2 pages show it as an object or
    as a one-element list; both are read."""

    one_row: ClassVar[bool] = True

    risk_rate: Amount = either("riskRateRatio", "riskRate")

    @model_validator(mode="before")
    @classmethod
    def _one_row(cls, data: Any) -> Any:
        return single_object(data)


class IsolatedRiskRate(WireModel):
    symbol: str
    risk_rate: Amount = either("riskRateRatio", "riskRate")


class CrossMaxBorrowable(WireModel):
    coin: str
    max_borrowable_amount: Amount


class IsolatedMaxBorrowable(CrossMaxBorrowable):
    symbol: str


class CrossMaxTransferOut(WireModel):
    coin: str
    max_transfer_out_amount: Amount


class IsolatedMaxTransferOut(CrossMaxTransferOut):
    symbol: str


class IsolatedPairAmounts(WireModel):
    """v2 isolated max-borrowable / max-transfer-out: one amount per side of the pair."""

    symbol: str
    base_coin: str
    quote_coin: str
    base_amount: Amount = either("baseCoinMaxBorrowAmount", "baseCoinMaxTransferOutAmount")
    quote_amount: Amount = either("quoteCoinMaxBorrowAmount", "quoteCoinMaxTransferOutAmount")

    def amount_of(self, coin: str) -> Decimal | None:
        if coin.upper() == self.base_coin.upper():
            return self.base_amount
        if coin.upper() == self.quote_coin.upper():
            return self.quote_amount
        return None


class CrossFlashRepayResult(WireModel):
    """v1 ``id``, v2 ``repayId`` (an object or a one-element list, as the v2 pages differ)."""

    one_row: ClassVar[bool] = True

    id: str = either("id", "repayId")
    coin: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_row(cls, data: Any) -> Any:
        return single_object(data)


class IsolatedFlashRepayResult(WireModel):
    """v1 ``{id, symbol, code}``, v2 ``{repayId, symbol, result: success|failure}``."""

    id: str = either("id", "repayId")
    symbol: str
    code: str | None = either_opt("code", "result")


#: Flash repay states: v1 documents BEGIN, REPAYING, FINISH; v2 shows only FINISH (others
#: unconfirmed). Anything else is refused as malformed rather than guessed at.
FLASH_REPAY_STATES = frozenset({"BEGIN", "REPAYING", "FINISH"})


class FlashRepayStatus(WireModel):
    """``status`` is ``BEGIN``, ``REPAYING`` or ``FINISH`` (v1 ``id``, v2 ``repayId``)."""

    id: str = either("id", "repayId")
    status: str

    @field_validator("status")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.upper() not in FLASH_REPAY_STATES:
            known = ", ".join(sorted(FLASH_REPAY_STATES))
            raise ValueError(f"unknown flash repay status {value!r} (known: {known})")
        return value.upper()

    @property
    def finished(self) -> bool:
        return self.status == "FINISH"
