"""The Bitget Unified Trading Account (UTA) REST API v3 surface riskd needs, declared as data.

Source: ``shared/reference/ENDPOINTS-v2.md`` §6 (paths, the two documented limits, parameter
and reply fields), completed where §6 is silent from the same source keys it cites: T
(tiagosiebler/bitget-api ``src/rest-client-v3.ts`` and its v3 request/response types) and X
(ccxt 4.5.90 ``python/ccxt/bitget.py``: its v3 rate costs and captured answers). Re-exported by
:mod:`riskd.bitget.endpoints`, the module to import. Signing is v2's (§3), unchanged.

Only what a risk daemon needs is declared: risk reading (assets, settings, position tiers),
repaying (repay and its two helper lists), reducing (a MARGIN order), cancelling (cancel, open
orders), finding an order again (order info by ``clientOid``, for reconciliation) and the
server time. Not declared: ``/api/v3/trade/loan-data``, the account switch, batch orders,
fills, the order history and the financial records (riskd does not use them yet). v3 lists no
repay records (X's, T's and two other clients' v3 maps have none; ``financial-records`` may
carry repays, its types are unconfirmed).

Limits. §6 documents two: assets 20/s per UID, repay 5/s per UID. The others are read from X's
rate costs (X counts one cost unit as 50 ms, so cost 1 = 20/s, 2 = 10/s, 4 = 5/s): settings
20/s, repayable/payment coins 10/s, place and cancel order 10/s, open orders 20/s, position
tier 20/s. X does not say which key they are counted on; riskd budgets the signed ones per UID
and the public ones per IP, like v2 (⚠ unconfirmed). The server time limit is unconfirmed:
20/s per IP like v2.

Unconfirmed shapes (⚠; the client accepts every listed shape, see :mod:`riskd.bitget.models_uta`
and docs/uta.md):

- settings: §6 (from T's method list) names ``accountMode``/``accountLevel``; T's own type
  shows ``assetMode``/``holdMode`` and per-symbol configs instead;
- repayable and payment coins: T types the items as ``{coin, size, amount}`` but not the
  wrapper (a bare list or an object holding the list);
- repay ``repayAmount``: its unit (USD value or coin amount) is not stated;
- open orders: X shows ``{list: [...], cursor}``; a bare list is read too;
- order info (``GET /api/v3/trade/order-info``, ``orderId`` or ``clientOid``; path from the
  v3 maps of three public clients, not from §6): its limit (20/s UID here), the answer's
  wrapper (an object, a one-item list or ``{list: [...]}`` are all read) and the code of an
  unknown order (43001 / 40109 as in v2, or an empty ``data``, both read as "no such order");
- MARGIN order ``qty``: base quantity for a limit order; for a market buy, whether ``qty`` is
  base or quote is unconfirmed (X always sends the base amount);
- how UTA margin borrows (presumably automatically on order) is unconfirmed.
"""

from __future__ import annotations

from typing import Literal

from riskd.bitget.endpoint_types import (
    Endpoint,
    Group,
    LimitScope,
    Paging,
    Param,
    ParamKind,
)

PREFIX_V3 = "/api/v3"
SERVER_TIME_PATH_V3 = f"{PREFIX_V3}/public/time"
#: The ``category`` of spot margin in UTA (orders, open orders, position tiers).
MARGIN_CATEGORY = "MARGIN"
#: Every ``category`` value X and T list for the v3 trade endpoints.
CATEGORIES = ("SPOT", "MARGIN", "USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")

IP, UID = LimitScope.IP, LimitScope.UID
_R = True


def _p(name: str, kind: ParamKind = "str", required: bool = False) -> Param:
    return Param(name, kind, required)


