"""The Bitget margin REST API surface, v1 and v2, declared once as data.

The client (``riskd.bitget.client``), the simulator (``riskd.sim``) and the rate budget
(``riskd.budget``) all read this table, so a method, a limit or a parameter is never written
twice. Source: ``shared/reference/ENDPOINTS.md`` and the official document beside it.

Each :class:`Endpoint` names the client method (``name``), the HTTP method (several reads are
POST), the full path, whether it is signed, its rate limit and the scope the limit is counted
in (IP or UID), and its request parameters with the document's "required" flags.

Both API versions live here (v2 in :mod:`riskd.bitget.endpoints_v2`, re-exported): a v1
endpoint and its v2 counterpart share one logical ``name``; pick the version with
``endpoint(name, api="v2")``. The v1-only names (``ENDPOINTS``, ``BY_NAME``, ``BY_ROUTE``,
``endpoint(name)``) keep their meaning; v1 is decommissioned upstream (ENDPOINTS-v2.md).

The Unified Trading Account endpoints (API v3, :mod:`riskd.bitget.endpoints_v3`) are part of
the same table: ``ALL_ENDPOINTS``, ``by_route``, ``endpoint(name, api="v3")``. Their names
start with ``uta_`` (except ``server_time``): they have no classic counterpart.
"""

from __future__ import annotations

from riskd.bitget.endpoint_types import (
    APIS,
    PUBLIC_GLOBAL_LIMIT,
    PUBLIC_GLOBAL_WINDOW_S,
    Api,
    Endpoint,
    Group,
    LimitScope,
    Margin,
    Paging,
    Param,
    ParamKind,
)
from riskd.bitget.endpoints_v2 import (
    BY_NAME_V2,
    ENDPOINTS_V2,
    PREFIX_V2,
    SERVER_TIME_PATH_V2,
    SERVER_TIME_V2,
)
from riskd.bitget.endpoints_v3 import (
    BY_NAME_V3,
    ENDPOINTS_V3,
    PREFIX_V3,
    SERVER_TIME_PATH_V3,
    SERVER_TIME_V3,
)

__all__ = [
    "ALL_BY_ROUTE",
    "ALL_ENDPOINTS",
    "APIS",
    "BY_NAME",
    "BY_NAME_V2",
    "BY_NAME_V3",
    "BY_ROUTE",
    "ENDPOINTS",
    "ENDPOINTS_V1",
    "ENDPOINTS_V2",
    "ENDPOINTS_V3",
    "PREFIX",
    "PREFIX_V2",
    "PREFIX_V3",
    "PUBLIC_GLOBAL_LIMIT",
    "PUBLIC_GLOBAL_WINDOW_S",
    "SERVER_TIME",
    "SERVER_TIME_PATH",
    "SERVER_TIME_PATH_V2",
    "SERVER_TIME_PATH_V3",
    "SERVER_TIME_V2",
    "SERVER_TIME_V3",
    "Api",
    "Endpoint",
    "Group",
    "LimitScope",
    "Margin",
    "Paging",
    "Param",
    "ParamKind",
    "by_path",
    "by_route",
    "endpoint",
    "endpoints",
    "server_time",
]

PREFIX = "/api/margin/v1"
SERVER_TIME_PATH = "/api/spot/v1/public/time"


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

#: Every v1 endpoint: the 45 margin endpoints of ENDPOINTS.md plus the server time.
ENDPOINTS: tuple[Endpoint, ...] = (
    SERVER_TIME,
    CURRENCIES,
    *_margin_endpoints("cross"),
    *_margin_endpoints("isolated"),
)
ENDPOINTS_V1 = ENDPOINTS

#: v1 only (names are shared with v2; use :func:`endpoint` with ``api=`` for v2).
BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
#: v1 only; :data:`ALL_BY_ROUTE` / :func:`by_route` cover both versions.
BY_ROUTE: dict[tuple[str, str], Endpoint] = {(e.method, e.path): e for e in ENDPOINTS}

#: Every version, v1 first, then v2 and v3 (UTA). ``(api, name)`` and ``path`` are unique.
ALL_ENDPOINTS: tuple[Endpoint, ...] = (*ENDPOINTS, *ENDPOINTS_V2, *ENDPOINTS_V3)
ALL_BY_ROUTE: dict[tuple[str, str], Endpoint] = {(e.method, e.path): e for e in ALL_ENDPOINTS}
_BY_PATH: dict[str, Endpoint] = {e.path: e for e in ALL_ENDPOINTS}
_BY_API: dict[Api, dict[str, Endpoint]] = {"v1": BY_NAME, "v2": BY_NAME_V2, "v3": BY_NAME_V3}
_ENDPOINTS_BY_API: dict[Api, tuple[Endpoint, ...]] = {
    "v1": ENDPOINTS,
    "v2": ENDPOINTS_V2,
    "v3": ENDPOINTS_V3,
}
_SERVER_TIME_BY_API: dict[Api, Endpoint] = {
    "v1": SERVER_TIME,
    "v2": SERVER_TIME_V2,
    "v3": SERVER_TIME_V3,
}


def endpoint(name: str, api: Api = "v1") -> Endpoint:
    """Look an endpoint up by its logical (client-method) name in one API version."""
    table = _BY_API.get(api)
    if table is None:
        raise KeyError(f"no API version {api!r}; use one of {', '.join(APIS)}")
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"no endpoint named {name!r} in API {api}") from None


def endpoints(api: Api) -> tuple[Endpoint, ...]:
    """Every endpoint of one API version (its server time included)."""
    return _ENDPOINTS_BY_API[api]


def server_time(api: Api) -> Endpoint:
    """The server time endpoint of one API version."""
    return _SERVER_TIME_BY_API[api]


def by_path(path: str) -> Endpoint | None:
    """The endpoint (any version) at ``path`` (query string ignored), or ``None``."""
    return _BY_PATH.get(path.split("?", 1)[0])


def by_route(method: str, path: str) -> Endpoint | None:
    """The endpoint (any version) for ``method`` and ``path``, or ``None``."""
    return ALL_BY_ROUTE.get((method.upper(), path.split("?", 1)[0]))
