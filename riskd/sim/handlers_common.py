"""What every endpoint handler receives, and the wire formats they share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from riskd.amounts import fmt8
from riskd.bitget.endpoints import Endpoint
from riskd.risk.math import INFINITE
from riskd.sim.book import Account, Balance, ScopeBook
from riskd.sim.errors import SimError, param_error
from riskd.sim.exchange import Exchange
from riskd.sim.params import Params
from riskd.sim.records import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

NINETY_DAYS_MS = 90 * 24 * 3600 * 1000
RISK_CAP = Decimal("99999999")


@dataclass(frozen=True, slots=True)
class TopLevel:
    """A reply whose extra keys sit beside ``data`` (the liquidation lists)."""

    data: object
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ctx:
    """One request as a handler sees it."""

    ex: Exchange
    endpoint: Endpoint
    params: Params
    account_: Account | None
    now_s: float
    server_ms: int

    @property
    def account(self) -> Account:
        if self.account_ is None:  # the app authenticates every signed endpoint first
            raise SimError("40006")
        return self.account_

    def cross(self) -> ScopeBook:
        return self.account.cross()

    def isolated(self, symbol: str) -> ScopeBook:
        self.ex.catalog.symbol(symbol)
        return self.account.isolated(symbol)

    def book(self) -> ScopeBook:
        """The scope of the request: cross, or isolated by its ``symbol`` parameter."""
        if self.endpoint.margin == "isolated":
            return self.isolated(self.params.req("symbol"))
        return self.cross()


Handler = Callable[[Ctx], object]


def rate_text(rate: Decimal) -> str:
    return fmt8(RISK_CAP if rate == INFINITE else min(rate, RISK_CAP))


def balance_row(bal: Balance, symbol: str | None = None) -> dict[str, str]:
    row = {"symbol": symbol} if symbol else {}
    row.update(
        coin=bal.coin,
        totalAmount=fmt8(bal.total),
        available=fmt8(bal.available),
        frozen=fmt8(bal.frozen),
        borrow=fmt8(bal.borrow),
        interest=fmt8(bal.interest),
        net=fmt8(bal.total - bal.liability),
        ctime=str(bal.ctime_ms),
    )
    return row


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The paging parameters of a list endpoint, checked as the document describes them."""

    start_ms: int | None
    end_ms: int | None
    page_size: int


def list_query(ctx: Ctx) -> ListQuery:
    p = ctx.params
    start = p.integer("startTime")
    end = p.integer("endTime")
    size = p.integer("pageSize", DEFAULT_PAGE_SIZE)
    assert size is not None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise param_error("pageSize", f"must be within 1..{MAX_PAGE_SIZE}")
    if start is not None and end is not None:
        if end < start:
            raise SimError("40707")
        if end - start > NINETY_DAYS_MS:
            raise SimError("40705")
    return ListQuery(start, end, size)


def id_param(ctx: Ctx, name: str) -> int | None:
    value = ctx.params.text(name)
    if value is None:
        return None
    if not value.isdigit():
        raise param_error(name, "expected a numeric id")
    return int(value)
