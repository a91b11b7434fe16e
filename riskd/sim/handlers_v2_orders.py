"""v2 order endpoints (ENDPOINTS-v2.md §1c): place, batch place, cancel, batch cancel, open
orders, history orders, fills — the v1 trading engine behind v2 field names.

- Order body: ``force`` (gtc / post_only / fok / ioc, any case: ccxt sends ``GTC``),
  ``baseSize`` (limit, market sell), ``quoteSize`` (market buy), ``clientOid`` (≤ 50), ``stpMode``
  (accepted, no effect: the simulator has one user per book). A ``clientOid`` already used by
  the account is refused with 50060; orders are found by ``clientOid`` in cancel, open orders
  and history.
- Batches take at most 20 orders (40306), answer ``{successList, failureList}``; batch cancel
  takes ``orderIdList`` = objects ``{orderId}`` or ``{clientOid}``.
- Lists answer ``{orderList | fills, maxId, minId}``, newest first, paged by ``idLessThan``;
  order statuses are live / partially_filled / filled / cancelled; system fills read
  ``liquidation_sell`` / ``system_repay_buy`` … (fills), ``liquidation-sell`` … (orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from riskd.amounts import fmt8
from riskd.bitget.endpoints import Endpoint, Param, endpoint
from riskd.sim.book import Fill, Order, ScopeBook
from riskd.sim.errors import SimError, param_empty, param_error
from riskd.sim.handlers_common import Ctx, Handler, id_param
from riskd.sim.handlers_v2_common import list_query_v2, order_row_v2, wrap
from riskd.sim.orders import TIME_IN_FORCE, OrderRequest
from riskd.sim.params import Params
from riskd.sim.records import page_of

ZERO = Decimal(0)
BATCH_MAX = 20
CLIENT_OID_MAX = 50


def _item_endpoint() -> Endpoint:
    ep = endpoint("cross_place_order", api="v2")
    params: tuple[Param, ...] = tuple(p for p in ep.params if p.name != "symbol")
    return Endpoint(
        ep.name, ep.method, ep.path, ep.signed, ep.limit, ep.scope, ep.group, ep.margin, params
    )


#: The fields of one order inside ``orderList`` (the place-order parameters minus symbol).
_ORDER_ITEM = _item_endpoint()


def _request(ctx: Ctx, symbol: str, p: Params) -> OrderRequest:
    force = p.req("force").lower()
    if force not in TIME_IN_FORCE:
        raise param_error("force", f"{force!r} is not one of {', '.join(TIME_IN_FORCE)}")
    oid = p.text("clientOid")
    if oid is not None and len(oid) > CLIENT_OID_MAX:
        raise SimError("40305")
    if oid is not None and any(o.client_oid == oid for o in ctx.account.orders):
        raise SimError("50060", detail=f"clientOid {oid!r}")
    return OrderRequest(
        symbol=symbol,
        side=p.req("side"),
        order_type=p.req("orderType"),
        loan_type=p.req("loanType"),
        time_in_force=force,
        price=p.amount("price"),
        base_quantity=p.amount("baseSize"),
        quote_amount=p.amount("quoteSize"),
        client_oid=oid,
    )


def _book_for(ctx: Ctx, symbol: str) -> ScopeBook:
    ctx.ex.catalog.symbol(symbol)
    return ctx.isolated(symbol) if ctx.endpoint.margin == "isolated" else ctx.cross()


def _ids(order: Order) -> dict[str, str]:
    return {"orderId": str(order.id), "clientOid": order.client_oid}


def place_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    req = _request(ctx, symbol, ctx.params)
    return _ids(ctx.ex.trading.place(ctx.account, book, req, ctx.now_s))


def batch_place_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    items = ctx.params.items("orderList")
    if not items:
        raise param_empty("orderList")
    if len(items) > BATCH_MAX:
        raise SimError("40306", BATCH_MAX)
    success: list[dict[str, str]] = []
    failure: list[dict[str, str | None]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise param_error("orderList", "each order must be a JSON object")
        oid = item.get("clientOid")
        try:
            req = _request(ctx, symbol, Params(_ORDER_ITEM, item))
            order = ctx.ex.trading.place(ctx.account, book, req, ctx.now_s)
        except SimError as exc:
            text = oid if isinstance(oid, str) else None
            failure.append({"clientOid": text, "errorMsg": exc.msg, "errorCode": exc.code})
            continue
        success.append(_ids(order))
    return {"successList": success, "failureList": failure}


def _find(ctx: Ctx, book: ScopeBook, order_id: str | None, client_oid: str | None) -> Order:
    oid: int | None = None
    if order_id is not None:
        if not order_id.isdigit():
            raise param_error("orderId", "expected a numeric id")
        oid = int(order_id)
    order = ctx.account.order(book.scope, oid, client_oid)
    if order is None or order.symbol != ctx.params.req("symbol"):
        raise SimError("43001")
    return order


def cancel_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    order_id, client_oid = ctx.params.text("orderId"), ctx.params.text("clientOid")
    if order_id is None and client_oid is None:
        raise param_empty("orderId")
    order = _find(ctx, book, order_id, client_oid)
    ctx.ex.trading.cancel(ctx.account, order, ctx.now_s)
    return _ids(order)


def batch_cancel_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    items = ctx.params.items("orderIdList")
    if not items:
        raise param_empty("orderIdList")
    if len(items) > BATCH_MAX:
        raise SimError("40306", BATCH_MAX)
    success: list[dict[str, str]] = []
    failure: list[dict[str, str | None]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise param_error("orderIdList", "each entry is an object {orderId} or {clientOid}")
        raw_id, raw_oid = item.get("orderId"), item.get("clientOid")
        order_id = str(raw_id) if isinstance(raw_id, (str, int)) and raw_id != "" else None
        client_oid = raw_oid if isinstance(raw_oid, str) and raw_oid else None
        try:
            if order_id is None and client_oid is None:
                raise param_empty("orderId")
            order = _find(ctx, book, order_id, client_oid)
            ctx.ex.trading.cancel(ctx.account, order, ctx.now_s)
        except SimError as exc:
            failure.append({"orderId": order_id, "clientOid": client_oid, "errorMsg": exc.msg})
            continue
        success.append(_ids(order))
    return {"successList": success, "failureList": failure}


def _orders(ctx: Ctx, open_only: bool) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    q = list_query_v2(ctx)
    order_id = id_param(ctx, "orderId")
    client_oid = ctx.params.text("clientOid")
    source = ctx.params.text("enterPointSource") if not open_only else None

    def match(o: Order) -> bool:
        return (
            o.scope == book.scope
            and o.symbol == symbol
            and (not open_only or o.is_open)
            and (order_id is None or o.id == order_id)
            and (client_oid is None or o.client_oid == client_oid)
            and (source is None or o.source.lower() == source.lower())
        )

    page = page_of(
        ctx.account.orders,
        page_size=q.limit,
        below_id=q.id_less_than,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        where=match,
    )
    return wrap("orderList", [order_row_v2(o) for o in page.items], page)


def open_orders(ctx: Ctx) -> object:
    return _orders(ctx, open_only=True)


def order_history(ctx: Ctx) -> object:
    return _orders(ctx, open_only=False)


def fill_side(side: str) -> str:
    """Fills spell system sides with underscores: ``systemRepay-buy`` → ``system_repay_buy``."""
    return side.replace("systemRepay", "system_repay").replace("-", "_")


def fill_row_v2(f: Fill) -> dict[str, object]:
    return {
        "orderId": str(f.order_id),
        "tradeId": str(f.id),
        "orderType": f.order_type,
        "side": fill_side(f.side),
        "priceAvg": fmt8(f.fill_price),
        "size": fmt8(f.fill_quantity),
        "amount": fmt8(f.fill_total),
        "tradeScope": "taker",
        "feeDetail": {
            "deduction": "no",
            "feeCoin": f.fee_ccy,
            "totalDeductionFee": fmt8(ZERO),
            "totalFee": fmt8(-f.fee),
        },
        "cTime": str(f.ctime_ms),
        "uTime": str(f.ctime_ms),
    }


def fills(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    q = list_query_v2(ctx)
    order_id = id_param(ctx, "orderId")
    page = page_of(
        ctx.account.fills,
        page_size=q.limit,
        below_id=q.id_less_than,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        where=lambda f: (
            f.scope == book.scope
            and f.symbol == symbol
            and (order_id is None or f.order_id == order_id)
        ),
    )
    return wrap("fills", [fill_row_v2(f) for f in page.items], page)


HANDLERS: dict[str, Handler] = {}
for _m in ("cross", "isolated"):
    HANDLERS.update(
        {
            f"{_m}_place_order": place_order,
            f"{_m}_batch_place_order": batch_place_order,
            f"{_m}_cancel_order": cancel_order,
            f"{_m}_batch_cancel_order": batch_cancel_order,
            f"{_m}_open_orders": open_orders,
            f"{_m}_order_history": order_history,
            f"{_m}_fills": fills,
        }
    )
