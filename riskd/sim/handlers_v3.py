"""v3 (Unified Trading Account) endpoints of the simulator, over the same ledger as classic.

Served from a UTA account's one book (:mod:`riskd.sim.uta`); the shapes follow
:mod:`riskd.bitget.endpoints_v3` (ENDPOINTS-v2.md §6, T, X). Account mode:
:func:`account_mode_error` answers ``40084`` when a classic account calls a signed v3 endpoint
and ``40085`` when a UTA account calls a signed classic (v1/v2) one.

Choices where the sources are silent (the simulator's, documented in docs/uta.md):

- settings answer ``{accountMode: "advanced", accountLevel: "advanced", assetMode:
  "multi_coin", holdMode: "one_way_mode", symbolConfigList: [], coinConfigList: []}``;
- repay: for each coin of ``repayableCoinList`` with debt, the coin's own available balance
  pays first, then the other payment coins are sold (USDT debt) or USDT, when it is a payment
  coin, buys the coin (other debt), by system market orders (``systemRepay-…``);
  the repay record has type ``manualRepay``. ``result`` is ``YES`` when anything was repaid,
  ``repayAmount`` the USD value repaid;
- MARGIN orders borrow what they spend automatically (loan type ``autoLoan``) and never
  auto-repay; ``qty`` is the base quantity, a market buy spends ``qty × index price`` of USDT;
  ``timeInForce`` defaults to ``gtc``; only ``category=MARGIN`` is served (others: 40020);
- open orders: newest first, ``limit`` ≤ 100 (default 100), ``cursor`` = the last order id of
  the previous page (``""`` on the last page);
- order info: the order (open or done, any symbol) by ``orderId`` or ``clientOid``, as an
  object in the open-orders row shape; an unknown order answers ``43001`` (v2's code).
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from riskd.amounts import fmt8
from riskd.bitget.codes_v3 import CLASSIC_ACCOUNT, UNIFIED_ACCOUNT
from riskd.bitget.endpoint_types import Endpoint
from riskd.bitget.endpoints_v3 import MARGIN_CATEGORY
from riskd.sim.book import Account, Order, ScopeBook
from riskd.sim.catalog import USDT
from riskd.sim.errors import SimError, param_empty, param_error
from riskd.sim.handlers_common import Ctx, Handler
from riskd.sim.handlers_v2_public import server_time
from riskd.sim.ledger import ms
from riskd.sim.orders import OrderRequest
from riskd.sim.uta import ratio_text, uta_book, uta_figures

ZERO = Decimal(0)
OPEN_ORDERS_MAX = 100
_Q8 = Decimal("0.00000001")
_STATUS = {
    "init": "live",
    "new": "live",
    "partial_fill": "partially_filled",
    "full_fill": "filled",
    "cancelled": "cancelled",
}
SETTINGS = {
    "accountMode": "advanced",
    "accountLevel": "advanced",
    "assetMode": "multi_coin",
    "holdMode": "one_way_mode",
    "symbolConfigList": [],
    "coinConfigList": [],
}


def account_mode_error(endpoint: Endpoint, account: Account) -> SimError | None:
    """The refusal of a signed call made to the other family of endpoints, or ``None``."""
    if not endpoint.signed:
        return None
    if endpoint.api == "v3" and not account.unified:
        return SimError(CLASSIC_ACCOUNT)
    if endpoint.api != "v3" and account.unified:
        return SimError(UNIFIED_ACCOUNT)
    return None


def _book(ctx: Ctx) -> ScopeBook:
    error = account_mode_error(ctx.endpoint, ctx.account)
    if error is not None:
        raise error
    return uta_book(ctx.account)


def _category(ctx: Ctx, *, required: bool) -> None:
    category = ctx.params.req("category") if required else ctx.params.text("category")
    if category is not None and category != MARGIN_CATEGORY:
        raise param_error("category", f"the simulator serves {MARGIN_CATEGORY} only")


# ------------------------------------------------------------------ account


def assets(ctx: Ctx) -> object:
    f = uta_figures(ctx.ex.ledger, _book(ctx), ctx.now_s)
    btc = ctx.ex.market.coin_prices(ctx.now_s).get("BTC")
    return {
        "accountEquity": fmt8(f.account_equity),
        "usdtEquity": fmt8(f.account_equity),
        "btcEquity": fmt8(f.account_equity / btc if btc else ZERO),
        "unrealisedPnl": fmt8(ZERO),
        "usdtUnrealisedPnl": fmt8(ZERO),
        "btcUnrealizedPnl": fmt8(ZERO),
        "effEquity": fmt8(f.eff_equity),
        "mmr": fmt8(f.mmr),
        "imr": fmt8(f.imr),
        "mgnRatio": fmt8(ratio_text(f.mgn_ratio)),
        "positionMgnRatio": fmt8(ZERO),
        "assets": [
            {
                "coin": c.coin,
                "equity": fmt8(c.equity),
                "usdValue": fmt8(c.usd_value),
                "balance": fmt8(c.balance),
                "available": fmt8(c.available),
                "debt": fmt8(c.debt),
                "locked": fmt8(c.locked),
            }
            for c in f.coins
        ],
    }


def settings(ctx: Ctx) -> object:
    _book(ctx)
    return dict(SETTINGS)


def repayable_coins(ctx: Ctx) -> object:
    f = uta_figures(ctx.ex.ledger, _book(ctx), ctx.now_s)
    return [
        {"coin": c.coin, "size": fmt8(c.debt), "amount": fmt8(c.debt * c.price)}
        for c in f.coins
        if c.debt > 0
    ]


def payment_coins(ctx: Ctx) -> object:
    f = uta_figures(ctx.ex.ledger, _book(ctx), ctx.now_s)
    return [
        {"coin": c.coin, "size": fmt8(c.available), "amount": fmt8(c.available * c.price)}
        for c in f.coins
        if c.available > 0
    ]


def _coins(ctx: Ctx, name: str) -> list[str]:
    coins = ctx.params.texts(name)
    if not coins:
        raise param_empty(name)
    for coin in coins:
        ctx.ex.catalog.coin(coin)
    return list(dict.fromkeys(coins))


def _raise_for_debt(ctx: Ctx, book: ScopeBook, coin: str, payers: list[str]) -> None:
    """Convert payment coins into ``coin`` until its debt is covered (or they run out)."""
    trading, market, now = ctx.ex.trading, ctx.ex.market, ctx.now_s
    bal = book.balance(coin, ms(now))
    if coin == USDT:
        for payer in payers:
            short = bal.liability - bal.available
            held = book.peek(payer)
            have = held.available if held is not None else ZERO
            if short <= 0 or payer == USDT or have <= 0:
                continue
            spec = ctx.ex.catalog.usdt_symbol(payer)
            price = market.price(spec.symbol, now)
            qty = (short / (price * (1 - spec.taker_fee_rate))).quantize(_Q8, ROUND_UP)
            trading.system_trade(
                ctx.account,
                book,
                spec.symbol,
                "sell",
                now,
                base_quantity=min(have, qty),
                prefix="systemRepay",
            )
        return
    short = bal.liability - bal.available
    usdt = book.balance(USDT, ms(now)).available
    if short <= 0 or USDT not in payers or usdt <= 0:
        return
    spec = ctx.ex.catalog.usdt_symbol(coin)
    price = market.price(spec.symbol, now)
    quote = (short * price / (1 - spec.taker_fee_rate) * Decimal("1.0001")).quantize(_Q8, ROUND_UP)
    trading.system_trade(
        ctx.account,
        book,
        spec.symbol,
        "buy",
        now,
        quote_amount=min(usdt, quote),
        prefix="systemRepay",
    )


def repay(ctx: Ctx) -> object:
    book = _book(ctx)
    debts = _coins(ctx, "repayableCoinList")
    payers = _coins(ctx, "paymentCoinList")
    paid_value = ZERO
    for coin in debts:
        bal = book.peek(coin)
        if bal is None or bal.liability <= 0:
            continue
        if bal.available < bal.liability:
            _raise_for_debt(ctx, book, coin, [p for p in payers if p != coin])
        paid, _ = ctx.ex.ledger.repay(
            ctx.account, book, coin, bal.liability, ctx.now_s, "manualRepay", strict=False
        )
        paid_value += paid * ctx.ex.market.coin_price(coin, ctx.now_s)
    return {"result": "YES" if paid_value > 0 else "NO", "repayAmount": fmt8(paid_value)}


# ------------------------------------------------------------------ orders


def _order_row(o: Order) -> dict[str, object]:
    qty = o.base_quantity if o.base_quantity is not None else o.fill_quantity
    return {
        "orderId": str(o.id),
        "clientOid": o.client_oid,
        "category": MARGIN_CATEGORY,
        "symbol": o.symbol,
        "orderType": o.order_type,
        "side": o.side,
        "price": fmt8(o.price) if o.price is not None else "0",
        "qty": fmt8(qty),
        "amount": fmt8(o.quote_amount) if o.quote_amount is not None else "0",
        "cumExecQty": fmt8(o.fill_quantity),
        "cumExecValue": fmt8(o.fill_total),
        "avgPrice": fmt8(o.fill_price),
        "timeInForce": o.time_in_force,
        "orderStatus": _STATUS.get(o.status, o.status),
        "posSide": "",
        "holdMode": "one_way_mode",
        "reduceOnly": "NO",
        "feeDetail": [],
        "createdTime": str(o.ctime_ms),
        "updatedTime": str(o.ctime_ms),
    }


def place_order(ctx: Ctx) -> object:
    book = _book(ctx)
    _category(ctx, required=True)
    p = ctx.params
    symbol = p.req("symbol")
    side, order_type = p.req("side"), p.req("orderType")
    qty = p.amount("qty")
    if qty is None:
        raise param_empty("qty")
    price = p.amount("price")
    base: Decimal | None = qty
    quote: Decimal | None = None
    if order_type == "market" and side == "buy":
        index = ctx.ex.market.price(ctx.ex.catalog.symbol(symbol).symbol, ctx.now_s)
        base, quote = None, (qty * index).quantize(_Q8, ROUND_UP)
    req = OrderRequest(
        symbol,
        side,
        order_type,
        "autoLoan",
        p.text("timeInForce") or "gtc",
        price,
        base,
        quote,
        p.text("clientOid"),
    )
    order = ctx.ex.trading.place(ctx.account, book, req, ctx.now_s)
    return {"orderId": str(order.id), "clientOid": order.client_oid}


def cancel_order(ctx: Ctx) -> object:
    book = _book(ctx)
    _category(ctx, required=False)
    order_id, client_oid = ctx.params.text("orderId"), ctx.params.text("clientOid")
    if order_id is None and client_oid is None:
        raise param_empty("orderId")
    if order_id is not None and not order_id.isdigit():
        raise param_error("orderId", "expected a numeric id")
    order = ctx.account.order(book.scope, int(order_id) if order_id else None, client_oid)
    symbol = ctx.params.text("symbol")
    if order is None or (symbol is not None and order.symbol != symbol):
        raise SimError("43001")
    ctx.ex.trading.cancel(ctx.account, order, ctx.now_s)
    return {"orderId": str(order.id), "clientOid": order.client_oid}


def open_orders(ctx: Ctx) -> object:
    book = _book(ctx)
    category = ctx.params.text("category")
    if category is not None and category != MARGIN_CATEGORY:
        return {"list": [], "cursor": ""}
    symbol = ctx.params.text("symbol")
    limit = ctx.params.integer("limit", OPEN_ORDERS_MAX) or OPEN_ORDERS_MAX
    if not 1 <= limit <= OPEN_ORDERS_MAX:
        raise param_error("limit", f"1 to {OPEN_ORDERS_MAX}")
    cursor = ctx.params.text("cursor")
    if cursor is not None and not cursor.isdigit():
        raise param_error("cursor", "expected an order id")
    orders = [
        o
        for o in ctx.account.open_orders(book.scope)
        if (symbol is None or o.symbol == symbol) and (cursor is None or o.id < int(cursor))
    ]
    orders.sort(key=lambda o: o.id, reverse=True)
    page = orders[:limit]
    more = len(orders) > limit
    return {"list": [_order_row(o) for o in page], "cursor": str(page[-1].id) if more else ""}


def order_info(ctx: Ctx) -> object:
    book = _book(ctx)
    _category(ctx, required=False)
    order_id, client_oid = ctx.params.text("orderId"), ctx.params.text("clientOid")
    if order_id is None and client_oid is None:
        raise param_empty("orderId")
    if order_id is not None and not order_id.isdigit():
        raise param_error("orderId", "expected a numeric id")
    order = ctx.account.order(book.scope, int(order_id) if order_id else None, client_oid)
    if order is None:
        raise SimError("43001")
    return _order_row(order)


# ------------------------------------------------------------------ public


def position_tier(ctx: Ctx) -> object:
    _category(ctx, required=True)
    symbol, coin = ctx.params.text("symbol"), ctx.params.text("coin")
    if coin is None:
        if symbol is None:
            raise param_empty("coin")
        coin = ctx.ex.catalog.symbol(symbol).base
    spec = ctx.ex.catalog.coin(coin)
    price = ctx.ex.market.coin_price(coin, ctx.now_s)
    return [
        {
            "tier": "1",
            "minTierValue": "0",
            "maxTierValue": fmt8(spec.cross_max_borrowable * price),
            "leverage": str(spec.cross_leverage),
            "mmr": fmt8(spec.cross_mmr),
        }
    ]


#: v3 logical endpoint name → handler (every entry of ``ENDPOINTS_V3``).
HANDLERS: dict[str, Handler] = {
    "server_time": server_time,
    "uta_position_tier": position_tier,
    "uta_assets": assets,
    "uta_settings": settings,
    "uta_repayable_coins": repayable_coins,
    "uta_payment_coins": payment_coins,
    "uta_repay": repay,
    "uta_place_order": place_order,
    "uta_cancel_order": cancel_order,
    "uta_open_orders": open_orders,
    "uta_order_info": order_info,
}
