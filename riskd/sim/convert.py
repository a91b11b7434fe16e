"""Raise a coin inside one scope by selling the scope's other assets (system market orders).

Used by forced liquidation and by flash repay. Every symbol is quoted in USDT, so a coin is
bought with USDT and USDT is raised by selling non-USDT assets, largest USDT value first.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from riskd.sim.book import Account, ScopeBook
from riskd.sim.catalog import USDT
from riskd.sim.ledger import ms
from riskd.sim.orders import Trading

_Q8 = Decimal("0.00000001")


def _up(value: Decimal) -> Decimal:
    return value.quantize(_Q8, rounding=ROUND_UP)


def raise_coin(
    trading: Trading,
    account: Account,
    book: ScopeBook,
    coin: str,
    amount: Decimal,
    now_s: float,
    prefix: str,
) -> Decimal:
    """Try to make ``amount`` of ``coin`` available; returns what is available afterwards."""
    bal = book.balance(coin, ms(now_s))
    short = amount - bal.available
    if short <= 0:
        return bal.available
    catalog = trading.ledger.catalog
    market = trading.ledger.market
    if coin == USDT:
        _raise_usdt(trading, account, book, short, now_s, prefix, keep=None)
        return bal.available
    spec = catalog.usdt_symbol(coin)
    price = market.price(spec.symbol, now_s)
    quote_needed = _up(short * price / (1 - spec.taker_fee_rate) * Decimal("1.0001"))
    usdt = book.balance(USDT, ms(now_s))
    if usdt.available < quote_needed:
        _raise_usdt(trading, account, book, quote_needed - usdt.available, now_s, prefix, coin)
    quote = min(usdt.available, quote_needed)
    trading.system_trade(
        account, book, spec.symbol, "buy", now_s, quote_amount=quote, prefix=prefix
    )
    return bal.available


def _raise_usdt(
    trading: Trading,
    account: Account,
    book: ScopeBook,
    short: Decimal,
    now_s: float,
    prefix: str,
    keep: str | None,
) -> None:
    catalog = trading.ledger.catalog
    market = trading.ledger.market
    usdt = book.balance(USDT, ms(now_s))
    target = usdt.available + short
    others = [b for b in book.balances.values() if b.coin not in (USDT, keep) and b.available > 0]
    others.sort(key=lambda b: b.available * market.coin_price(b.coin, now_s), reverse=True)
    for other in others:
        remaining = target - usdt.available
        if remaining <= 0:
            return
        spec = catalog.usdt_symbol(other.coin)
        price = market.price(spec.symbol, now_s)
        qty = min(other.available, _up(remaining / (price * (1 - spec.taker_fee_rate))))
        trading.system_trade(
            account, book, spec.symbol, "sell", now_s, base_quantity=qty, prefix=prefix
        )
