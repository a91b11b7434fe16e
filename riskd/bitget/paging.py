"""Walking the list endpoints page by page.

Bitget's lists page backwards by id: each page carries ``minId`` and the next request passes it
back (as ``minId`` for order history, ``lastFillId`` for fills, ``pageId`` for records) to get
the entries with smaller ids. API v2 calls the cursor ``idLessThan`` everywhere and wraps the
page as ``{resultList | orderList | fills, maxId, minId}``; the client maps both onto
:class:`~riskd.bitget.models.Page` and the same keyword, so this iterator serves both.
:func:`iter_pages` stops on an empty page, a page without ``minId``, a ``minId`` that does not
move (which would otherwise loop for ever), or after ``max_pages``. A page shorter than the
page size asked for is *not* taken as the end: the exchange may cap the size, and one more
request is cheaper than a missed liquidation record."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel

from riskd.bitget.endpoints import Endpoint, Paging
from riskd.bitget.models import Page

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

#: The snake_case keyword that carries the cursor, per paging style.
CURSOR_KWARG: dict[Paging, str] = {
    "minId": "min_id",
    "lastFillId": "last_fill_id",
    "pageId": "page_id",
}


def cursor_kwarg(ep: Endpoint) -> str:
    """The keyword of ``ep``'s client method that takes the previous page's ``minId``."""
    if ep.paging is None:
        raise ValueError(f"{ep.name} is not a paged endpoint")
    return CURSOR_KWARG[ep.paging]


async def iter_pages(
    fetch: Callable[[str | None], Awaitable[Page[T]]],
    *,
    start: str | None = None,
    max_pages: int | None = None,
    name: str = "list",
) -> AsyncIterator[T]:
    """Yield every item of every page; ``fetch(cursor)`` returns the page after ``cursor``."""
    cursor = start
    pages = 0
    while max_pages is None or pages < max_pages:
        page = await fetch(cursor)
        pages += 1
        for item in page.items:
            yield item
        if not page.items or page.min_id is None or page.min_id == "":
            return
        if page.min_id == cursor:
            log.warning("%s: minId %s did not move; stopping", name, cursor)
            return
        cursor = page.min_id
