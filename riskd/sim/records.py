"""Record lists (loan, repay, interest, liquidation, fin) and the document's paging.

Every balance change leaves a record. Ids are numeric strings from one increasing counter
shared by the whole exchange (orders and fills draw from it too), so a newer record always has
a larger id. Lists answer newest first; ``pageId`` / ``minId`` / ``lastFillId`` return records
with an id *below* the given one, and each page reports its ``maxId`` and ``minId``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

RecordKind = Literal["loan", "repay", "interest", "liquidation", "fin"]
RECORD_KINDS: tuple[RecordKind, ...] = ("loan", "repay", "interest", "liquidation", "fin")

#: The id field each list names its records by.
ID_FIELD: Mapping[RecordKind, str] = {
    "loan": "loanId",
    "repay": "repayId",
    "interest": "interestId",
    "liquidation": "liqId",
    "fin": "marginId",
}

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
FIRST_ID = 1_000_000_001
#: Scope wildcard for queries over every isolated symbol.
ANY_ISOLATED = "isolated:*"


class IdSource:
    """One increasing counter for every id the exchange hands out."""

    def __init__(self, first: int = FIRST_ID) -> None:
        self._next = itertools.count(first)

    def next(self) -> int:
        return next(self._next)


@dataclass(frozen=True, slots=True)
class Record:
    """One entry of a record list, with the fields its list shows (minus the id)."""

    id: int
    kind: RecordKind
    scope: str
    coin: str | None
    ctime_ms: int
    #: loan type, repay type, interest type or marginType (used by the ``marginType`` filter).
    type: str | None
    fields: Mapping[str, str | None]

    def to_wire(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {ID_FIELD[self.kind]: str(self.id)}
        out.update(self.fields)
        return out


class HasIdAndTime(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def ctime_ms(self) -> int: ...


T = TypeVar("T", bound=HasIdAndTime)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, newest first."""

    items: tuple[T, ...]

    @property
    def max_id(self) -> str | None:
        return str(self.items[0].id) if self.items else None

    @property
    def min_id(self) -> str | None:
        return str(self.items[-1].id) if self.items else None


def page_of(
    items: Sequence[T],
    *,
    page_size: int,
    below_id: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    where: Callable[[T], bool] | None = None,
) -> Page[T]:
    """Newest-first page of ``items`` (which are in increasing id order)."""
    out: list[T] = []
    for item in reversed(items):
        if below_id is not None and item.id >= below_id:
            continue
        if start_ms is not None and item.ctime_ms < start_ms:
            continue
        if end_ms is not None and item.ctime_ms > end_ms:
            continue
        if where is not None and not where(item):
            continue
        out.append(item)
        if len(out) >= page_size:
            break
    return Page(tuple(out))


class RecordStore:
    """One account's record lists."""

    def __init__(self, ids: IdSource) -> None:
        self._ids = ids
        self._lists: dict[RecordKind, list[Record]] = {k: [] for k in RECORD_KINDS}

    def add(
        self,
        kind: RecordKind,
        scope: str,
        coin: str | None,
        ctime_ms: int,
        type_: str | None,
        fields: Mapping[str, str | None],
        record_id: int | None = None,
    ) -> Record:
        """Add a record; ``record_id`` (an id handed out earlier, e.g. when a delayed repay was
        accepted) keeps the list in increasing id order."""
        rid = self._ids.next() if record_id is None else record_id
        rec = Record(rid, kind, scope, coin, ctime_ms, type_, dict(fields))
        items = self._lists[kind]
        if items and items[-1].id > rid:
            items.insert(bisect.bisect([r.id for r in items], rid), rec)
        else:
            items.append(rec)
        return rec

    def all(self, kind: RecordKind) -> Sequence[Record]:
        return tuple(self._lists[kind])

    def query(
        self,
        kind: RecordKind,
        scope: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        below_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        coin: str | None = None,
        type_: str | None = None,
        record_id: int | None = None,
    ) -> Page[Record]:
        def match(r: Record) -> bool:
            return (
                (r.scope == scope or (scope == ANY_ISOLATED and r.scope.startswith("isolated:")))
                and (coin is None or r.coin == coin)
                and (type_ is None or r.type == type_)
                and (record_id is None or r.id == record_id)
            )

        return page_of(
            self._lists[kind],
            page_size=page_size,
            below_id=below_id,
            start_ms=start_ms,
            end_ms=end_ms,
            where=match,
        )

    def count(self, kinds: Iterable[RecordKind] = RECORD_KINDS) -> int:
        return sum(len(self._lists[k]) for k in kinds)
