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

Candles (spot market, public). ENDPOINTS-v2.md does not list them; the entries follow Bitget's
pages "Get Candlestick Data" and "Get History Candlestick Data" (``/api-doc/spot/market/
Get-Candle-Data`` and ``…/Get-History-Candle-Data``, mirrors www.bitget.com, bitget.ng,
bitget.fit, www.bjxnyj.com), read offline: 20 requests/s per IP each (and the public global
limit), ``candles`` up to 1000 rows a page (default 100), ``history-candles`` up to 200 with
``endTime`` required. ``data`` is a list of rows ``[ts, open, high, low, close, baseVolume,
usdtVolume, quoteVolume]`` of strings, oldest first in the pages' examples. Unconfirmed (⚠,
see docs/candles.md): whether ``startTime``/``endTime`` bound inclusively (one client reports
that ``startTime`` is ignored and the newest ``limit`` rows before ``endTime`` come back);
``3min`` appears on one mirror only; rows of 6 or 7 fields are reported by clients; the phase
of the 3-day lines. The futures (``/api/v2/mix/market/…``) candles are not declared: the
reference lists no futures endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from riskd.bitget.endpoint_types import (
    CandleGranularity,
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

# --- spot market candles (public; see the module docstring)
SPOT_MARKET_PREFIX_V2 = "/api/v2/spot/market"
_CANDLE_KEYS = (_p("symbol", required=_R), _p("granularity", required=_R))
CANDLES_V2 = _ep(
    "candles",
    "GET",
    f"{SPOT_MARKET_PREFIX_V2}/candles",
    20,
    IP,
    "public",
    None,
    (*_CANDLE_KEYS, _p("startTime", "ms"), _p("endTime", "ms"), _p("limit", "int")),
    signed=False,
)
HISTORY_CANDLES_V2 = _ep(
    "history_candles",
    "GET",
    f"{SPOT_MARKET_PREFIX_V2}/history-candles",
    20,
    IP,
    "public",
    None,
    (*_CANDLE_KEYS, _p("endTime", "ms", _R), _p("limit", "int")),
    signed=False,
)
#: Most rows one page of each candle endpoint returns (``limit``), and the default.
CANDLE_PAGE_MAX: Mapping[str, int] = MappingProxyType({"candles": 1000, "history_candles": 200})
CANDLE_PAGE_DEFAULT = 100
#: How far back ``candles`` (the recent endpoint) reaches per granularity, in days, as the
#: page lists it (1m/3m/5m one month, 15m 52 d, 30m 62 d, 1H 83 d, 4H 240 d, 6H 360 d); older
#: rows come from ``history-candles``. Granularities not listed: assumed history-only.
CANDLES_RECENT_DAYS: Mapping[str, int] = MappingProxyType(
    {"1min": 30, "3min": 30, "5min": 30, "15min": 52, "30min": 62, "1h": 83, "4h": 240, "6h": 360}
)
_H, _D = 3600, 86400
_UTC8 = -8 * _H
#: Monday 1970-01-05 00:00 UTC (the epoch was a Thursday).
_MONDAY = 4 * _D


def _g(name: str, seconds: int | None, anchor_s: int = 0) -> CandleGranularity:
    return CandleGranularity(name, seconds, anchor_s)


#: Every ``granularity`` the candle pages list, by its exact (case-sensitive) name: ``1min``
#: is a minute, ``1M`` a month. ``3min`` is listed by one mirror only (⚠).
CANDLE_GRANULARITIES: Mapping[str, CandleGranularity] = MappingProxyType(
    {
        g.name: g
        for g in (
            _g("1min", 60),
            _g("3min", 180),
            _g("5min", 300),
            _g("15min", 900),
            _g("30min", 1800),
            _g("1h", _H),
            _g("4h", 4 * _H),
            _g("6h", 6 * _H, _UTC8),
            _g("12h", 12 * _H, _UTC8),
            _g("1day", _D, _UTC8),
            _g("3day", 3 * _D, _UTC8),
            _g("1week", 7 * _D, _MONDAY + _UTC8),
            _g("1M", None),
            _g("6Hutc", 6 * _H),
            _g("12Hutc", 12 * _H),
            _g("1Dutc", _D),
            _g("3Dutc", 3 * _D),
            _g("1Wutc", 7 * _D, _MONDAY),
            _g("1Mutc", None),
        )
    }
)

#: Every v2 endpoint: the 45 counterparts of v1's margin endpoints, the server time, the
#: three documented v2-only margin endpoints (both liquidation-order lists,
#: interest-rate-record) and the two public spot candle endpoints.
ENDPOINTS_V2: tuple[Endpoint, ...] = (
    SERVER_TIME_V2,
    CURRENCIES_V2,
    *_margin_endpoints_v2("cross"),
    *_margin_endpoints_v2("isolated"),
    INTEREST_RATE_RECORD_V2,
    CANDLES_V2,
    HISTORY_CANDLES_V2,
)

#: The public market-data endpoints outside the margin API (no v1 counterpart either).
MARKET_V2: frozenset[str] = frozenset({"candles", "history_candles"})

#: v2-only logical names (no v1 counterpart).
V2_ONLY: frozenset[str] = frozenset(
    {"cross_liquidation_orders", "isolated_liquidation_orders", "interest_rate_record"} | MARKET_V2
)

BY_NAME_V2: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS_V2}
