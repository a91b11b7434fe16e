"""Typed answers of the Unified Trading Account (API v3) endpoints riskd uses.

Same rules as :mod:`riskd.bitget.models`: frozen pydantic models, camelCase aliases, amounts
as :class:`~decimal.Decimal` (floats refused), unknown extra fields ignored, and the fields that
decide risk required: an ``/account/assets`` answer without ``mgnRatio``, ``mmr``, ``effEquity``
or a coin's ``debt`` is malformed, never zero.

Shapes the sources disagree on (ENDPOINTS-v2.md §6, T, X; see :mod:`riskd.bitget.endpoints_v3`)
are all accepted:

- settings: ``accountMode`` / ``accountLevel`` (§6) and ``assetMode`` / ``holdMode`` (T's
  type) are all optional; the raw answer is kept in :attr:`UtaSettings.raw`;
- repayable / payment coins: a bare list of ``{coin, size, amount}`` or an object holding the
  list (under ``list``, ``repayableCoinList``, ``paymentCoinList``, ``coinList`` or ``coins``),
  or a list of bare coin names;
- repay: ``result`` ``YES`` / ``NO`` (any case) and ``repayAmount`` (unit unconfirmed);
- open orders: ``{list, cursor}`` (X) or a bare list;
- order info: the order as an object, a one-item list, ``{list: [order]}`` or empty (no
  such order).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from riskd.bitget.models import Amount, OptAmount, OptMs, WireModel, either, either_opt
from riskd.bitget.models_orders import ORDER_STATUS


class UtaCoin(WireModel):
    """One coin of the unified account (``assets[]``), amounts in the coin."""

    coin: str
    equity: Amount
    balance: Amount
    available: Amount
    debt: Amount
    locked: OptAmount = None
    usd_value: OptAmount = None


class UtaAssets(WireModel):
    """``GET /api/v3/account/assets``: the account-wide margin figures and every coin.

    ``mgn_ratio`` is the account's margin ratio (higher = riskier; the level at which UTA
    liquidates is unconfirmed, probably 1 = 100 %); ``mmr`` / ``imr`` are the maintenance and
    initial margin in USD; ``eff_equity`` the equity that counts as margin (after the
    collateral ratios); ``account_equity`` the equity in USD.
    """

    account_equity: Amount
    eff_equity: Amount
    mmr: Amount
    imr: Amount
    mgn_ratio: Amount
    position_mgn_ratio: OptAmount = None
    usdt_equity: OptAmount = None
    unrealised_pnl: OptAmount = None
    assets: tuple[UtaCoin, ...] = ()

    @field_validator("assets", mode="before")
    @classmethod
    def _null_assets(cls, value: object) -> object:
        return () if value is None else value

    def coin(self, coin: str) -> UtaCoin | None:
        """The row of ``coin``, or ``None`` when the account holds none of it."""
        return next((c for c in self.assets if c.coin == coin), None)

    def debts(self) -> dict[str, Decimal]:
        """Every coin with debt → the debt."""
        return {c.coin: c.debt for c in self.assets if c.debt > 0}


class UtaSettings(WireModel):
    """``GET /api/v3/account/settings``. Every field is optional (the sources disagree, ⚠)."""

    account_mode: str | None = None
    account_level: str | None = None
    asset_mode: str | None = None
    hold_mode: str | None = None
    raw: Mapping[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if not isinstance(data, Mapping):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        return {**data, "raw": dict(data)}


class UtaCoinAmount(WireModel):
    """One row of repayable-coins / payment-coins: ``{coin, size, amount}`` (T's type)."""

    coin: str
    size: OptAmount = None
    amount: OptAmount = None

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"coin": data} if isinstance(data, str) else data


_COIN_LIST_KEYS = ("list", "repayableCoinList", "paymentCoinList", "coinList", "coins")


def coin_list_items(data: object) -> list[object]:
    """The rows of a repayable/payment-coins answer, from a list or an object holding one."""
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for key in _COIN_LIST_KEYS:
            if key in data:
                inner = data[key]
                if inner is None:
                    return []
                if isinstance(inner, list):
                    return inner
                raise ValueError(f"data.{key}: expected a list, got {type(inner).__name__}")
        raise ValueError(f"data: no coin list (looked for {', '.join(_COIN_LIST_KEYS)})")
    raise ValueError(f"data: expected a list or an object, got {type(data).__name__}")


