"""v2 account endpoints (ENDPOINTS-v2.md §1b): assets, borrow, repay, risk rate, limits and
flash repay, over the same ledger as v1.

- Borrow (cross and isolated) and isolated repay take an optional ``clientOid`` (≤ 50
  characters, else 40305). A ``clientOid`` already used by this account for a borrow or a
  repay is refused with ``50060 Duplicated clientOid`` and nothing is executed (§2.3: the
  reference's reading of 50060, unconfirmed); the message names the loan/repay id it created.
  Cross repay and flash repay take no client id. Replies carry ``loanId`` / ``repayId``.
- Cross risk rate takes no coin and answers ``{riskRateRatio}``; isolated risk rate is a GET
  list ``[{symbol, riskRateRatio}]`` over every isolated account (or the ``symbol`` asked for),
  paged by ``pageNum`` / ``pageSize`` (≤ 500), sorted by symbol.
- Flash repay answers ``repayId``; its status moves BEGIN → REPAYING → FINISH as on v1 (v2
  documents only FINISH; the other values are the reference's "unconfirmed").
"""

from __future__ import annotations

from decimal import Decimal

from riskd.amounts import fmt8
from riskd.risk.snapshot import isolated_scope
from riskd.sim.book import Account, Balance, ScopeBook
from riskd.sim.errors import SimError, param_empty, param_error
from riskd.sim.handlers_common import Ctx, Handler
from riskd.sim.handlers_v2_common import asset_row, ratio_text
from riskd.sim.ledger import ms
from riskd.sim.records import MAX_PAGE_SIZE

CLIENT_OID_MAX = 50
RISK_PAGE_SIZE = 100
FLASH_SYMBOLS_MAX = 100


def _amount(ctx: Ctx, name: str) -> Decimal:
    value = ctx.params.amount(name)
    if value is None:
        raise param_empty(name)
    return value


def _symbol_of(book: ScopeBook) -> dict[str, str]:
    return {"symbol": book.symbol} if book.symbol else {}


def _client_oid(ctx: Ctx) -> str | None:
    oid = ctx.params.text("clientOid") if ctx.endpoint.param("clientOid") else None
    if oid is None:
        return None
    if len(oid) > CLIENT_OID_MAX:
        raise SimError("40305")
    used = ctx.account.client_oids.get(oid)
    if used is not None:
        raise SimError("50060", detail=f"clientOid {oid!r} already created id {used}")
    return oid


def _remember(account: Account, oid: str | None, record_id: int) -> None:
    if oid is not None:
        account.client_oids[oid] = record_id


def _now_ms(ctx: Ctx) -> int:
    return ms(ctx.now_s)


def cross_assets(ctx: Ctx) -> object:
    book = ctx.cross()
    coin = ctx.params.text("coin")
    now = _now_ms(ctx)
    if coin is not None:
        ctx.ex.catalog.coin(coin)
        return [asset_row(book.peek(coin) or Balance(coin, now), now)]
    return [asset_row(b, now) for b in book.balances.values()]


def isolated_assets(ctx: Ctx) -> object:
    symbol = ctx.params.text("symbol")
    now = _now_ms(ctx)
    if symbol is not None:
        spec = ctx.ex.catalog.symbol(symbol)
        book = ctx.isolated(symbol)
        return [asset_row(book.peek(c) or Balance(c, now), now, symbol) for c in spec.coins()]
    rows: list[dict[str, str]] = []
    for book in _isolated_books(ctx.account):
        rows.extend(asset_row(b, now, book.symbol) for b in book.balances.values())
    return rows


def _isolated_books(account: Account) -> list[ScopeBook]:
    books = [b for b in account.scopes.values() if b.symbol is not None]
    return sorted(books, key=lambda b: b.symbol or "")


def borrow(ctx: Ctx) -> object:
    book = ctx.book()
    coin = ctx.params.req("coin")
    amount = _amount(ctx, "borrowAmount")
    oid = _client_oid(ctx)
    ctx.ex.ledger.borrow(ctx.account, book, coin, amount, ctx.now_s)
    loan = ctx.account.records.all("loan")[-1]
    _remember(ctx.account, oid, loan.id)
    return {"loanId": str(loan.id), **_symbol_of(book), "coin": coin, "borrowAmount": fmt8(amount)}


def repay(ctx: Ctx) -> object:
    book = ctx.book()
    coin = ctx.params.req("coin")
    amount = _amount(ctx, "repayAmount")
    oid = _client_oid(ctx)
    done = ctx.ex.repays.repay(ctx.account, book, coin, amount, ctx.now_s)
    _remember(ctx.account, oid, done.repay_id)
    return {
        **_symbol_of(book),
        "coin": coin,
        "repayId": str(done.repay_id),
        "remainDebtAmount": fmt8(done.remaining),
        "repayAmount": fmt8(done.amount),
    }


