"""The Bitget margin REST API v2 surface (classic accounts), declared once as data.

Source: ``shared/reference/ENDPOINTS-v2.md`` §1 (row numbers in the comments). Every v1
endpoint has a counterpart here under the same logical ``name``; §1e adds the liquidation
orders and the interest-rate record. Re-exported by :mod:`riskd.bitget.endpoints`, which is
the module to import.

Decisions where the reference marks a disagreement (⚠):

- isolated place-order and batch-place-order: 10/s on the EN pages, 5/s on zh-CN and after
  v1's 2024 cut: budgeted 5/s, as the reference advises (§2.7); isolated cancel and batch
  cancel are budgeted 5/s too, like v1 (reads stay 10/s);
- cross interest-rate-and-limit takes ``coin`` (curl example and three clients), not ``symbol``;
- isolated open orders: ``startTime`` is declared required (always sent);
- isolated batch cancel: ``orderIdList`` optional as its table says (cross: required);
- the server time limit is unconfirmed: 20/s per IP like v1.
"""

from __future__ import annotations

from typing import Literal

from riskd.bitget.endpoint_types import (
    Endpoint,
    Group,
    LimitScope,
    Margin,
    Paging,
    Param,
    ParamKind,
)

PREFIX_V2 = "/api/v2/margin"
SERVER_TIME_PATH_V2 = "/api/v2/public/time"

IP, UID = LimitScope.IP, LimitScope.UID
_R = True


def _p(name: str, kind: ParamKind = "str", required: bool = False) -> Param:
    return Param(name, kind, required)


#: §1c order body (place-order; batch entries are the same minus ``symbol``).
ORDER_FIELDS_V2: tuple[Param, ...] = (
    _p("side", required=_R),
    _p("orderType", required=_R),
    _p("loanType", required=_R),
    _p("force", required=_R),
    _p("price", "decimal"),
    _p("baseSize", "decimal"),
    _p("quoteSize", "decimal"),
    _p("clientOid"),
    _p("stpMode"),
)

#: §1d common record parameters (cursor ``idLessThan`` = previous page's ``minId``).
_WINDOW = (
    _p("startTime", "ms", _R),
    _p("endTime", "ms"),
    _p("limit", "int"),
    _p("idLessThan"),
)


def _ep(
    name: str,
    method: Literal["GET", "POST"],
    path: str,
    limit: int,
    scope: LimitScope,
    group: Group,
    margin: Margin | None,
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
        path,
        signed,
        limit,
        scope,
        group,
        margin,
        params,
        paging,
        protective,
        mutating,
        api="v2",
        items_key=items_key,
    )


