"""The Bitget margin REST API v1 surface, declared once as data.

The client (``riskd.bitget.client``), the simulator (``riskd.sim``) and the rate budget
(``riskd.budget``) all read this table, so a method, a limit or a parameter is never written
twice. Source: ``shared/reference/ENDPOINTS.md`` and the official document beside it.

Each :class:`Endpoint` names the client method (``name``), the HTTP method (several reads are
POST), the full path, whether it is signed, its rate limit and the scope the limit is counted
in (IP or UID), and its request parameters with the document's "required" flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

PREFIX = "/api/margin/v1"
SERVER_TIME_PATH = "/api/spot/v1/public/time"

#: Public market-data interfaces share one more limit: 20 requests per 2 seconds per IP.
PUBLIC_GLOBAL_LIMIT = 20
PUBLIC_GLOBAL_WINDOW_S = 2


class LimitScope(StrEnum):
    """Who a rate limit is counted for."""

    IP = "IP"
    UID = "UID"


ParamKind = Literal["str", "decimal", "int", "ms", "list", "orders"]
Paging = Literal["minId", "pageId", "lastFillId"]
Group = Literal["public", "account", "orders", "records"]
Margin = Literal["cross", "isolated"]


@dataclass(frozen=True, slots=True)
class Param:
    """One request parameter as the document lists it."""

    name: str
    kind: ParamKind = "str"
    required: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST endpoint."""

    name: str
    method: Literal["GET", "POST"]
    path: str
    signed: bool
    limit: int
    scope: LimitScope
    group: Group
    margin: Margin | None
    params: tuple[Param, ...] = ()
    paging: Paging | None = None
    #: Moves money or orders: given priority and a reserved share by the budget.
    protective: bool = False
    #: Changes state at the exchange: never retried blindly.
    mutating: bool = False
    window_s: int = 1

    @property
    def public(self) -> bool:
        return not self.signed


def _p(name: str, kind: ParamKind = "str", required: bool = False) -> Param:
    return Param(name, kind, required)


_REQ = True
IP, UID = LimitScope.IP, LimitScope.UID

_ORDER_FIELDS = (
    _p("orderType", required=_REQ),
    _p("price", "decimal"),
    _p("loanType", required=_REQ),
    _p("timeInForce", required=_REQ),
    _p("baseQuantity", "decimal"),
    _p("quoteAmount", "decimal"),
    _p("clientOid"),
    _p("side", required=_REQ),
)


