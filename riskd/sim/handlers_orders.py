"""Order endpoints: place, batch place, cancel, batch cancel, open orders, history, fills."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from riskd.amounts import fmt8
from riskd.bitget.endpoints import BY_NAME
from riskd.sim.book import Fill, Order, ScopeBook
from riskd.sim.errors import SimError, param_empty, param_error
from riskd.sim.handlers_common import Ctx, Handler, id_param, list_query
from riskd.sim.orders import OrderRequest
from riskd.sim.params import Params
from riskd.sim.records import page_of

ZERO = Decimal(0)
BATCH_MAX = 50
#: The fields of one order inside ``orderList`` (the place-order parameters minus symbol).
_ORDER_ITEM = dataclasses.replace(
    BY_NAME["cross_place_order"],
    params=tuple(p for p in BY_NAME["cross_place_order"].params if p.name != "symbol"),
)


def _request(symbol: str, p: Params) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=p.req("side"),
        order_type=p.req("orderType"),
        loan_type=p.req("loanType"),
        time_in_force=p.req("timeInForce"),
        price=p.amount("price"),
        base_quantity=p.amount("baseQuantity"),
        quote_amount=p.amount("quoteAmount"),
        client_oid=p.text("clientOid"),
    )


def _book_for(ctx: Ctx, symbol: str) -> ScopeBook:
    ctx.ex.catalog.symbol(symbol)
    return ctx.isolated(symbol) if ctx.endpoint.margin == "isolated" else ctx.cross()


def place_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    order = ctx.ex.trading.place(ctx.account, book, _request(symbol, ctx.params), ctx.now_s)
    return {"orderId": str(order.id), "clientOid": order.client_oid}


def batch_place_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    items = ctx.params.items("orderList")
    if not items:
        raise param_empty("orderList")
    if len(items) > BATCH_MAX:
        raise SimError("40058", "orderList", BATCH_MAX)
    results: list[dict[str, str]] = []
    failures: list[dict[str, str | None]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise param_error("orderList", "each order must be a JSON object")
        client_oid = item.get("clientOid")
        oid_text = client_oid if isinstance(client_oid, str) else None
        try:
            req = _request(symbol, Params(_ORDER_ITEM, item))
            order = ctx.ex.trading.place(ctx.account, book, req, ctx.now_s)
        except SimError as exc:
            failures.append({"clientOid": oid_text, "errorMsg": exc.msg, "errorCode": exc.code})
            continue
        results.append({"orderId": str(order.id), "clientOid": order.client_oid})
    return {"resultList": results, "failure": failures}


def _cancel(
    ctx: Ctx, book: ScopeBook, order_id: str | None, client_oid: str | None
) -> tuple[dict[str, str] | None, dict[str, str | None] | None]:
    oid: int | None = None
    if order_id is not None:
        if not order_id.isdigit():
            return None, {"orderId": order_id, "clientOid": client_oid, "errorMsg": "bad orderId"}
        oid = int(order_id)
    order = ctx.account.order(book.scope, oid, client_oid)
    if order is None or (order.symbol != ctx.params.req("symbol")):
        fail = {"orderId": order_id, "clientOid": client_oid, "errorMsg": "order does not exist"}
        return None, fail
    try:
        ctx.ex.trading.cancel(ctx.account, order, ctx.now_s)
    except SimError as exc:
        return None, {"orderId": str(order.id), "clientOid": order.client_oid, "errorMsg": exc.msg}
    return {"orderId": str(order.id), "clientOid": order.client_oid}, None


def cancel_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    order_id, client_oid = ctx.params.text("orderId"), ctx.params.text("clientOid")
    if order_id is None and client_oid is None:
        raise param_empty("orderId")
    ok, fail = _cancel(ctx, book, order_id, client_oid)
    return {"resultList": [ok] if ok else [], "failure": [fail] if fail else []}


def batch_cancel_order(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    order_ids = ctx.params.texts("orderIds", BATCH_MAX)
    client_oids = ctx.params.texts("clientOids", BATCH_MAX)
    if not order_ids and not client_oids:
        raise param_empty("orderIds")
    results, failures = [], []
    targets = [(o, None) for o in order_ids] + [(None, c) for c in client_oids]
    for order_id, client_oid in targets:
        ok, fail = _cancel(ctx, book, order_id, client_oid)
        if ok:
            results.append(ok)
        if fail:
            failures.append(fail)
    return {"resultList": results, "failure": failures}


def order_row(o: Order) -> dict[str, str]:
    qty = o.base_quantity if o.base_quantity is not None else o.fill_quantity
    quote = o.quote_amount
    if quote is None:
        quote = o.fill_total if o.price is None else (qty * o.price)
    return {
        "symbol": o.symbol,
        "orderType": o.order_type,
        "source": o.source,
        "orderId": str(o.id),
        "clientOid": o.client_oid,
        "price": fmt8(o.price if o.price is not None else ZERO),
        "loanType": o.loan_type,
        "timeInForce": o.time_in_force,
        "side": o.side,
        "status": o.status,
        "baseQuantity": fmt8(qty),
        "quoteAmount": fmt8(quote),
        "fillPrice": fmt8(o.fill_price),
        "fillQuantity": fmt8(o.fill_quantity),
        "fillTotalAmount": fmt8(o.fill_total),
        "cTime": str(o.ctime_ms),
    }


def fill_row(f: Fill) -> dict[str, str]:
    return {
        "symbol": f.symbol,
        "orderId": str(f.order_id),
        "fillId": str(f.id),
        "orderType": f.order_type,
        "side": f.side,
        "fillPrice": fmt8(f.fill_price),
        "fillQuantity": fmt8(f.fill_quantity),
        "fillTotalAmount": fmt8(f.fill_total),
        "cTime": str(f.ctime_ms),
        "feeCcy": f.fee_ccy,
        "fees": fmt8(f.fee),
    }


def _orders(ctx: Ctx, open_only: bool, paging: str | None) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    q = list_query(ctx)
    order_id = id_param(ctx, "orderId")
    client_oid = ctx.params.text("clientOid")
    source = ctx.params.text("source")

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
        page_size=q.page_size,
        below_id=id_param(ctx, paging) if paging else None,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        where=match,
    )
    return {
        "orderList": [order_row(o) for o in page.items],
        "maxId": page.max_id,
        "minId": page.min_id,
    }


def open_orders(ctx: Ctx) -> object:
    return _orders(ctx, open_only=True, paging=None)


def order_history(ctx: Ctx) -> object:
    return _orders(ctx, open_only=False, paging="minId")


def fills(ctx: Ctx) -> object:
    symbol = ctx.params.req("symbol")
    book = _book_for(ctx, symbol)
    q = list_query(ctx)
    order_id = id_param(ctx, "orderId")
    page = page_of(
        ctx.account.fills,
        page_size=q.page_size,
        below_id=id_param(ctx, "lastFillId"),
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        where=lambda f: (
            f.scope == book.scope
            and f.symbol == symbol
            and (order_id is None or f.order_id == order_id)
        ),
    )
    return {
        "resultList": [fill_row(f) for f in page.items],
        "maxId": page.max_id,
        "minId": page.min_id,
    }


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
