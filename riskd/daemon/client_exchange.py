""":class:`~riskd.daemon.exchange.Exchange` over :class:`riskd.bitget.client.BitgetClient`.

Translates the client's typed answers to the daemon's plain values, and its exception tree
to the two things a protective call can end in: :class:`CallRejected` (the exchange answered
and did nothing — including a rate budget that would not admit the call, and a request the
client refused to send) and :class:`CallUncertain` (``outcome_unknown``: it may have acted).

Also: 40085 (Unified Trading Account) → :class:`AccountModeError`; an answer in an unexpected
shape → :class:`MalformedAnswer` (naming endpoint and field); 50060 "Duplicated clientOid"
→ :class:`CallUncertain` — a request with this intent's id was executed before, so
reconciliation, not a resend, settles it.

The client's API version (``client.api``) decides only what happens inside: on v2 the
isolated risk rates of every symbol come in one paged call, an isolated repay carries the
intent's ``clientOid``, and the risk figure is marked contested (:mod:`riskd.risk.reading`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from riskd.bitget.client import BitgetClient
from riskd.bitget.errors import (
    ExchangeUnavailableError,
    MalformedResponseError,
    RateLimitedError,
    RequestParamError,
    RiskdExchangeError,
)
from riskd.bitget.models_orders import Order, OrderRequest
from riskd.bitget.models_records import RepayRecord as WireRepay
from riskd.budget import BudgetExhausted
from riskd.daemon.exchange import (
    AccountModeError,
    AssetRow,
    BatchPlaced,
    CallRejected,
    CallUncertain,
    CancelResult,
    MalformedAnswer,
    Margin,
    OrderInfo,
    RepayOutcome,
    RepayRecord,
    Side,
    SymbolInfo,
    TierInfo,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Told the text of a malformed answer to a read reconciliation relies on.
BadAnswerHook = Callable[[str], Awaitable[None]]
#: Pages of a record list read during one reconciliation (100 records each).
MAX_PAGES = 10
PAGE_SIZE = 100


#: "in Unified Account mode, Classic Account API not supported" (ENDPOINTS-v2.md §5, §6).
UTA_CODE = "40085"
#: "Duplicated clientOid": an earlier request with this id was executed (§5).
DUPLICATE_CLIENT_OID = "50060"
UTA_MESSAGE = (
    "this account is a Unified Trading Account (Bitget answered 40085 on {endpoint}): "
    "riskd's classic margin client cannot protect it; it is stopped, every other account is "
    'still protected. Set api = "v2" and mode = "auto" (or "uta") for this account '
    "so that riskd protects it through API v3"
)


async def _guard(call: Awaitable[T]) -> T:
    try:
        return await call
    except RiskdExchangeError as exc:
        if exc.code == UTA_CODE:
            where = exc.endpoint or "a classic endpoint"
            raise AccountModeError(UTA_MESSAGE.format(endpoint=where), code=exc.code) from exc
        if exc.code == DUPLICATE_CLIENT_OID:
            raise CallUncertain(
                f"{exc}; a request with this clientOid was executed before: reconcile",
                code=exc.code,
            ) from exc
        if isinstance(exc, MalformedResponseError) and not exc.outcome_unknown:
            raise MalformedAnswer(str(exc), code="malformed") from exc
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

    def __init__(self, client: BitgetClient, *, on_bad_answer: BadAnswerHook | None = None) -> None:
        self.client = client
        self._on_bad_answer = on_bad_answer
        self._bad_seen: dict[str, str] = {}

    async def _checked(self, what: str, call: Awaitable[T]) -> T:
        """A read reconciliation relies on: an answer in an unexpected shape is told to
        ``on_bad_answer`` once per distinct error (the poll's reads have their own notices),
        and raised as :class:`MalformedAnswer` — the intent stays open, nothing is resent."""
        try:
            result = await _guard(call)
        except MalformedAnswer as exc:
            if self._on_bad_answer is not None and self._bad_seen.get(what) != str(exc):
                self._bad_seen[what] = str(exc)
                await self._on_bad_answer(str(exc))
            raise
        self._bad_seen.pop(what, None)
        return result

    @property
    def risk_rate_contested(self) -> bool:
        """v2's ``riskRateRatio`` direction is contested; v1's ``riskRate`` is documented."""
        return self.client.api == "v2"

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
        # v1 requires a coin although the rate is the whole cross account's (the client
        # asks for USDT); v2 takes none.
        return (await _guard(self.client.cross_risk_rate())).risk_rate

    async def isolated_risk_rate(self, symbol: str) -> Decimal:
        rows = await _guard(self.client.isolated_risk_rate(symbol=symbol))
        for r in rows:
            if r.symbol.upper() == symbol:
                return r.risk_rate
        raise MalformedAnswer(f"isolated_risk_rate: the answer has no row for symbol {symbol}")

    async def isolated_risk_rates(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """Every asked symbol's risk figure: one paged call on v2, one per symbol on v1."""
        if not symbols:
            return {}
        rows = await _guard(self.client.isolated_risk_rates(symbols=list(symbols)))
        return {sym: r.risk_rate for sym, r in rows.items()}

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
        page = await self._checked(
            "order_history", method(symbol=symbol, start_time=start_ms, client_oid=client_oid)
        )
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
        return await self._checked("repays", _collect(it, lambda r: _repay(r, symbol)))

    async def flash_repay_status(self, margin: Margin, flash_id: str) -> str:
        method = (
            self.client.cross_flash_repay_status
            if margin == "cross"
            else self.client.isolated_flash_repay_status
        )
        rows = await self._checked("flash_repay_status", method(id_list=[flash_id]))
        for r in rows:
            if r.id == flash_id:
                return r.status
        raise CallRejected(f"flash repay {flash_id} unknown to the exchange")

    # --- protective calls ---------------------------------------------------------------------
    async def repay(
        self, margin: Margin, *, coin: str, amount: Decimal, symbol: str | None
    ) -> Decimal | None:
        return (await self._repay(margin, coin, amount, symbol, None)).remain

    async def repay_once(
        self,
        margin: Margin,
        *,
        coin: str,
        amount: Decimal,
        symbol: str | None,
        client_oid: str,
    ) -> RepayOutcome:
        """Repay with ``client_oid`` where the exchange takes one (v2 isolated; cross repay
        has no client id in any version); the answer's repay id when it gives one."""
        return await self._repay(margin, coin, amount, symbol, client_oid)

    async def _repay(
        self, margin: Margin, coin: str, amount: Decimal, symbol: str | None, oid: str | None
    ) -> RepayOutcome:
        if margin == "cross":
            r = await _guard(self.client.cross_repay(coin=coin, repay_amount=amount))
            return RepayOutcome(r.remain_debt_amount, r.repay_id)
        if symbol is None:
            raise CallRejected("isolated repay needs a symbol")
        ir = await _guard(
            self.client.isolated_repay(
                symbol=symbol, coin=coin, repay_amount=amount, client_oid=oid
            )
        )
        return RepayOutcome(ir.remain_debt_amount, ir.repay_id)

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
        order = _market_autorepay(side, amount, client_oid)
        method = (
            self.client.cross_place_order if margin == "cross" else self.client.isolated_place_order
        )
        return (await _guard(method(symbol=symbol, order=order))).order_id

    async def place_market_autorepay_batch(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amounts: Sequence[Decimal],
        client_oids: Sequence[str],
    ) -> BatchPlaced:
        """The orders of :meth:`place_market_autorepay` in one ``batch-place-order`` call."""
        pairs = zip(amounts, client_oids, strict=True)
        orders = [_market_autorepay(side, amount, oid) for amount, oid in pairs]
        method = (
            self.client.cross_batch_place_order
            if margin == "cross"
            else self.client.isolated_batch_place_order
        )
        result = await _guard(method(symbol=symbol, orders=orders))
        placed = tuple(a.order_id for a in result.result_list if a.order_id)
        refused = tuple(
            f"{f.client_oid or '?'}: {f.error_msg or 'refused'}" for f in result.failure
        )
        return BatchPlaced(placed, refused)


def _market_autorepay(side: Side, amount: Decimal, client_oid: str) -> OrderRequest:
    """A market order with ``loanType=autoRepay``: ``amount`` is the base quantity for a
    sell, the quote amount for a buy. A request the model refuses is never sent."""
    try:
        return OrderRequest(
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
