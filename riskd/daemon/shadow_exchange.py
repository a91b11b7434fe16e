""":class:`ShadowExchange`: an account's :class:`~riskd.daemon.exchange.Exchange` seen through
its dry-run shadow (:mod:`riskd.daemon.shadow_book`).

The reads the poller makes — assets, risk figures, open orders — come back with the shadow's
would-be actions on top, so the rules decide on the account as it would be. Everything else
(reference data, histories, and every mutating call, which only a LIVE executor makes) goes
to the wrapped exchange untouched. With no shadow entry (always, while the account is LIVE:
the book clears itself when it sees the account LIVE) every read is the wrapped one as is.

It offers what :class:`~riskd.daemon.client_exchange.ClientExchange` offers
(:class:`~riskd.daemon.exchange.BatchRiskRates`, :class:`~riskd.daemon.exchange.IdempotentRepay`,
:class:`~riskd.daemon.exchange.RiskFigure`), falling back to the plain calls when the
wrapped exchange lacks one.

:class:`ShadowUtaExchange` is the same for a Unified Trading Account: a
:class:`~riskd.daemon.uta_exchange.UtaExchange` whose :meth:`~ShadowUtaExchange.read` (the
poller's one read of the ``uta`` scope) comes back with the shadow on top
(:meth:`ShadowBook.shadow_uta`); reconciliation and orders read the real figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from riskd.bitget.client import BitgetClient
from riskd.bitget.models_uta import UtaAssets
from riskd.daemon.exchange import (
    AssetRow,
    BatchOrders,
    BatchPlaced,
    BatchRiskRates,
    CallRejected,
    CancelResult,
    Exchange,
    IdempotentRepay,
    Margin,
    OrderInfo,
    RepayOutcome,
    RepayRecord,
    RiskFigure,
    Side,
    SymbolInfo,
    TierInfo,
)
from riskd.daemon.shadow_book import ShadowBook
from riskd.daemon.uta_exchange import BadAnswerHook, UtaExchange
from riskd.risk.snapshot import CROSS, isolated_scope


class ShadowExchange:
    """Reads through ``book``'s shadow; calls go to ``inner`` as they are."""

    def __init__(self, inner: Exchange, book: ShadowBook) -> None:
        self.inner = inner
        self.book = book

    @property
    def risk_rate_contested(self) -> bool:
        return isinstance(self.inner, RiskFigure) and self.inner.risk_rate_contested

    # --- shadowed reads ---------------------------------------------------------------------
    async def assets(self, margin: Margin) -> list[AssetRow]:
        return await self.book.shadow_rows(margin, await self.inner.assets(margin))

    async def cross_risk_rate(self) -> Decimal:
        return self.book.shadow_rate(CROSS, await self.inner.cross_risk_rate())

    async def isolated_risk_rate(self, symbol: str) -> Decimal:
        rate = await self.inner.isolated_risk_rate(symbol)
        return self.book.shadow_rate(isolated_scope(symbol), rate)

    async def isolated_risk_rates(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        if isinstance(self.inner, BatchRiskRates):
            rates = await self.inner.isolated_risk_rates(symbols)
        else:
            rates = {s: await self.inner.isolated_risk_rate(s) for s in symbols}
        return {s: self.book.shadow_rate(isolated_scope(s), r) for s, r in rates.items()}

    async def open_orders(
        self, margin: Margin, symbol: str, *, client_oid: str | None = None
    ) -> list[OrderInfo]:
        orders = await self.inner.open_orders(margin, symbol, client_oid=client_oid)
        gone = self.book.cancelled(margin, symbol)
        return [o for o in orders if o.order_id not in gone] if gone else orders

    # --- passed through -----------------------------------------------------------------------
    async def symbols(self) -> list[SymbolInfo]:
        return await self.inner.symbols()

    async def tier(self, margin: Margin, key: str) -> TierInfo:
        return await self.inner.tier(margin, key)

    async def order_history(
        self, margin: Margin, symbol: str, *, start_ms: int, client_oid: str
    ) -> list[OrderInfo]:
        return await self.inner.order_history(
            margin, symbol, start_ms=start_ms, client_oid=client_oid
        )

    async def repays(
        self, margin: Margin, *, symbol: str | None, coin: str | None, start_ms: int
    ) -> list[RepayRecord]:
        return await self.inner.repays(margin, symbol=symbol, coin=coin, start_ms=start_ms)

    async def flash_repay_status(self, margin: Margin, flash_id: str) -> str:
        return await self.inner.flash_repay_status(margin, flash_id)

    async def repay(
        self, margin: Margin, *, coin: str, amount: Decimal, symbol: str | None
    ) -> Decimal | None:
        return await self.inner.repay(margin, coin=coin, amount=amount, symbol=symbol)

    async def repay_once(
        self,
        margin: Margin,
        *,
        coin: str,
        amount: Decimal,
        symbol: str | None,
        client_oid: str,
    ) -> RepayOutcome:
        if isinstance(self.inner, IdempotentRepay):
            return await self.inner.repay_once(
                margin, coin=coin, amount=amount, symbol=symbol, client_oid=client_oid
            )
        remain = await self.inner.repay(margin, coin=coin, amount=amount, symbol=symbol)
        return RepayOutcome(remain)

    async def flash_repay(self, margin: Margin, *, coin: str | None, symbol: str | None) -> str:
        return await self.inner.flash_repay(margin, coin=coin, symbol=symbol)

    async def batch_cancel(self, margin: Margin, symbol: str, order_ids: list[str]) -> CancelResult:
        return await self.inner.batch_cancel(margin, symbol, order_ids)

    async def place_market_autorepay(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amount: Decimal,
        client_oid: str,
    ) -> str:
        return await self.inner.place_market_autorepay(
            margin, symbol=symbol, side=side, amount=amount, client_oid=client_oid
        )

    async def place_market_autorepay_batch(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amounts: Sequence[Decimal],
        client_oids: Sequence[str],
    ) -> BatchPlaced:
        if not isinstance(self.inner, BatchOrders):
            raise CallRejected("not sent: this exchange takes no batch orders", code="request")
        return await self.inner.place_market_autorepay_batch(
            margin, symbol=symbol, side=side, amounts=amounts, client_oids=client_oids
        )


class ShadowUtaExchange(UtaExchange):
    """A Unified Trading Account whose poller reads go through ``book``'s shadow."""

    def __init__(
        self,
        client: BitgetClient,
        *,
        liquidation_level: Decimal,
        book: ShadowBook,
        on_bad_answer: BadAnswerHook | None = None,
    ) -> None:
        super().__init__(client, liquidation_level=liquidation_level, on_bad_answer=on_bad_answer)
        self.book = book

    async def read(self) -> UtaAssets:
        return await self.book.shadow_uta(await self._fetch(), self.liquidation_level)


def book_of(exchange: object) -> ShadowBook | None:
    """The shadow book ``exchange`` reads through (a :class:`ShadowExchange` or a
    :class:`ShadowUtaExchange`), else None."""
    if isinstance(exchange, ShadowExchange | ShadowUtaExchange):
        return exchange.book
    return None


def shadow_of(account: object) -> ShadowBook | None:
    """The shadow book of a daemon account (an :class:`~riskd.daemon.app.AccountRuntime`
    whose exchange reads through one), else None."""
    return book_of(getattr(account, "exchange", None))


__all__ = ["ShadowExchange", "ShadowUtaExchange", "book_of", "shadow_of"]