def _ep(
    name: str,
    method: Literal["GET", "POST"],
    path: str,
    limit: int,
    scope: LimitScope,
    group: Group,
    params: tuple[Param, ...] = (),
    *,
    signed: bool = True,
    paging: Paging | None = None,
    items_key: str | None = None,
    protective: bool = False,
    mutating: bool = False,
) -> Endpoint:
    return Endpoint(
        name,
        method,
        f"{PREFIX_V3}{path}",
        signed,
        limit,
        scope,
        group,
        None,
        params,
        paging,
        protective,
        mutating,
        api="v3",
        items_key=items_key,
    )


#: §6 / T ``PlaceOrderRequestV3`` (no ``loanType``: UTA has none).
ORDER_FIELDS_V3: tuple[Param, ...] = (
    _p("category", required=_R),
    _p("symbol", required=_R),
    _p("qty", "decimal", _R),
    _p("price", "decimal"),
    _p("side", required=_R),
    _p("orderType", required=_R),
    _p("timeInForce"),
    _p("clientOid"),
    _p("reduceOnly"),
    _p("stpMode"),
)

SERVER_TIME_V3 = _ep("server_time", "GET", "/public/time", 20, IP, "public", signed=False)
UTA_POSITION_TIER = _ep(
    "uta_position_tier",
    "GET",
    "/market/position-tier",
    20,
    IP,
    "public",
    (_p("category", required=_R), _p("symbol"), _p("coin")),
    signed=False,
)
UTA_ASSETS = _ep("uta_assets", "GET", "/account/assets", 20, UID, "account")
UTA_SETTINGS = _ep("uta_settings", "GET", "/account/settings", 20, UID, "account")
UTA_REPAYABLE_COINS = _ep(
    "uta_repayable_coins", "GET", "/account/repayable-coins", 10, UID, "account"
)
UTA_PAYMENT_COINS = _ep("uta_payment_coins", "GET", "/account/payment-coins", 10, UID, "account")
UTA_REPAY = _ep(
    "uta_repay",
    "POST",
    "/account/repay",
    5,
    UID,
    "account",
    (_p("repayableCoinList", "list", _R), _p("paymentCoinList", "list", _R)),
    protective=True,
    mutating=True,
)
UTA_PLACE_ORDER = _ep(
    "uta_place_order",
    "POST",
    "/trade/place-order",
    10,
    UID,
    "orders",
    ORDER_FIELDS_V3,
    protective=True,
    mutating=True,
)
UTA_CANCEL_ORDER = _ep(
    "uta_cancel_order",
    "POST",
    "/trade/cancel-order",
    10,
    UID,
    "orders",
    (_p("orderId"), _p("clientOid"), _p("category"), _p("symbol")),
    protective=True,
    mutating=True,
)
UTA_OPEN_ORDERS = _ep(
    "uta_open_orders",
    "GET",
    "/trade/unfilled-orders",
    20,
    UID,
    "orders",
    (
        _p("category"),
        _p("symbol"),
        _p("startTime", "ms"),
        _p("endTime", "ms"),
        _p("limit", "int"),
        _p("cursor"),
    ),
    paging="cursor",
    items_key="list",
)
#: One order by ``orderId`` or ``clientOid`` (what reconciliation asks after a lost answer).
UTA_ORDER_INFO = _ep(
    "uta_order_info",
    "GET",
    "/trade/order-info",
    20,
    UID,
    "orders",
    (_p("orderId"), _p("clientOid"), _p("category"), _p("symbol")),
)

#: Every v3 endpoint riskd declares (the server time first).
ENDPOINTS_V3: tuple[Endpoint, ...] = (
    SERVER_TIME_V3,
    UTA_POSITION_TIER,
    UTA_ASSETS,
    UTA_SETTINGS,
    UTA_REPAYABLE_COINS,
    UTA_PAYMENT_COINS,
    UTA_REPAY,
    UTA_PLACE_ORDER,
    UTA_CANCEL_ORDER,
    UTA_OPEN_ORDERS,
    UTA_ORDER_INFO,
)

BY_NAME_V3: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS_V3}