def cross_risk_rate(ctx: Ctx) -> object:
    return {"riskRateRatio": ratio_text(ctx, ctx.ex.ledger.risk_rate(ctx.cross(), ctx.now_s))}


def isolated_risk_rate(ctx: Ctx) -> object:
    p = ctx.params
    page = p.integer("pageNum", 1)
    size = p.integer("pageSize", RISK_PAGE_SIZE)
    assert page is not None and size is not None
    if page < 1:
        raise param_error("pageNum", "must be >= 1")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise param_error("pageSize", f"must be within 1..{MAX_PAGE_SIZE}")
    symbol = p.text("symbol")
    books = [ctx.isolated(symbol)] if symbol is not None else _isolated_books(ctx.account)
    chosen = books[(page - 1) * size : page * size]
    return [
        {
            "symbol": b.symbol,
            "riskRateRatio": ratio_text(ctx, ctx.ex.ledger.risk_rate(b, ctx.now_s)),
        }
        for b in chosen
    ]


def cross_max_borrowable(ctx: Ctx) -> object:
    coin = ctx.params.req("coin")
    amount = ctx.ex.ledger.max_borrowable(ctx.cross(), coin, ctx.now_s)
    return {"coin": coin, "maxBorrowableAmount": fmt8(amount)}


def isolated_max_borrowable(ctx: Ctx) -> object:
    book = ctx.book()
    spec = ctx.ex.catalog.symbol(ctx.params.req("symbol"))
    ledger = ctx.ex.ledger
    return {
        "symbol": spec.symbol,
        "baseCoin": spec.base,
        "baseCoinMaxBorrowAmount": fmt8(ledger.max_borrowable(book, spec.base, ctx.now_s)),
        "quoteCoin": spec.quote,
        "quoteCoinMaxBorrowAmount": fmt8(ledger.max_borrowable(book, spec.quote, ctx.now_s)),
    }


def cross_max_transfer_out(ctx: Ctx) -> object:
    coin = ctx.params.req("coin")
    amount = ctx.ex.ledger.max_transfer_out(ctx.cross(), coin, ctx.now_s)
    return {"coin": coin, "maxTransferOutAmount": fmt8(amount)}


def isolated_max_transfer_out(ctx: Ctx) -> object:
    book = ctx.book()
    spec = ctx.ex.catalog.symbol(ctx.params.req("symbol"))
    out = ctx.ex.ledger.max_transfer_out
    return {
        "symbol": spec.symbol,
        "baseCoin": spec.base,
        "baseCoinMaxTransferOutAmount": fmt8(out(book, spec.base, ctx.now_s)),
        "quoteCoin": spec.quote,
        "quoteCoinMaxTransferOutAmount": fmt8(out(book, spec.quote, ctx.now_s)),
    }


def cross_flash_repay(ctx: Ctx) -> object:
    coin = ctx.params.text("coin")
    if coin is not None:
        ctx.ex.catalog.coin(coin)
    started = ctx.ex.flash.start(ctx.account, "cross", coin, ctx.now_s)
    return {"repayId": str(started.id), "coin": coin}


def isolated_flash_repay(ctx: Ctx) -> object:
    symbols = ctx.params.texts("symbolList", FLASH_SYMBOLS_MAX)
    for symbol in symbols:
        ctx.ex.catalog.symbol(symbol)
    if not symbols:
        symbols = [b.symbol for b in _isolated_books(ctx.account) if b.symbol and b.has_debt()]
    out = []
    for symbol in symbols:
        started = ctx.ex.flash.start(ctx.account, isolated_scope(symbol), None, ctx.now_s)
        out.append({"repayId": str(started.id), "symbol": symbol, "result": "success"})
    return out


def flash_repay_status(ctx: Ctx) -> object:
    ids = ctx.params.texts("idList")
    if not ids:
        raise param_empty("idList")
    kind = ctx.endpoint.margin or "cross"
    return [
        {"repayId": row["id"], "status": row["status"]}
        for row in ctx.ex.flash.status(ctx.account, kind, ids)
    ]


HANDLERS: dict[str, Handler] = {
    "cross_assets": cross_assets,
    "isolated_assets": isolated_assets,
    "cross_borrow": borrow,
    "isolated_borrow": borrow,
    "cross_repay": repay,
    "isolated_repay": repay,
    "cross_risk_rate": cross_risk_rate,
    "isolated_risk_rate": isolated_risk_rate,
    "cross_max_borrowable": cross_max_borrowable,
    "isolated_max_borrowable": isolated_max_borrowable,
    "cross_max_transfer_out": cross_max_transfer_out,
    "isolated_max_transfer_out": isolated_max_transfer_out,
    "cross_flash_repay": cross_flash_repay,
    "isolated_flash_repay": isolated_flash_repay,
    "cross_flash_repay_status": flash_repay_status,
    "isolated_flash_repay_status": flash_repay_status,
}
