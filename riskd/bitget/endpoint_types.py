"""The types of the endpoint table (:mod:`riskd.bitget.endpoints`), shared by both API versions.

Kept apart so the v1 data (``riskd.bitget.endpoints``), the v2 data
(``riskd.bitget.endpoints_v2``) and the v3 (UTA) data (``riskd.bitget.endpoints_v3``) can all
use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

#: Public market-data interfaces share one more limit: 20 requests per 2 seconds per IP.
PUBLIC_GLOBAL_LIMIT = 20
PUBLIC_GLOBAL_WINDOW_S = 2


class LimitScope(StrEnum):
    """Who a rate limit is counted for."""

    IP = "IP"
    UID = "UID"


#: ``objects``: a list of JSON objects (v2 batch cancel's ``orderIdList``).
ParamKind = Literal["str", "decimal", "int", "ms", "list", "orders", "objects"]
#: How a list endpoint pages.
#:
#: v1: ``minId`` / ``pageId`` / ``lastFillId`` carry the previous page's ``minId``.
#: v2: ``idLessThan`` carries the previous page's ``minId`` (reply ``{items_key: […], maxId,
#: minId}``); ``idLessThanReply`` carries the ``idLessThan`` the reply itself returns
#: (liquidation orders); ``pageNum`` counts pages from 1 (isolated risk rate, ``pageSize``).
#: v3: ``cursor`` carries the ``cursor`` the previous reply returned (``{list: […], cursor}``).
Paging = Literal[
    "minId", "pageId", "lastFillId", "idLessThan", "idLessThanReply", "pageNum", "cursor"
]
Group = Literal["public", "account", "orders", "records"]
Margin = Literal["cross", "isolated"]
#: ``v3``: the Unified Trading Account API (:mod:`riskd.bitget.endpoints_v3`).
Api = Literal["v1", "v2", "v3"]
APIS: tuple[Api, ...] = ("v1", "v2", "v3")


@dataclass(frozen=True, slots=True)
class Param:
    """One request parameter as the document lists it."""

    name: str
    kind: ParamKind = "str"
    required: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST endpoint of one API version.

    ``name`` is the logical name, the same for a v1 endpoint and its v2 counterpart
    (``cross_risk_rate`` exists in both); ``(api, name)`` is unique.
    """

    name: str
    method: Literal["GET", "POST"]
    path: str
    signed: bool
    limit: int
    scope: LimitScope
    group: Group
    margin: Margin | None
    params: tuple[Param, ...] = ()
    paging: Paging | None = None
    #: Moves money or orders: given priority and a reserved share by the budget.
    protective: bool = False
    #: Changes state at the exchange: never retried blindly.
    mutating: bool = False
    window_s: int = 1
    api: Api = "v1"
    #: v2 paged replies: the key of the item list inside ``data`` (``resultList``, ``orderList``,
    #: ``fills``); ``None`` when ``data`` is the list itself or the endpoint is not paged.
    items_key: str | None = None

    @property
    def public(self) -> bool:
        return not self.signed

    @property
    def key(self) -> str:
        """Unique across versions: ``cross_borrow`` for v1, ``v2:cross_borrow`` for v2."""
        return self.name if self.api == "v1" else f"{self.api}:{self.name}"

    def param(self, name: str) -> Param | None:
        """The declared parameter called ``name``, or ``None``."""
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True, slots=True)
class CandleGranularity:
    """One candle length of Bitget's v2 spot candle endpoints (``granularity`` parameter).

    Candles of length ``seconds`` start at ``anchor_s + k * seconds`` (POSIX seconds): the
    plain day and week lines and the 6h/12h lines follow UTC+8 (anchor −8 h), the ``…utc``
    ones UTC; weeks start on Monday. ``seconds`` is ``None`` for the month lines, which have no
    fixed length.
    """

    name: str
    seconds: int | None
    anchor_s: int = 0

    @property
    def ms(self) -> int:
        """The length in milliseconds; ``ValueError`` for a month line."""
        if self.seconds is None:
            raise ValueError(f"granularity {self.name} has no fixed length")
        return self.seconds * 1000

    def start_of(self, t_s: float) -> float:
        """Start (POSIX seconds) of the candle that holds instant ``t_s``."""
        if self.seconds is None:
            raise ValueError(f"granularity {self.name} has no fixed length")
        k = (t_s - self.anchor_s) // self.seconds
        return self.anchor_s + k * self.seconds
