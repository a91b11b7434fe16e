"""Paging through list endpoints by minId / pageId / lastFillId."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from riskd.bitget.endpoints import BY_NAME
from riskd.bitget.errors import RequestParamError
from riskd.bitget.models_records import LiquidationRecord, RepayRecord


def _pages(fake: Any, name: str, cursor: str, pages: dict[str | None, Any], item: Any) -> None:
    """Serve ``pages[cursor]`` (ids) for requests whose cursor parameter is ``cursor``."""

    def handler(request: httpx.Request) -> httpx.Response:
        ids = pages[request.url.params.get(cursor)]
        return item(ids)

    fake.on(BY_NAME[name].path, handler)


def _repays(fake: Any) -> Any:
    def page(ids: list[str]) -> httpx.Response:
        rows = [{"repayId": i, "coin": "USDT", "amount": "1", "cTime": i} for i in ids]
        return fake.ok(
            {
                "resultList": rows,
                "maxId": ids[0] if ids else None,
                "minId": ids[-1] if ids else None,
            }
        )

    return page


async def test_iter_records_follows_page_id_until_an_empty_page(fake: Any) -> None:
    """cross_repays pages by pageId=minId and stops on an empty page."""
    pages = {None: ["9", "8"], "8": ["7", "6"], "6": ["5"], "5": []}
    _pages(fake, "cross_repays", "pageId", pages, _repays(fake))
    async with fake.client() as client:
        got = [r async for r in client.iter_records("cross_repays", start_time=1, page_size=2)]
    assert [r.repay_id for r in got] == ["9", "8", "7", "6", "5"]
    assert all(isinstance(r, RepayRecord) for r in got)
    sent = fake.calls(BY_NAME["cross_repays"].path)
    assert [r.url.params.get("pageId") for r in sent] == [None, "8", "6", "5"]
    assert all(r.url.params["pageSize"] == "2" and r.url.params["startTime"] == "1" for r in sent)


async def test_paging_stops_when_min_id_is_missing(fake: Any) -> None:
    """A page without minId is the last one."""

    def handler(request: httpx.Request) -> httpx.Response:
        return fake.ok({"resultList": [{"repayId": "1", "coin": "BTC", "amount": "2"}]})

    fake.on(BY_NAME["isolated_repays"].path, handler)
    async with fake.client() as client:
        got = [
            r
            async for r in client.iter_pages(client.isolated_repays, symbol="BTCUSDT", start_time=1)
        ]
    assert len(got) == 1 and len(fake.calls(BY_NAME["isolated_repays"].path)) == 1


async def test_paging_stops_when_min_id_does_not_move(fake: Any) -> None:
    """A server that keeps answering the same minId does not loop for ever."""
    _pages(fake, "cross_repays", "pageId", {None: ["3"], "3": ["3"]}, _repays(fake))
    async with fake.client() as client:
        got = [r async for r in client.iter_records("cross_repays", start_time=1)]
    assert [r.repay_id for r in got] == ["3", "3"]
    assert len(fake.calls(BY_NAME["cross_repays"].path)) == 2


async def test_liquidation_lists_page_on_ids_beside_a_bare_array(fake: Any) -> None:
    """Erratum 4: liquidation data is a bare array with maxId/minId beside it."""

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("pageId")
        ids = {None: ["20", "19"], "19": ["18"], "18": []}[cursor]
        rows = [{"liqId": i, "totalDebt": "1", "LiqFee": "0.5"} for i in ids]
        body = {
            "code": "00000",
            "message": "success",
            "data": rows,
            "maxId": ids[0] if ids else None,
            "minId": ids[-1] if ids else None,
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    fake.on(BY_NAME["cross_liquidations"].path, handler)
    async with fake.client() as client:
        got = [r async for r in client.iter_pages(client.cross_liquidations, start_time=0)]
    assert [r.liq_id for r in got] == ["20", "19", "18"]
    assert all(isinstance(r, LiquidationRecord) and str(r.liq_fee) == "0.5" for r in got)


async def test_order_history_pages_by_min_id_and_fills_by_last_fill_id(fake: Any) -> None:
    """History sends minId, fills send lastFillId, each the previous page's minId."""

    def orders(ids: list[str]) -> httpx.Response:
        rows = [{"symbol": "BTCUSDT", "orderId": i} for i in ids]
        return fake.ok({"orderList": rows, "minId": ids[-1] if ids else None})

    def fills(ids: list[str]) -> httpx.Response:
        rows = [{"orderId": "1", "fillId": i} for i in ids]
        return fake.ok({"resultList": rows, "minId": ids[-1] if ids else None})

    _pages(fake, "cross_order_history", "minId", {None: ["5", "4"], "4": []}, orders)
    _pages(fake, "isolated_fills", "lastFillId", {None: ["9"], "9": ["8"], "8": []}, fills)
    async with fake.client() as client:
        hist = [
            o.order_id
            async for o in client.iter_pages(
                client.cross_order_history, symbol="BTCUSDT", start_time=1
            )
        ]
        fl = [
            f.fill_id
            async for f in client.iter_records("isolated_fills", symbol="BTCUSDT", start_time=1)
        ]
    assert hist == ["5", "4"] and fl == ["9", "8"]


async def test_paging_can_start_from_a_cursor_and_stop_after_max_pages(fake: Any) -> None:
    """A given page_id is the first cursor; max_pages bounds the walk."""
    pages = {"100": ["99"], "99": ["98"], "98": ["97"]}
    _pages(fake, "cross_repays", "pageId", pages, _repays(fake))
    async with fake.client() as client:
        got = [
            r.repay_id
            async for r in client.iter_records(
                "cross_repays", start_time=1, page_id="100", max_pages=2
            )
        ]
    assert got == ["99", "98"]


async def test_iter_records_refuses_an_unpaged_endpoint(fake: Any) -> None:
    """Only list endpoints with a paging style can be iterated."""
    async with fake.client() as client:
        with pytest.raises(RequestParamError, match="not a paged list"):
            client.iter_records("cross_assets")
