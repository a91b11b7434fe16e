"""Record list methods of the client (loans, repays, interest, liquidations, finance flows)
and the async iterators that page through every list endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from riskd.bitget.client_core import ClientCore, wire
from riskd.bitget.endpoints import endpoint, endpoints
from riskd.bitget.errors import RequestParamError
from riskd.bitget.models import Page
from riskd.bitget.models_records import (
    FinFlowRecord,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    RepayRecord,
)
from riskd.bitget.paging import cursor_kwarg, iter_pages

T = TypeVar("T", bound=BaseModel)


class RecordMethods(ClientCore):
    # ------------------------------------------------------------------ paging

    def iter_pages(
        self,
        method: Callable[..., Awaitable[Page[T]]],
        /,
        *,
        max_pages: int | None = None,
        **params: Any,
    ) -> AsyncIterator[T]:
        """Iterate every item of a paged list method, following ``minId`` page to page
        (v1 ``pageId`` / ``minId`` / ``lastFillId``, v2 ``idLessThan``: the same iterator).

        ``client.iter_pages(client.cross_repays, start_time=t, page_size=100)`` yields
        :class:`RepayRecord` items until a page is empty or has no ``minId``. A cursor given
        in ``params`` (``page_id`` / ``min_id`` / ``last_fill_id``) is where paging starts.
        """
        name = getattr(method, "__name__", "")
        ep = self._endpoint(name)
        if ep.paging is None:
            raise RequestParamError(f"{ep.name} is not a paged list endpoint")
        # The methods take v1's cursor keyword in both versions (v2 sends it as idLessThan).
        key = cursor_kwarg(endpoint(ep.name, "v1"))
        start = params.pop(key, None)

        def fetch(cursor: str | None) -> Awaitable[Page[T]]:
            return method(**params, **{key: cursor})

        return iter_pages(fetch, start=start, max_pages=max_pages, name=ep.name)

    def iter_records(
        self, name: str, /, *, max_pages: int | None = None, **params: Any
    ) -> AsyncIterator[BaseModel]:
        """:meth:`iter_pages` by endpoint name: ``iter_records("cross_repays", start_time=t)``."""
        ep = self._endpoint(name)
        if ep.paging is None or not hasattr(self, ep.name):
            paged = sorted(
                e.name
                for e in endpoints(self.api)
                if e.paging is not None and hasattr(self, e.name)
            )
            raise RequestParamError(f"{name} is not a paged list; paged: {', '.join(paged)}")
        method: Callable[..., Awaitable[Page[BaseModel]]] = getattr(self, ep.name)
        return self.iter_pages(method, max_pages=max_pages, **params)

    # ------------------------------------------------------------------ cross

    async def cross_loans(
        self,
        *,
        start_time: int,
        end_time: int | None = None,
        coin: str | None = None,
        loan_id: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[LoanRecord]:
        return await self._page(
            "cross_loans",
            LoanRecord,
            wire(
                loan_id=loan_id,
                coin=coin,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    async def cross_repays(
        self,
        *,
        start_time: int,
        end_time: int | None = None,
        coin: str | None = None,
        repay_id: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[RepayRecord]:
        return await self._page(
            "cross_repays",
            RepayRecord,
            wire(
                repay_id=repay_id,
                coin=coin,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    async def cross_interests(
        self,
        *,
        start_time: int,
        coin: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[InterestRecord]:
        return await self._page(
            "cross_interests",
            InterestRecord,
            wire(coin=coin, start_time=start_time, page_size=page_size, page_id=page_id),
        )

    async def cross_liquidations(
        self,
        *,
        start_time: int,
        end_time: int | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[LiquidationRecord]:
        return await self._page(
            "cross_liquidations",
            LiquidationRecord,
            wire(start_time=start_time, end_time=end_time, page_size=page_size, page_id=page_id),
        )

    async def cross_fin_flows(
        self,
        *,
        start_time: int,
        end_time: int | None = None,
        coin: str | None = None,
        margin_type: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[FinFlowRecord]:
        return await self._page(
            "cross_fin_flows",
            FinFlowRecord,
            wire(
                margin_type=margin_type,
                coin=coin,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    # ------------------------------------------------------------------ isolated

    async def isolated_loans(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        coin: str | None = None,
        loan_id: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[LoanRecord]:
        return await self._page(
            "isolated_loans",
            LoanRecord,
            wire(
                symbol=symbol,
                loan_id=loan_id,
                coin=coin,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    async def isolated_repays(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        coin: str | None = None,
        repay_id: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[RepayRecord]:
        return await self._page(
            "isolated_repays",
            RepayRecord,
            wire(
                symbol=symbol,
                repay_id=repay_id,
                coin=coin,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    async def isolated_interests(
        self,
        *,
        symbol: str,
        start_time: int,
        coin: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[InterestRecord]:
        return await self._page(
            "isolated_interests",
            InterestRecord,
            wire(
                symbol=symbol,
                coin=coin,
                start_time=start_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    async def isolated_liquidations(
        self,
        *,
        symbol: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[LiquidationRecord]:
        """The document marks none of this list's parameters as required."""
        return await self._page(
            "isolated_liquidations",
            LiquidationRecord,
            wire(
                symbol=symbol,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )

    async def isolated_fin_flows(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        coin: str | None = None,
        margin_type: str | None = None,
        page_size: int | None = None,
        page_id: str | None = None,
    ) -> Page[FinFlowRecord]:
        return await self._page(
            "isolated_fin_flows",
            FinFlowRecord,
            wire(
                symbol=symbol,
                margin_type=margin_type,
                coin=coin,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                page_id=page_id,
            ),
        )