class UtaRepayResult(WireModel):
    """``POST /api/v3/account/repay``: ``result`` YES/NO and ``repayAmount`` (unit ⚠)."""

    result: Literal["YES", "NO"]
    repay_amount: OptAmount = None

    @field_validator("result", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def repaid(self) -> bool:
        return self.result == "YES"


class UtaOrderResult(WireModel):
    """Place / cancel order: the ids. ``orderId`` is required, ``clientOid`` may be empty."""

    order_id: str
    client_oid: str | None = None


class UtaOrder(WireModel):
    """One open order (``unfilled-orders``), status mapped to riskd's order vocabulary."""

    order_id: str
    client_oid: str | None = None
    category: str | None = None
    symbol: str
    side: Literal["buy", "sell"]
    order_type: Literal["limit", "market"]
    price: OptAmount = None
    qty: OptAmount = None
    cum_exec_qty: OptAmount = None
    avg_price: OptAmount = None
    time_in_force: str | None = None
    status: str = either("orderStatus", "status")
    created_time: OptMs = either_opt("createdTime", "cTime")

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        mapped = ORDER_STATUS.get(str(value))
        if mapped is None:
            raise ValueError(f"unknown order status {value!r}")
        return mapped


def order_list_payload(data: object) -> tuple[list[object], str | None]:
    """``(items, cursor)`` of an open-orders answer: ``{list, cursor}`` or a bare list."""
    if data is None:
        return [], None
    if isinstance(data, list):
        return data, None
    if isinstance(data, Mapping):
        items = data.get("list")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ValueError(f"data.list: expected a list, got {type(items).__name__}")
        cursor = data.get("cursor")
        return items, (str(cursor) if cursor not in (None, "") else None)
    raise ValueError(f"data: expected a list or an object, got {type(data).__name__}")


def order_info_payload(data: object) -> object | None:
    """The one order of an order-info answer, or ``None`` when it names none."""
    if data is None or data == "" or data == [] or data == {}:
        return None
    if isinstance(data, list):
        if len(data) != 1:
            raise ValueError(f"data: expected one order, got a list of {len(data)}")
        first: object = data[0]
        return first
    if isinstance(data, Mapping) and "orderId" not in data and "list" in data:
        inner: object = data["list"]
        return order_info_payload(inner)
    if isinstance(data, Mapping):
        return data
    raise ValueError(f"data: expected an order object, got {type(data).__name__}")


class UtaTier(WireModel):
    """One position tier (``category=MARGIN``): ``mmr`` is the maintenance margin rate."""

    tier: str | None = either_opt("tier", "level")
    min_tier_value: OptAmount = None
    max_tier_value: OptAmount = None
    leverage: OptAmount = None
    mmr: Amount


class UtaPushCoin(WireModel):
    """One coin of an ``account`` push: ``debts`` is the debt (X's captured push)."""

    coin: str
    equity: Amount
    balance: Amount
    available: Amount
    debts: Amount
    borrow: OptAmount = None
    locked: OptAmount = None
    usd_value: OptAmount = None


class UtaAccountPush(WireModel):
    """One item of the private WebSocket topic ``{"instType": "UTA", "topic": "account"}``.

    Same figures as :class:`UtaAssets` under the push's names (``totalEquity``, ``coin`` for
    the coin list); pushed on balance, order and settlement events, not on price moves.
    """

    total_equity: Amount
    eff_equity: Amount
    mmr: Amount
    imr: Amount
    mgn_ratio: Amount
    position_mgn_ratio: OptAmount = None
    unrealised_pnl: OptAmount = either_opt("unrealisedPnL", "unrealisedPnl")
    coins: tuple[UtaPushCoin, ...] = Field(default=(), validation_alias="coin")


def account_push_items(message: Mapping[str, Any]) -> tuple[UtaAccountPush, ...]:
    """The items of one ``account`` push message; ``ValueError`` naming the field otherwise."""
    arg = message.get("arg")
    if not isinstance(arg, Mapping) or arg.get("topic") != "account":
        raise ValueError(f"arg: not the UTA account topic: {arg!r}")
    data = message.get("data")
    if not isinstance(data, list):
        raise ValueError(f"data: expected a list, got {type(data).__name__}")
    return tuple(UtaAccountPush.model_validate(item) for item in data)