def _margin_endpoints(m: Margin) -> list[Endpoint]:
    iso = m == "isolated"
    sym_req = (_p("symbol", required=_REQ),) if iso else ()
    order_limit = 5 if iso else 10
    base = f"{PREFIX}/{m}"
    eps: list[Endpoint] = [
        # --- public
        Endpoint(
            f"{m}_interest_rate_and_limit",
            "GET",
            f"{base}/public/interestRateAndLimit",
            False,
            10,
            IP,
            "public",
            m,
            (_p("symbol", required=_REQ),) if iso else (_p("coin", required=_REQ),),
        ),
        Endpoint(
            f"{m}_tier_data",
            "GET",
            f"{base}/public/tierData",
            False,
            10,
            IP,
            "public",
            m,
            (_p("symbol", required=_REQ),) if iso else (_p("coin", required=_REQ),),
        ),
        # --- account
        Endpoint(
            f"{m}_assets",
            "GET",
            f"{base}/account/assets",
            True,
            10,
            IP,
            "account",
            m,
            (_p("symbol"),) if iso else (_p("coin"),),
        ),
        Endpoint(
            f"{m}_borrow",
            "POST",
            f"{base}/account/borrow",
            True,
            10,
            UID,
            "account",
            m,
            (_p("coin", required=_REQ), _p("borrowAmount", "decimal", _REQ), *sym_req),
            mutating=True,
        ),
        Endpoint(
            f"{m}_repay",
            "POST",
            f"{base}/account/repay",
            True,
            10,
            UID,
            "account",
            m,
            (_p("coin", required=_REQ), _p("repayAmount", "decimal", _REQ), *sym_req),
            protective=True,
            mutating=True,
        ),
        Endpoint(
            f"{m}_risk_rate",
            "POST" if iso else "GET",
            f"{base}/account/riskRate",
            True,
            10,
            UID if iso else IP,
            "account",
            m,
            (_p("symbol", required=_REQ), _p("pageNum", "int"), _p("pageSize", "int"))
            if iso
            else (_p("coin", required=_REQ),),
        ),
        Endpoint(
            f"{m}_max_borrowable",
            "POST",
            f"{base}/account/maxBorrowableAmount",
            True,
            10,
            UID,
            "account",
            m,
            (_p("coin", required=_REQ), *sym_req),
        ),
        Endpoint(
            f"{m}_max_transfer_out",
            "GET",
            f"{base}/account/maxTransferOutAmount",
            True,
            10,
            IP,
            "account",
            m,
            (_p("coin", required=_REQ), *sym_req),
        ),
        Endpoint(
            f"{m}_flash_repay",
            "POST",
            f"{base}/account/flashRepay",
            True,
            10,
            UID,
            "account",
            m,
            (_p("symbols", "list"),) if iso else (_p("coin"),),
            protective=True,
            mutating=True,
        ),
        Endpoint(
            f"{m}_flash_repay_status",
            "POST",
            f"{base}/account/queryFlashRepayStatus",
            True,
            10,
            UID,
            "account",
            m,
            (_p("idList", "list", _REQ),),
        ),
        # --- orders
        Endpoint(
            f"{m}_place_order",
            "POST",
            f"{base}/order/placeOrder",
            True,
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_REQ), *_ORDER_FIELDS),
            protective=True,
            mutating=True,
        ),
        Endpoint(
            f"{m}_batch_place_order",
            "POST",
            f"{base}/order/batchPlaceOrder",
            True,
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_REQ), _p("orderList", "orders", _REQ)),
            protective=True,
            mutating=True,
        ),
        Endpoint(
            f"{m}_cancel_order",
            "POST",
            f"{base}/order/cancelOrder",
            True,
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_REQ), _p("orderId"), _p("clientOid")),
            protective=True,
            mutating=True,
        ),
        Endpoint(
            f"{m}_batch_cancel_order",
            "POST",
            f"{base}/order/batchCancelOrder",
            True,
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_REQ), _p("orderIds", "list"), _p("clientOids", "list")),
            protective=True,
            mutating=True,
        ),
        Endpoint(
            f"{m}_open_orders",
            "GET",
            f"{base}/order/openOrders",
            True,
            10,
            UID,
            "orders",
            m,
            (
                _p("symbol", required=_REQ),
                _p("orderId"),
                _p("clientOid"),
                _p("startTime", "ms"),
                _p("endTime", "ms"),
                _p("pageSize", "int"),
            ),
        ),
        Endpoint(
            f"{m}_order_history",
            "GET",
            f"{base}/order/history",
            True,
            10,
            UID,
            "orders",
            m,
            (
                _p("symbol", required=_REQ),
                _p("orderId"),
                _p("source"),
                _p("clientOid"),
                _p("startTime", "ms", _REQ),
                _p("endTime", "ms"),
                _p("pageSize", "int"),
                _p("minId"),
            ),
            paging="minId",
        ),
        Endpoint(
            f"{m}_fills",
            "GET",
            f"{base}/order/fills",
            True,
            10,
            UID,
            "orders",
            m,
            (
                _p("symbol", required=_REQ),
                _p("orderId"),
                _p("lastFillId"),
                _p("startTime", "ms", _REQ),
                _p("endTime", "ms"),
                _p("pageSize", "int"),
            ),
            paging="lastFillId",
        ),
    ]
    # --- records
    for kind, id_name in (
        ("loan", "loanId"),
        ("repay", "repayId"),
        ("interest", None),
        ("liquidation", None),
        ("fin", None),
    ):
        params: list[Param] = list(sym_req)
        if id_name:
            params.append(_p(id_name))
        if kind == "fin":
            params.append(_p("marginType"))
        if kind != "liquidation":
            params.append(_p("coin"))
        params.append(_p("startTime", "ms", _REQ))
        if kind != "interest":
            params.append(_p("endTime", "ms"))
        params += [_p("pageSize", "int"), _p("pageId")]
        if kind == "liquidation" and iso:
            # The document lists no "required" column for the isolated liquidation list.
            params = [Param(p.name, p.kind, False) for p in params]
        plural = {
            "loan": "loans",
            "repay": "repays",
            "interest": "interests",
            "liquidation": "liquidations",
            "fin": "fin_flows",
        }[kind]
        eps.append(
            Endpoint(
                f"{m}_{plural}",
                "GET",
                f"{base}/{kind}/list",
                True,
                10,
                UID,
                "records",
                m,
                tuple(params),
                paging="pageId",
            )
        )
    return eps


SERVER_TIME = Endpoint("server_time", "GET", SERVER_TIME_PATH, False, 20, IP, "public", None)

CURRENCIES = Endpoint(
    "currencies", "GET", f"{PREFIX}/public/currencies", False, 20, IP, "public", None
)

#: Every endpoint: the 45 margin endpoints of ENDPOINTS.md plus the server time.
ENDPOINTS: tuple[Endpoint, ...] = (
    SERVER_TIME,
    CURRENCIES,
    *_margin_endpoints("cross"),
    *_margin_endpoints("isolated"),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
BY_ROUTE: dict[tuple[str, str], Endpoint] = {(e.method, e.path): e for e in ENDPOINTS}


def endpoint(name: str) -> Endpoint:
    """Look an endpoint up by its client-method name."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no endpoint named {name!r}") from None
