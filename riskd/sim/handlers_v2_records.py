"""v2 record lists (ENDPOINTS-v2.md §1d) and liquidation orders (§1e), over the same records as
v1, in v2's field names.

Every list pages by ``idLessThan`` (pass the previous page's ``minId``) with ``limit`` (default
100, max 500); ``startTime`` is required and the window is at most 90 days. Replies are
``{resultList, maxId, minId}``; the liquidation-order lists return their cursor as
``idLessThan`` instead. Isolated repay types use hyphens (``auto-repay``) as the isolated page
lists them, cross ones underscores (``auto_repay``): clients must accept both (§1 #39 ⚠).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from riskd.amounts import fmt8
from riskd.risk.snapshot import CROSS, isolated_scope
from riskd.sim.book import Order
from riskd.sim.handlers_common import Ctx, Handler, id_param
from riskd.sim.handlers_v2_common import BORROW_TYPE_V2, REPAY_TYPE_V2, list_query_v2, wrap
from riskd.sim.records import Page, Record, RecordKind, page_of

Row = dict[str, object]


def _scope(ctx: Ctx) -> str:
    if ctx.endpoint.margin != "isolated":
        return CROSS
    symbol = ctx.params.req("symbol")
    ctx.ex.catalog.symbol(symbol)
    return isolated_scope(symbol)


def _page(ctx: Ctx, kind: RecordKind, id_name: str | None = None) -> Page[Record]:
    q = list_query_v2(ctx)
    coin = ctx.params.text("coin") if ctx.endpoint.param("coin") else None
    if coin is not None:
        ctx.ex.catalog.coin(coin)
    return ctx.account.records.query(
        kind,
        _scope(ctx),
        page_size=q.limit,
        below_id=q.id_less_than,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        coin=coin,
        type_=ctx.params.text("marginType") if kind == "fin" else None,
        record_id=id_param(ctx, id_name) if id_name else None,
    )


def _common(r: Record, id_name: str) -> Row:
    f = r.fields
    row: Row = {id_name: str(r.id)}
    if f.get("symbol"):
        row["symbol"] = f["symbol"]
    return row


def _times(r: Record) -> Row:
    return {"cTime": str(r.ctime_ms), "uTime": str(r.ctime_ms)}


def loan_row(r: Record) -> Row:
    f = r.fields
    loan_type = f.get("type") or "manualLoan"
    return {
        **_common(r, "loanId"),
        "coin": f.get("coin"),
        "borrowAmount": f.get("amount"),
        "borrowType": BORROW_TYPE_V2.get(loan_type, loan_type),
        **_times(r),
    }


def repay_row(r: Record) -> Row:
    f = r.fields
    repay_type = f.get("type") or "manualRepay"
    v2_type = REPAY_TYPE_V2.get(repay_type, repay_type)
    if r.scope != CROSS:
        v2_type = v2_type.replace("_", "-")
    return {
        **_common(r, "repayId"),
        "coin": f.get("coin"),
        "repayAmount": f.get("totalAmount"),
        "repayPrincipal": f.get("amount"),
        "repayInterest": f.get("interest"),
        "repayType": v2_type,
        **_times(r),
    }


def interest_row(r: Record) -> Row:
    f = r.fields
    return {
        **_common(r, "interestId"),
        "loanCoin": f.get("loanCoin"),
        "interestCoin": f.get("interestCoin"),
        "dailyInterestRate": f.get("interestRate"),
        "interestAmount": f.get("amount"),
        "interstType": f.get("type"),  # sic: the v2 documents' spelling
        **_times(r),
    }


def liquidation_row(r: Record) -> Row:
    f = r.fields
    return {
        **_common(r, "liqId"),
        "liqStartTime": f.get("liqStartTime"),
        "liqEndTime": f.get("liqEndTime"),
        "liqRiskRatio": f.get("liqRisk"),
        "totalAssets": f.get("totalAssets"),
        "totalDebt": f.get("totalDebt"),
        "liqFee": f.get("LiqFee"),
        **_times(r),
    }


def fin_row(r: Record) -> Row:
    f = r.fields
    return {
        **_common(r, "marginId"),
        "coin": f.get("coin"),
        "amount": f.get("amount"),
        "balance": f.get("balance"),
        "fee": f.get("fee"),
        "marginType": f.get("marginType"),
        **_times(r),
    }


_LISTS: Mapping[str, tuple[RecordKind, str | None, Callable[[Record], Row]]] = {
    "loans": ("loan", "loanId", loan_row),
    "repays": ("repay", "repayId", repay_row),
    "interests": ("interest", None, interest_row),
    "liquidations": ("liquidation", None, liquidation_row),
    "fin_flows": ("fin", None, fin_row),
}


def _record_list(plural: str) -> Handler:
    kind, id_name, to_row = _LISTS[plural]

    def handler(ctx: Ctx) -> object:
        page = _page(ctx, kind, id_name)
        return wrap("resultList", [to_row(r) for r in page.items], page)

    return handler


def liquidation_order_row(o: Order) -> Row:
    return {
        "orderId": str(o.id),
        "symbol": o.symbol,
        "orderType": o.order_type,
        "side": o.side,
        "priceAvg": fmt8(o.fill_price),
        "price": fmt8(o.fill_price),
        "fillSize": fmt8(o.fill_quantity),
        "size": fmt8(o.fill_quantity),
        "amount": fmt8(o.fill_total),
        "cTime": str(o.ctime_ms),
        "uTime": str(o.ctime_ms),
    }


def liquidation_orders(ctx: Ctx) -> object:
    """§1e: the exchange's liquidation orders (``type=place_order``); ``swap`` is empty here."""
    q = list_query_v2(ctx)
    kind = ctx.params.text("type") or "place_order"
    symbol = ctx.params.text("symbol")
    if symbol is not None:
        ctx.ex.catalog.symbol(symbol)
    isolated = ctx.endpoint.margin == "isolated"

    def match(o: Order) -> bool:
        return (
            kind == "place_order"
            and o.side.startswith("liquidation")
            and (o.scope != CROSS) == isolated
            and (symbol is None or o.symbol == symbol)
        )

    page = page_of(
        ctx.account.orders,
        page_size=q.limit,
        below_id=q.id_less_than,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        where=match,
    )
    return {
        "resultList": [liquidation_order_row(o) for o in page.items],
        "idLessThan": page.min_id,
    }


HANDLERS: dict[str, Handler] = {}
for _m in ("cross", "isolated"):
    HANDLERS.update({f"{_m}_{plural}": _record_list(plural) for plural in _LISTS})
    HANDLERS[f"{_m}_liquidation_orders"] = liquidation_orders
