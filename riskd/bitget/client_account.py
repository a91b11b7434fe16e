"""Public and account endpoint methods of the client (one method per table entry).

The signatures and return types are the same for both API versions; where v2 answers in
another shape (isolated max amounts per pair, flash repay ids) the method reads it into the
same model. v2 calls that move money carry a ``clientOid`` (:mod:`riskd.bitget.client_params`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from riskd.bitget.client_core import ClientCore, wire
from riskd.bitget.errors import MalformedResponseError, RequestParamError
from riskd.bitget.models import (
    CrossAsset,
    CrossBorrowResult,
    CrossFlashRepayResult,
    CrossInterestRateAndLimit,
    CrossMaxBorrowable,
    CrossMaxTransferOut,
    CrossRepayResult,
    CrossRiskRate,
    CrossTier,
    FlashRepayStatus,
    IsolatedAsset,
    IsolatedBorrowResult,
    IsolatedFlashRepayResult,
    IsolatedInterestRateAndLimit,
    IsolatedMaxBorrowable,
    IsolatedMaxTransferOut,
    IsolatedPairAmounts,
    IsolatedRepayResult,
    IsolatedRiskRate,
    IsolatedTier,
    MarginCurrency,
)

#: v2 isolated risk rate: rows per page asked for (max 500), and the most pages read.
RISK_PAGE_SIZE = 100
RISK_MAX_PAGES = 20


class PublicMethods(ClientCore):
    """Unsigned market configuration."""

    async def currencies(self) -> tuple[MarginCurrency, ...]:
        """Every margin symbol with its leverage, risk ratios and trade limits."""
        return await self._many("currencies", MarginCurrency, {})

    async def cross_interest_rate_and_limit(
        self, *, coin: str
    ) -> tuple[CrossInterestRateAndLimit, ...]:
        return await self._many(
            "cross_interest_rate_and_limit", CrossInterestRateAndLimit, wire(coin=coin)
        )

    async def isolated_interest_rate_and_limit(
        self, *, symbol: str
    ) -> tuple[IsolatedInterestRateAndLimit, ...]:
        return await self._many(
            "isolated_interest_rate_and_limit", IsolatedInterestRateAndLimit, wire(symbol=symbol)
        )

    async def cross_tier_data(self, *, coin: str) -> tuple[CrossTier, ...]:
        return await self._many("cross_tier_data", CrossTier, wire(coin=coin))

    async def isolated_tier_data(self, *, symbol: str) -> tuple[IsolatedTier, ...]:
        return await self._many("isolated_tier_data", IsolatedTier, wire(symbol=symbol))


class AccountMethods(ClientCore):
    """Balances, risk, borrowing and repaying (signed)."""

    async def cross_assets(self, *, coin: str | None = None) -> tuple[CrossAsset, ...]:
        return await self._many("cross_assets", CrossAsset, wire(coin=coin))

    async def isolated_assets(self, *, symbol: str | None = None) -> tuple[IsolatedAsset, ...]:
        return await self._many("isolated_assets", IsolatedAsset, wire(symbol=symbol))

    async def cross_borrow(
        self, *, coin: str, borrow_amount: Decimal, client_oid: str | None = None
    ) -> CrossBorrowResult:
        """Borrow in the cross account (v2: with ``client_oid``, generated when not given;
        the answer has the ``loan_id``). Mutating: never retried."""
        return await self._one(
            "cross_borrow",
            CrossBorrowResult,
            wire(coin=coin, borrow_amount=borrow_amount, client_oid=client_oid),
        )

    async def isolated_borrow(
        self, *, symbol: str, coin: str, borrow_amount: Decimal, client_oid: str | None = None
    ) -> IsolatedBorrowResult:
        """Borrow in one isolated account (v2: with ``client_oid``). Mutating: never retried."""
        return await self._one(
            "isolated_borrow",
            IsolatedBorrowResult,
            wire(coin=coin, borrow_amount=borrow_amount, symbol=symbol, client_oid=client_oid),
        )

    async def cross_repay(self, *, coin: str, repay_amount: Decimal) -> CrossRepayResult:
        """Repay cross debt (at least the interest). No client id exists for it in either
        version; v2 answers with the ``repay_id``. Mutating: never retried."""
        return await self._one(
            "cross_repay", CrossRepayResult, wire(coin=coin, repay_amount=repay_amount)
        )

    async def isolated_repay(
        self, *, symbol: str, coin: str, repay_amount: Decimal, client_oid: str | None = None
    ) -> IsolatedRepayResult:
        """Repay isolated debt of ``symbol`` (v2: with ``client_oid``, answer with
        ``repay_id``). Mutating: never retried."""
        return await self._one(
            "isolated_repay",
            IsolatedRepayResult,
            wire(coin=coin, repay_amount=repay_amount, symbol=symbol, client_oid=client_oid),
        )

    async def cross_risk_rate(self, *, coin: str | None = None) -> CrossRiskRate:
        """The cross account's risk figure (v2 takes no coin; v1 is asked for ``coin`` or
        USDT). v2's ``riskRateRatio`` direction is contested: :mod:`riskd.risk.reading`."""
        return await self._one("cross_risk_rate", CrossRiskRate, wire(coin=coin))

    async def isolated_risk_rate(
        self,
        *,
        symbol: str | None = None,
        page_num: int | None = None,
        page_size: int | None = None,
    ) -> tuple[IsolatedRiskRate, ...]:
        """One page of isolated risk rates: of ``symbol`` (required on v1), or on v2 of every
        symbol when ``symbol`` is None. Only reads: retried when transient."""
        if symbol is None and self.api == "v1":
            raise RequestParamError("isolated_risk_rate: v1 needs a symbol")
        return await self._many(
            "isolated_risk_rate",
            IsolatedRiskRate,
            wire(symbol=symbol, page_num=page_num, page_size=page_size),
        )

    async def isolated_risk_rates(
        self, *, symbols: Sequence[str] | None = None
    ) -> dict[str, IsolatedRiskRate]:
        """Risk rates of ``symbols`` (every isolated symbol when None, v2 only), by symbol.

        v2: one paged GET for every symbol (``pageNum`` 1, 2... while pages are full), so the
        calls do not grow with the number of symbols. v1: one call per symbol.
        """
        wanted = None if symbols is None else {s.upper() for s in symbols}
        out: dict[str, IsolatedRiskRate] = {}
        if self.api == "v1":
            if wanted is None:
                raise RequestParamError("isolated_risk_rates: v1 needs the symbols")
            for symbol in sorted(wanted):
                for row in await self.isolated_risk_rate(symbol=symbol):
                    out[row.symbol.upper()] = row
            return out
        for page in range(1, RISK_MAX_PAGES + 1):
            rows = await self.isolated_risk_rate(page_num=page, page_size=RISK_PAGE_SIZE)
            for row in rows:
                if wanted is None or row.symbol.upper() in wanted:
                    out[row.symbol.upper()] = row
            if len(rows) < RISK_PAGE_SIZE or (wanted is not None and wanted <= set(out)):
                break
        return out

    async def cross_max_borrowable(self, *, coin: str) -> CrossMaxBorrowable:
        return await self._one("cross_max_borrowable", CrossMaxBorrowable, wire(coin=coin))

    async def isolated_max_borrowable(self, *, symbol: str, coin: str) -> IsolatedMaxBorrowable:
        """Max borrowable ``coin`` in ``symbol`` (v2 answers for both coins of the pair)."""
        if self.api == "v1":
            return await self._one(
                "isolated_max_borrowable", IsolatedMaxBorrowable, wire(coin=coin, symbol=symbol)
            )
        pair = await self._one("isolated_max_borrowable", IsolatedPairAmounts, wire(symbol=symbol))
        amount = self._side(pair, "isolated_max_borrowable", coin)
        return IsolatedMaxBorrowable(symbol=pair.symbol, coin=coin, max_borrowable_amount=amount)

    async def cross_max_transfer_out(self, *, coin: str) -> CrossMaxTransferOut:
        return await self._one("cross_max_transfer_out", CrossMaxTransferOut, wire(coin=coin))

    async def isolated_max_transfer_out(self, *, symbol: str, coin: str) -> IsolatedMaxTransferOut:
        """Max transferable ``coin`` out of ``symbol`` (v2 answers for both coins)."""
        if self.api == "v1":
            return await self._one(
                "isolated_max_transfer_out",
                IsolatedMaxTransferOut,
                wire(coin=coin, symbol=symbol),
            )
        pair = await self._one(
            "isolated_max_transfer_out", IsolatedPairAmounts, wire(symbol=symbol)
        )
        amount = self._side(pair, "isolated_max_transfer_out", coin)
        return IsolatedMaxTransferOut(symbol=pair.symbol, coin=coin, max_transfer_out_amount=amount)

    def _side(self, pair: IsolatedPairAmounts, name: str, coin: str) -> Decimal:
        amount = pair.amount_of(coin)
        if amount is None:
            ep = self._endpoint(name)
            raise MalformedResponseError(
                f"{coin} is neither baseCoin {pair.base_coin} nor quoteCoin {pair.quote_coin}",
                endpoint=f"{name} ({ep.method} {ep.path})",
            )
        return amount

    async def cross_flash_repay(self, *, coin: str | None = None) -> CrossFlashRepayResult:
        """Flash-repay ``coin`` debt from the cross account's assets; every coin when None.

        Mutating: never retried. Poll :meth:`cross_flash_repay_status` with the returned id.
        An empty ``coin`` is refused: "every coin" must be asked for with None.
        """
        if coin is not None and not coin.strip():
            raise RequestParamError("cross_flash_repay: coin is empty; pass None to repay all")
        return await self._one("cross_flash_repay", CrossFlashRepayResult, wire(coin=coin))

    async def isolated_flash_repay(
        self, *, symbols: Sequence[str] | None = None
    ) -> tuple[IsolatedFlashRepayResult, ...]:
        """Flash-repay the isolated accounts of ``symbols``; every one when None.

        Mutating: never retried. An empty list is refused: "every symbol" must be asked for
        with None, so that an empty selection can never repay everything by accident.
        """
        if symbols is not None and not list(symbols):
            raise RequestParamError(
                "isolated_flash_repay: symbols is empty; pass None to repay every symbol"
            )
        return await self._many(
            "isolated_flash_repay",
            IsolatedFlashRepayResult,
            wire(symbols=None if symbols is None else list(symbols)),
        )

    async def cross_flash_repay_status(
        self, *, id_list: Sequence[str]
    ) -> tuple[FlashRepayStatus, ...]:
        return await self._many(
            "cross_flash_repay_status", FlashRepayStatus, wire(id_list=list(id_list))
        )

    async def isolated_flash_repay_status(
        self, *, id_list: Sequence[str]
    ) -> tuple[FlashRepayStatus, ...]:
        return await self._many(
            "isolated_flash_repay_status", FlashRepayStatus, wire(id_list=list(id_list))
        )
