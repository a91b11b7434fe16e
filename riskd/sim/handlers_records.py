"""Record lists: loan, repay, interest, liquidation, fin — with the document's paging.

``pageId`` returns records with an id below it; each page gives ``maxId`` / ``minId``. The
liquidation lists answer a bare array in ``data`` with ``maxId`` / ``minId`` beside it, as the
document shows; the others wrap ``resultList``.
"""

from __future__ import annotations

from riskd.risk.snapshot import CROSS, isolated_scope
from riskd.sim.handlers_common import Ctx, Handler, TopLevel, id_param, list_query
from riskd.sim.records import ANY_ISOLATED, Page, Record, RecordKind


def _scope(ctx: Ctx) -> str:
    if ctx.endpoint.margin != "isolated":
        return CROSS
    symbol = ctx.params.text("symbol")
    if symbol is None:
        return ANY_ISOLATED  # only the isolated liquidation list leaves symbol optional
    ctx.ex.catalog.symbol(symbol)
    return isolated_scope(symbol)


def _page(ctx: Ctx, kind: RecordKind, id_name: str | None = None) -> Page[Record]:
    q = list_query(ctx)
    coin = ctx.params.text("coin")
    if coin is not None:
        ctx.ex.catalog.coin(coin)
    return ctx.account.records.query(
        kind,
        _scope(ctx),
        page_size=q.page_size,
        below_id=id_param(ctx, "pageId"),
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        coin=coin,
        type_=ctx.params.text("marginType") if kind == "fin" else None,
        record_id=id_param(ctx, id_name) if id_name else None,
    )


def _wrapped(page: Page[Record]) -> dict[str, object]:
    return {
        "resultList": [r.to_wire() for r in page.items],
        "maxId": page.max_id,
        "minId": page.min_id,
    }


def loans(ctx: Ctx) -> object:
    return _wrapped(_page(ctx, "loan", "loanId"))


def repays(ctx: Ctx) -> object:
    return _wrapped(_page(ctx, "repay", "repayId"))


def interests(ctx: Ctx) -> object:
    return _wrapped(_page(ctx, "interest"))


def fin_flows(ctx: Ctx) -> object:
    return _wrapped(_page(ctx, "fin"))


def liquidations(ctx: Ctx) -> object:
    page = _page(ctx, "liquidation")
    return TopLevel([r.to_wire() for r in page.items], {"maxId": page.max_id, "minId": page.min_id})


HANDLERS: dict[str, Handler] = {}
for _m in ("cross", "isolated"):
    HANDLERS.update(
        {
            f"{_m}_loans": loans,
            f"{_m}_repays": repays,
            f"{_m}_interests": interests,
            f"{_m}_liquidations": liquidations,
            f"{_m}_fin_flows": fin_flows,
        }
    )
