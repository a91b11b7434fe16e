"""Public and account endpoint methods of the client (one method per table entry)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from riskd.bitget.client_core import ClientCore, wire
from riskd.bitget.errors import RequestParamError
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
    IsolatedRepayResult,
    IsolatedRiskRate,
    IsolatedTier,
    MarginCurrency,
)


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

    async def cross_borrow(self, *, coin: str, borrow_amount: Decimal) -> CrossBorrowResult:
        """Borrow in the cross account. Mutating: never retried."""
        return await self._one(
            "cross_borrow", CrossBorrowResult, wire(coin=coin, borrow_amount=borrow_amount)
        )

    async def isolated_borrow(
        self, *, symbol: str, coin: str, borrow_amount: Decimal
    ) -> IsolatedBorrowResult:
        """Borrow in one isolated account. Mutating: never retried."""
        return await self._one(
            "isolated_borrow",
            IsolatedBorrowResult,
            wire(coin=coin, borrow_amount=borrow_amount, symbol=symbol),
        )

    async def cross_repay(self, *, coin: str, repay_amount: Decimal) -> CrossRepayResult:
        """Repay cross debt (at least the interest). Mutating: never retried."""
        return await self._one(
            "cross_repay", CrossRepayResult, wire(coin=coin, repay_amount=repay_amount)
        )

    async def isolated_repay(
        self, *, symbol: str, coin: str, repay_amount: Decimal
    ) -> IsolatedRepayResult:
        """Repay isolated debt of ``symbol``. Mutating: never retried."""
        return await self._one(
            "isolated_repay",
            IsolatedRepayResult,
            wire(coin=coin, repay_amount=repay_amount, symbol=symbol),
        )

    async def cross_risk_rate(self, *, coin: str) -> CrossRiskRate:
        """The cross account's risk rate (≥ 0.8 margin call, ≥ 1 liquidation)."""
        return await self._one("cross_risk_rate", CrossRiskRate, wire(coin=coin))

    async def isolated_risk_rate(
        self, *, symbol: str, page_num: int | None = None, page_size: int | None = None
    ) -> tuple[IsolatedRiskRate, ...]:
        """Risk rate of isolated ``symbol`` (a POST that only reads: retried when transient)."""
        return await self._many(
            "isolated_risk_rate",
            IsolatedRiskRate,
            wire(symbol=symbol, page_num=page_num, page_size=page_size),
        )

    async def cross_max_borrowable(self, *, coin: str) -> CrossMaxBorrowable:
        return await self._one("cross_max_borrowable", CrossMaxBorrowable, wire(coin=coin))

    async def isolated_max_borrowable(self, *, symbol: str, coin: str) -> IsolatedMaxBorrowable:
        return await self._one(
            "isolated_max_borrowable", IsolatedMaxBorrowable, wire(coin=coin, symbol=symbol)
        )

    async def cross_max_transfer_out(self, *, coin: str) -> CrossMaxTransferOut:
        return await self._one("cross_max_transfer_out", CrossMaxTransferOut, wire(coin=coin))

    async def isolated_max_transfer_out(self, *, symbol: str, coin: str) -> IsolatedMaxTransferOut:
        return await self._one(
            "isolated_max_transfer_out", IsolatedMaxTransferOut, wire(coin=coin, symbol=symbol)
        )

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
