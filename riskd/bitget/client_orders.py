"""Order endpoint methods of the client, cross and isolated (one method per table entry).

Placing and cancelling are mutating: never retried by the client. Reads page with ``minId``
(history) and ``lastFillId`` (fills) on v1, ``idLessThan`` on v2 (the same keyword arguments:
:mod:`riskd.bitget.client_params`); see :meth:`RecordMethods.iter_pages`. On v2 every order
carries a ``clientOid`` (one is generated when the request has none).
"""

from __future__ import annotations

from collections.abc import Sequence

from riskd.bitget.client_core import ClientCore, wire
from riskd.bitget.errors import RequestParamError
from riskd.bitget.models import Page
from riskd.bitget.models_orders import (
    BatchOrderResult,
    Fill,
    Order,
    OrderRequest,
    PlaceOrderResult,
)


def _one_of(name: str, a: object, b: object, what: str) -> None:
    if a is None and b is None:
        raise RequestParamError(f"{name}: give {what}")


class OrderMethods(ClientCore):
    # ------------------------------------------------------------------ cross

    async def cross_place_order(self, *, symbol: str, order: OrderRequest) -> PlaceOrderResult:
        return await self._one(
            "cross_place_order",
            PlaceOrderResult,
            {**wire(symbol=symbol), **order.wire_params(self.api)},
        )

    async def cross_batch_place_order(
        self, *, symbol: str, orders: Sequence[OrderRequest]
    ) -> BatchOrderResult:
        return await self._one(
            "cross_batch_place_order",
            BatchOrderResult,
            wire(symbol=symbol, order_list=list(orders)),
        )

    async def cross_cancel_order(
        self, *, symbol: str, order_id: str | None = None, client_oid: str | None = None
    ) -> BatchOrderResult:
        _one_of("cross_cancel_order", order_id, client_oid, "order_id or client_oid")
        return await self._one(
            "cross_cancel_order",
            BatchOrderResult,
            wire(symbol=symbol, order_id=order_id, client_oid=client_oid),
        )

    async def cross_batch_cancel_order(
        self,
        *,
        symbol: str,
        order_ids: Sequence[str] | None = None,
        client_oids: Sequence[str] | None = None,
    ) -> BatchOrderResult:
        _one_of("cross_batch_cancel_order", order_ids, client_oids, "order_ids or client_oids")
        return await self._one(
            "cross_batch_cancel_order",
            BatchOrderResult,
            wire(symbol=symbol, order_ids=_opt_list(order_ids), client_oids=_opt_list(client_oids)),
        )

    async def cross_open_orders(
        self,
        *,
        symbol: str,
        order_id: str | None = None,
        client_oid: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        page_size: int | None = None,
    ) -> Page[Order]:
        return await self._page(
            "cross_open_orders",
            Order,
            wire(
                symbol=symbol,
                order_id=order_id,
                client_oid=client_oid,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
            ),
        )

    async def cross_order_history(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        order_id: str | None = None,
        source: str | None = None,
        client_oid: str | None = None,
        page_size: int | None = None,
        min_id: str | None = None,
    ) -> Page[Order]:
        return await self._page(
            "cross_order_history",
            Order,
            wire(
                symbol=symbol,
                order_id=order_id,
                source=source,
                client_oid=client_oid,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                min_id=min_id,
            ),
        )

    async def cross_fills(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        order_id: str | None = None,
        last_fill_id: str | None = None,
        page_size: int | None = None,
    ) -> Page[Fill]:
        return await self._page(
            "cross_fills",
            Fill,
            wire(
                symbol=symbol,
                order_id=order_id,
                last_fill_id=last_fill_id,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
            ),
        )

    # ------------------------------------------------------------------ isolated

    async def isolated_place_order(self, *, symbol: str, order: OrderRequest) -> PlaceOrderResult:
        return await self._one(
            "isolated_place_order",
            PlaceOrderResult,
            {**wire(symbol=symbol), **order.wire_params(self.api)},
        )

    async def isolated_batch_place_order(
        self, *, symbol: str, orders: Sequence[OrderRequest]
    ) -> BatchOrderResult:
        return await self._one(
            "isolated_batch_place_order",
            BatchOrderResult,
            wire(symbol=symbol, order_list=list(orders)),
        )

    async def isolated_cancel_order(
        self, *, symbol: str, order_id: str | None = None, client_oid: str | None = None
    ) -> BatchOrderResult:
        _one_of("isolated_cancel_order", order_id, client_oid, "order_id or client_oid")
        return await self._one(
            "isolated_cancel_order",
            BatchOrderResult,
            wire(symbol=symbol, order_id=order_id, client_oid=client_oid),
        )

    async def isolated_batch_cancel_order(
        self,
        *,
        symbol: str,
        order_ids: Sequence[str] | None = None,
        client_oids: Sequence[str] | None = None,
    ) -> BatchOrderResult:
        _one_of("isolated_batch_cancel_order", order_ids, client_oids, "order_ids or client_oids")
        return await self._one(
            "isolated_batch_cancel_order",
            BatchOrderResult,
            wire(symbol=symbol, order_ids=_opt_list(order_ids), client_oids=_opt_list(client_oids)),
        )

    async def isolated_open_orders(
        self,
        *,
        symbol: str,
        order_id: str | None = None,
        client_oid: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        page_size: int | None = None,
    ) -> Page[Order]:
        return await self._page(
            "isolated_open_orders",
            Order,
            wire(
                symbol=symbol,
                order_id=order_id,
                client_oid=client_oid,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
            ),
        )

    async def isolated_order_history(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        order_id: str | None = None,
        source: str | None = None,
        client_oid: str | None = None,
        page_size: int | None = None,
        min_id: str | None = None,
    ) -> Page[Order]:
        return await self._page(
            "isolated_order_history",
            Order,
            wire(
                symbol=symbol,
                order_id=order_id,
                source=source,
                client_oid=client_oid,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
                min_id=min_id,
            ),
        )

    async def isolated_fills(
        self,
        *,
        symbol: str,
        start_time: int,
        end_time: int | None = None,
        order_id: str | None = None,
        last_fill_id: str | None = None,
        page_size: int | None = None,
    ) -> Page[Fill]:
        return await self._page(
            "isolated_fills",
            Fill,
            wire(
                symbol=symbol,
                order_id=order_id,
                last_fill_id=last_fill_id,
                start_time=start_time,
                end_time=end_time,
                page_size=page_size,
            ),
        )


def _opt_list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)