def _margin_endpoints_v2(m: Margin) -> list[Endpoint]:
    iso = m == "isolated"
    seg = "isolated" if iso else "crossed"
    base = f"{PREFIX_V2}/{seg}"
    sym_r = (_p("symbol", required=_R),) if iso else ()
    # config/account "10 IP" on the cross side, UID on the isolated side (#1-#4)
    cfg_scope = UID if iso else IP
    key = _p("symbol", required=_R) if iso else _p("coin", required=_R)
    order_limit = 5 if iso else 10
    oid = (_p("orderId"), _p("clientOid"))
    eps: list[Endpoint] = [
        # --- §1a configuration (now signed)
        _ep(
            f"{m}_interest_rate_and_limit",
            "GET",
            f"{base}/interest-rate-and-limit",
            10,
            cfg_scope,
            "public",
            m,
            (key,),
        ),
        _ep(f"{m}_tier_data", "GET", f"{base}/tier-data", 10, cfg_scope, "public", m, (key,)),
        # --- §1b account
        _ep(
            f"{m}_assets",
            "GET",
            f"{base}/account/assets",
            10,
            UID,
            "account",
            m,
            (_p("symbol"),) if iso else (_p("coin"),),
        ),
        _ep(
            f"{m}_borrow",
            "POST",
            f"{base}/account/borrow",
            10,
            UID,
            "account",
            m,
            (*sym_r, _p("coin", required=_R), _p("borrowAmount", "decimal", _R), _p("clientOid")),
            mutating=True,
        ),
        _ep(
            f"{m}_repay",
            "POST",
            f"{base}/account/repay",
            10,
            UID,
            "account",
            m,
            (
                *sym_r,
                _p("coin", required=_R),
                _p("repayAmount", "decimal", _R),
                *((_p("clientOid"),) if iso else ()),
            ),
            protective=True,
            mutating=True,
        ),
        _ep(
            f"{m}_risk_rate",
            "GET",
            f"{base}/account/risk-rate",
            10,
            UID,
            "account",
            m,
            (_p("symbol"), _p("pageNum", "int"), _p("pageSize", "int")) if iso else (),
            paging="pageNum" if iso else None,
        ),
        _ep(
            f"{m}_max_borrowable",
            "GET",
            f"{base}/account/max-borrowable-amount",
            10,
            UID,
            "account",
            m,
            (key,),
        ),
        _ep(
            f"{m}_max_transfer_out",
            "GET",
            f"{base}/account/max-transfer-out-amount",
            10,
            UID,
            "account",
            m,
            (key,),
        ),
        _ep(
            f"{m}_flash_repay",
            "POST",
            f"{base}/account/flash-repay",
            10,
            UID,
            "account",
            m,
            (_p("symbolList", "list"),) if iso else (_p("coin"),),
            protective=True,
            mutating=True,
        ),
        _ep(
            f"{m}_flash_repay_status",
            "POST",
            f"{base}/account/query-flash-repay-status",
            10,
            UID,
            "account",
            m,
            (_p("idList", "list", _R),),
        ),
        # --- §1c orders
        _ep(
            f"{m}_place_order",
            "POST",
            f"{base}/place-order",
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_R), *ORDER_FIELDS_V2),
            protective=True,
            mutating=True,
        ),
        _ep(
            f"{m}_batch_place_order",
            "POST",
            f"{base}/batch-place-order",
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_R), _p("orderList", "orders", _R)),
            protective=True,
            mutating=True,
        ),
        _ep(
            f"{m}_cancel_order",
            "POST",
            f"{base}/cancel-order",
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_R), *oid),
            protective=True,
            mutating=True,
        ),
        _ep(
            f"{m}_batch_cancel_order",
            "POST",
            f"{base}/batch-cancel-order",
            order_limit,
            UID,
            "orders",
            m,
            (_p("symbol", required=_R), _p("orderIdList", "objects", not iso)),
            protective=True,
            mutating=True,
        ),
        _ep(
            f"{m}_open_orders",
            "GET",
            f"{base}/open-orders",
            10,
            UID,
            "orders",
            m,
            (
                _p("symbol", required=_R),
                _p("startTime", "ms", _R),
                _p("endTime", "ms"),
                *oid,
                _p("limit", "int"),
                *(() if iso else (_p("idLessThan"),)),
            ),
            paging=None if iso else "idLessThan",
            items_key="orderList",
        ),
        _ep(
            f"{m}_order_history",
            "GET",
            f"{base}/history-orders",
            10,
            UID,
            "orders",
            m,
            (_p("symbol", required=_R), *oid, _p("enterPointSource"), *_WINDOW),
            paging="idLessThan",
            items_key="orderList",
        ),
        _ep(
            f"{m}_fills",
            "GET",
            f"{base}/fills",
            10,
            UID,
            "orders",
            m,
            (_p("symbol", required=_R), _p("orderId"), *_WINDOW),
            paging="idLessThan",
            items_key="fills",
        ),
        # --- §1e liquidation orders (v2 only)
        _ep(
            f"{m}_liquidation_orders",
            "GET",
            f"{base}/liquidation-order",
            10,
            UID,
            "records",
            m,
            (
                _p("type"),
                _p("symbol"),
                _p("fromCoin"),
                _p("toCoin"),
                _p("startTime", "ms"),
                _p("endTime", "ms"),
                _p("limit", "int"),
                _p("idLessThan"),
            ),
            paging="idLessThanReply",
            items_key="resultList",
        ),
    ]
    # --- §1d records
    records: tuple[tuple[str, str, tuple[Param, ...], LimitScope], ...] = (
        ("loans", "borrow-history", (_p("loanId"), _p("coin")), UID),
        ("repays", "repay-history", (_p("repayId"), _p("coin")), UID if iso else IP),
        ("interests", "interest-history", (_p("coin"),), UID),
        ("liquidations", "liquidation-history", (), UID),
        ("fin_flows", "financial-records", (_p("marginType"), _p("coin")), UID),
    )
    for plural, slug, extra, scope in records:
        eps.append(
            _ep(
                f"{m}_{plural}",
                "GET",
                f"{base}/{slug}",
                10,
                scope,
                "records",
                m,
                (*sym_r, *extra, *_WINDOW),
                paging="idLessThan",
                items_key="resultList",
            )
        )
    return eps


SERVER_TIME_V2 = _ep(
    "server_time", "GET", SERVER_TIME_PATH_V2, 20, IP, "public", None, signed=False
)
CURRENCIES_V2 = _ep(
    "currencies", "GET", f"{PREFIX_V2}/currencies", 10, IP, "public", None, signed=False
)
#: §1e: signed, 10/s per IP.
INTEREST_RATE_RECORD_V2 = _ep(
    "interest_rate_record",
    "GET",
    f"{PREFIX_V2}/interest-rate-record",
    10,
    IP,
    "public",
    None,
    (_p("coin", required=_R),),
)

#: Every v2 endpoint: the 45 counterparts of v1's margin endpoints, the server time and the
#: three documented v2-only endpoints (both liquidation-order lists, interest-rate-record).
ENDPOINTS_V2: tuple[Endpoint, ...] = (
    SERVER_TIME_V2,
    CURRENCIES_V2,
    *_margin_endpoints_v2("cross"),
    *_margin_endpoints_v2("isolated"),
    INTEREST_RATE_RECORD_V2,
)

#: v2-only logical names (no v1 counterpart).
V2_ONLY: frozenset[str] = frozenset(
    {"cross_liquidation_orders", "isolated_liquidation_orders", "interest_rate_record"}
)

BY_NAME_V2: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS_V2}
