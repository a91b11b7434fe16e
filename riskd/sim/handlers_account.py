"""Account endpoints: assets, borrow, repay, risk rate, limits and flash repay."""

from __future__ import annotations

from decimal import Decimal

from riskd.amounts import fmt8
from riskd.risk.snapshot import isolated_scope
from riskd.sim.book import Balance, ScopeBook
from riskd.sim.errors import param_empty
from riskd.sim.handlers_common import Ctx, Handler, balance_row, rate_text


def _symbol_of(book: ScopeBook) -> dict[str, str]:
    return {"symbol": book.symbol} if book.symbol else {}


def _amount(ctx: Ctx, name: str) -> Decimal:
    value = ctx.params.amount(name)
    if value is None:
        raise param_empty(name)
    return value


def cross_assets(ctx: Ctx) -> object:
    book = ctx.cross()
    coin = ctx.params.text("coin")
    if coin is not None:
        ctx.ex.catalog.coin(coin)
        bal = book.peek(coin) or Balance(coin, book_ctime(book, ctx))
        return [balance_row(bal)]
    return [balance_row(b) for b in book.balances.values()]


def book_ctime(book: ScopeBook, ctx: Ctx) -> int:
    return min((b.ctime_ms for b in book.balances.values()), default=round(ctx.now_s * 1000))


def isolated_assets(ctx: Ctx) -> object:
    symbol = ctx.params.text("symbol")
    if symbol is not None:
        spec = ctx.ex.catalog.symbol(symbol)
        book = ctx.isolated(symbol)
        return [
            balance_row(book.peek(c) or Balance(c, book_ctime(book, ctx)), symbol)
            for c in spec.coins()
        ]
    rows: list[dict[str, str]] = []
    for book in ctx.account.scopes.values():
        if book.symbol is not None:
            rows.extend(balance_row(b, book.symbol) for b in book.balances.values())
    return rows


def borrow(ctx: Ctx) -> object:
    book = ctx.book()
    coin = ctx.params.req("coin")
    amount = _amount(ctx, "borrowAmount")
    ctx.ex.ledger.borrow(ctx.account, book, coin, amount, ctx.now_s)
    return {"clientOid": None, **_symbol_of(book), "coin": coin, "borrowAmount": fmt8(amount)}


def repay(ctx: Ctx) -> object:
    book = ctx.book()
    coin = ctx.params.req("coin")
    amount = _amount(ctx, "repayAmount")
    done = ctx.ex.repays.repay(ctx.account, book, coin, amount, ctx.now_s)
    return {
        "remainDebtAmount": fmt8(done.remaining),
        "clientOid": None,
        **_symbol_of(book),
        "coin": coin,
        "repayAmount": fmt8(done.amount),
    }


def cross_risk_rate(ctx: Ctx) -> object:
    ctx.ex.catalog.coin(ctx.params.req("coin"))
    return {"riskRate": rate_text(ctx.ex.ledger.risk_rate(ctx.cross(), ctx.now_s))}


def isolated_risk_rate(ctx: Ctx) -> object:
    book = ctx.book()
    rate = ctx.ex.ledger.risk_rate(book, ctx.now_s)
    return [{"symbol": book.symbol, "riskRate": rate_text(rate)}]


def max_borrowable(ctx: Ctx) -> object:
    book = ctx.book()
    coin = ctx.params.req("coin")
    amount = ctx.ex.ledger.max_borrowable(book, coin, ctx.now_s)
    return {**_symbol_of(book), "coin": coin, "maxBorrowableAmount": fmt8(amount)}


def max_transfer_out(ctx: Ctx) -> object:
    book = ctx.book()
    coin = ctx.params.req("coin")
    amount = ctx.ex.ledger.max_transfer_out(book, coin, ctx.now_s)
    return {"coin": coin, **_symbol_of(book), "maxTransferOutAmount": fmt8(amount)}


def cross_flash_repay(ctx: Ctx) -> object:
    coin = ctx.params.text("coin")
    if coin is not None:
        ctx.ex.catalog.coin(coin)
    repay_ = ctx.ex.flash.start(ctx.account, "cross", coin, ctx.now_s)
    return {"id": str(repay_.id), "coin": coin}


def isolated_flash_repay(ctx: Ctx) -> object:
    symbols = ctx.params.texts("symbols")
    for symbol in symbols:
        ctx.ex.catalog.symbol(symbol)
    if not symbols:
        symbols = [b.symbol for b in ctx.account.scopes.values() if b.symbol and b.has_debt()]
    out = []
    for symbol in symbols:
        repay_ = ctx.ex.flash.start(ctx.account, isolated_scope(symbol), None, ctx.now_s)
        out.append({"id": str(repay_.id), "symbol": symbol, "code": "success"})
    return out


def flash_repay_status(ctx: Ctx) -> object:
    ids = ctx.params.texts("idList")
    if not ids:
        raise param_empty("idList")
    kind = ctx.endpoint.margin or "cross"
    return ctx.ex.flash.status(ctx.account, kind, ids)


HANDLERS: dict[str, Handler] = {
    "cross_assets": cross_assets,
    "isolated_assets": isolated_assets,
    "cross_borrow": borrow,
    "isolated_borrow": borrow,
    "cross_repay": repay,
    "isolated_repay": repay,
    "cross_risk_rate": cross_risk_rate,
    "isolated_risk_rate": isolated_risk_rate,
    "cross_max_borrowable": max_borrowable,
    "isolated_max_borrowable": max_borrowable,
    "cross_max_transfer_out": max_transfer_out,
    "isolated_max_transfer_out": max_transfer_out,
    "cross_flash_repay": cross_flash_repay,
    "isolated_flash_repay": isolated_flash_repay,
    "cross_flash_repay_status": flash_repay_status,
    "isolated_flash_repay_status": flash_repay_status,
}
