""":class:`~riskd.daemon.exchange.Exchange` over :class:`riskd.bitget.client.BitgetClient`.

Translates the client's typed answers to the daemon's plain values, and its exception tree
to the two things a protective call can end in: :class:`CallRejected` (the exchange answered
and did nothing — including a rate budget that would not admit the call, and a request the
client refused to send) and :class:`CallUncertain` (``outcome_unknown``: it may have acted).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from riskd.bitget.client import BitgetClient
from riskd.bitget.errors import (
    ExchangeUnavailableError,
    RateLimitedError,
    RequestParamError,
    RiskdExchangeError,
)
from riskd.bitget.models_orders import Order, OrderRequest
from riskd.bitget.models_records import RepayRecord as WireRepay
from riskd.budget import BudgetExhausted
from riskd.daemon.exchange import (
    AssetRow,
    CallRejected,
    CallUncertain,
    CancelResult,
    Margin,
    OrderInfo,
    RepayRecord,
    Side,
    SymbolInfo,
    TierInfo,
)
from riskd.risk.snapshot import USDT

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Pages of a record list read during one reconciliation (100 records each).
MAX_PAGES = 10
PAGE_SIZE = 100


async def _guard(call: Awaitable[T]) -> T:
    try:
        return await call
    except RiskdExchangeError as exc:
        cls = CallUncertain if exc.outcome_unknown else CallRejected
        transient = isinstance(exc, RateLimitedError | ExchangeUnavailableError)
        raise cls(str(exc), code=exc.code, transient=transient) from exc
    except BudgetExhausted as exc:
        raise CallRejected(str(exc), code="budget", transient=True) from exc
    except RequestParamError as exc:
        raise CallRejected(f"not sent: {exc}", code="request") from exc


def _order(o: Order) -> OrderInfo:
    return OrderInfo(o.order_id, o.client_oid, o.status or "", o.symbol)


class ClientExchange:
    """One account's :class:`BitgetClient` seen as an :class:`Exchange`."""

    def __init__(self, client: BitgetClient) -> None:
        self.client = client

    # --- reads ------------------------------------------------------------------------------
    async def assets(self, margin: Margin) -> list[AssetRow]:
        if margin == "cross":
            rows: tuple[Any, ...] = await _guard(self.client.cross_assets())
        else:
            rows = await _guard(self.client.isolated_assets())
        return [
            AssetRow(
                r.coin, r.available, r.frozen, r.borrow, r.interest, getattr(r, "symbol", None)
            )
            for r in rows
        ]

    async def cross_risk_rate(self) -> Decimal:
        # The endpoint requires a coin although the rate is the whole cross account's.
        return (await _guard(self.client.cross_risk_rate(coin=USDT))).risk_rate

    async def isolated_risk_rate(self, symbol: str) -> Decimal:
        rows = await _guard(self.client.isolated_risk_rate(symbol=symbol))
        for r in rows:
            if r.symbol.upper() == symbol:
                return r.risk_rate
        raise CallRejected(f"isolated_risk_rate: no row for {symbol}")

    async def symbols(self) -> list[SymbolInfo]:
        return [
            SymbolInfo(
                c.symbol,
                c.base_coin,
                c.quote_coin,
                c.warning_risk_ratio,
                c.liquidation_risk_ratio,
                quantity_scale=c.quantity_scale,
                price_scale=c.price_scale,
                min_trade_amount=c.min_trade_amount,
                max_trade_amount=c.max_trade_amount,
                min_trade_usdt=c.min_trade_usdt,
                taker_fee_rate=c.taker_fee_rate,
            )
            for c in await _guard(self.client.currencies())
        ]

    async def tier(self, margin: Margin, key: str) -> TierInfo:
        """Tier 1 of a coin (cross) or symbol (isolated), with its daily interest rates."""
        if margin == "cross":
            tiers = await _guard(self.client.cross_tier_data(coin=key))
            if not tiers:
                raise CallRejected(f"no tier data for {key}")
            t = min(tiers, key=lambda x: x.tier)
            rates: dict[str, Decimal] = {}
            try:
                for r in await _guard(self.client.cross_interest_rate_and_limit(coin=key)):
                    rates[r.coin] = r.daily_interest_rate
            except (CallRejected, CallUncertain) as exc:
                log.warning("no interest rate for %s: %s", key, exc)
            return TierInfo(
                t.maintain_margin_rate, t.leverage, {t.coin: t.max_borrowable_amount}, rates
            )
        itiers = await _guard(self.client.isolated_tier_data(symbol=key))
        if not itiers:
            raise CallRejected(f"no tier data for {key}")
        it = min(itiers, key=lambda x: x.tier)
        irates: dict[str, Decimal] = {}
        try:
            for ir in await _guard(self.client.isolated_interest_rate_and_limit(symbol=key)):
                irates[ir.base_coin] = ir.base_daily_interest_rate
                irates[ir.quote_coin] = ir.quote_daily_interest_rate
        except (CallRejected, CallUncertain) as exc:
            log.warning("no interest rates for %s: %s", key, exc)
        return TierInfo(
            it.maintain_margin_rate,
            it.leverage,
            {
                it.base_coin: it.base_max_borrowable_amount,
                it.quote_coin: it.quote_max_borrowable_amount,
            },
            irates,
        )

    async def open_orders(
        self, margin: Margin, symbol: str, *, client_oid: str | None = None
    ) -> list[OrderInfo]:
        method = (
            self.client.cross_open_orders if margin == "cross" else self.client.isolated_open_orders
        )
        page = await _guard(method(symbol=symbol, client_oid=client_oid))
        return [_order(o) for o in page.items]

    async def order_history(
        self, margin: Margin, symbol: str, *, start_ms: int, client_oid: str
    ) -> list[OrderInfo]:
        method = (
            self.client.cross_order_history
            if margin == "cross"
            else self.client.isolated_order_history
        )
        page = await _guard(method(symbol=symbol, start_time=start_ms, client_oid=client_oid))
        return [_order(o) for o in page.items]

    async def repays(
        self, margin: Margin, *, symbol: str | None, coin: str | None, start_ms: int
    ) -> list[RepayRecord]:
        if margin == "cross":
            it: AsyncIterator[WireRepay] = self.client.iter_pages(
                self.client.cross_repays,
                max_pages=MAX_PAGES,
                start_time=start_ms,
                coin=coin,
                page_size=PAGE_SIZE,
            )
        else:
            if symbol is None:
                raise CallRejected("isolated repay records need a symbol")
            it = self.client.iter_pages(
                self.client.isolated_repays,
                max_pages=MAX_PAGES,
                symbol=symbol,
                start_time=start_ms,
                coin=coin,
                page_size=PAGE_SIZE,
            )
        return await _guard(_collect(it, lambda r: _repay(r, symbol)))

    async def flash_repay_status(self, margin: Margin, flash_id: str) -> str:
        method = (
            self.client.cross_flash_repay_status
            if margin == "cross"
            else self.client.isolated_flash_repay_status
        )
        rows = await _guard(method(id_list=[flash_id]))
        for r in rows:
            if r.id == flash_id:
                return r.status
        raise CallRejected(f"flash repay {flash_id} unknown to the exchange")

    # --- protective calls ---------------------------------------------------------------------
    async def repay(
        self, margin: Margin, *, coin: str, amount: Decimal, symbol: str | None
    ) -> Decimal | None:
        if margin == "cross":
            r = await _guard(self.client.cross_repay(coin=coin, repay_amount=amount))
            return r.remain_debt_amount
        if symbol is None:
            raise CallRejected("isolated repay needs a symbol")
        ir = await _guard(self.client.isolated_repay(symbol=symbol, coin=coin, repay_amount=amount))
        return ir.remain_debt_amount

    async def flash_repay(self, margin: Margin, *, coin: str | None, symbol: str | None) -> str:
        if margin == "cross":
            return (await _guard(self.client.cross_flash_repay(coin=coin))).id
        if symbol is None:
            # Never "every symbol" by accident: the daemon acts on one scope at a time.
            raise CallRejected("isolated flash repay needs a symbol")
        rows = await _guard(self.client.isolated_flash_repay(symbols=[symbol]))
        for r in rows:
            if r.symbol.upper() == symbol:
                if r.code not in (None, "", "success"):
                    raise CallRejected(f"flash repay of {symbol} refused: {r.code}", code=r.code)
                return r.id
        raise CallUncertain(f"flash repay answer has no row for {symbol}")

    async def batch_cancel(self, margin: Margin, symbol: str, order_ids: list[str]) -> CancelResult:
        method = (
            self.client.cross_batch_cancel_order
            if margin == "cross"
            else self.client.isolated_batch_cancel_order
        )
        r = await _guard(method(symbol=symbol, order_ids=order_ids))
        return CancelResult(
            tuple(a.order_id for a in r.result_list if a.order_id),
            tuple(f.order_id or f.client_oid or "?" for f in r.failure),
        )

    async def place_market_autorepay(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amount: Decimal,
        client_oid: str,
    ) -> str:
        try:
            order = OrderRequest(
                side=side,
                order_type="market",
                loan_type="autoRepay",
                time_in_force="gtc",
                base_quantity=amount if side == "sell" else None,
                quote_amount=amount if side == "buy" else None,
                client_oid=client_oid,
            )
        except ValueError as exc:
            raise CallRejected(f"not sent: {exc}", code="request") from exc
        method = (
            self.client.cross_place_order if margin == "cross" else self.client.isolated_place_order
        )
        return (await _guard(method(symbol=symbol, order=order))).order_id


def _repay(r: WireRepay, symbol: str | None) -> RepayRecord:
    return RepayRecord(
        r.repay_id,
        r.coin,
        r.amount,
        r.total_amount if r.total_amount is not None else r.amount,
        r.c_time or 0,
        r.type or "",
        r.symbol or symbol,
    )


async def _collect(it: AsyncIterator[WireRepay], f: Callable[[WireRepay], T]) -> list[T]:
    return [f(r) async for r in it]


__all__ = ["ClientExchange"]
