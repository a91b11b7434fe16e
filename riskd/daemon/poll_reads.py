"""The calls that refresh a classic account's scopes (:class:`ScopeReads`, mixed into
:class:`riskd.daemon.poller.AccountPoller`, which schedules them and keeps what they read).

Calls per poll (ENDPOINTS.md), using the ones that answer for many scopes at once:

- cross: ``cross_assets()`` without ``coin`` (every coin), and ``cross_risk_rate()`` only
  when the account owes something (no debt → risk rate 0).
- isolated: ``isolated_assets()`` without ``symbol`` (every symbol: this is also discovery),
  then the risk figures of the due symbols that owe something — in one call for all of them
  when the exchange can (:class:`~riskd.daemon.exchange.BatchRiskRates`: v2's paged list),
  else one ``isolated_risk_rate(symbol)`` each, most urgent first, a few at a time
  (:data:`POLL_CONCURRENCY`). Calls per cycle stay flat as symbols are added.

Two reads of one poll go out side by side where the second does not need the first's
answer: a scope's risk figure is asked for beside its balances when it owed at its last read
(:class:`~riskd.daemon.poll_reference.EarlyRates`; cross: ``cross_risk_rate``) — one call's
latency per poll instead of two; a debt that appeared since is read after, as before. The
read beside never outlives its poll.

Each read ends in the poller's ``_land`` (a snapshot kept) or ``_failed`` (why not).
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from riskd.bitget.gate import Priority, current_priority, request_priority
from riskd.clock import Clock
from riskd.daemon.exchange import AccountModeError, AssetRow, Exchange, ExchangeError
from riskd.daemon.poll_reference import (
    EarlyRates,
    ReferenceReader,
    batch_rates,
    count_orders,
    drop_read,
    own_rate_may_stand_in,
    symbol_rate,
)
from riskd.daemon.poll_schedule import owes, poll_order
from riskd.daemon.snapshots import (
    cross_snapshot,
    has_debt,
    isolated_snapshot,
    isolated_symbols,
)
from riskd.risk.snapshot import CROSS, USDT, ScopeSnapshot, isolated_scope, parse_scope
from riskd.settings import AccountSettings, PollSettings

#: Isolated risk-rate requests in flight at once during one poll.
POLL_CONCURRENCY = 4


@dataclass
class PollOutcome:
    """What one poll did: the scopes read, the ones that failed (why), the ones gone."""

    polled: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


class ScopeReads:
    """The cross and isolated reads; the poller provides the state and where they end."""

    account: str
    snapshots: dict[str, ScopeSnapshot]
    errors: dict[str, str]
    next_due: dict[str, float]
    _acc: AccountSettings
    _poll: PollSettings
    _ex: Exchange
    _clock: Clock
    _reference: ReferenceReader
    _isolated_due_at: float
    last_prices: Mapping[str, Decimal]

    @abstractmethod
    def _priority(self, scopes: set[str], base: Priority) -> Priority: ...

    @abstractmethod
    async def _stop(self, why: str) -> None: ...

    @abstractmethod
    async def _failed(
        self, scope: str, exc: ExchangeError, started: float, out: PollOutcome
    ) -> None: ...

    @abstractmethod
    async def _land(
        self,
        scope: str,
        started: float,
        out: PollOutcome,
        build: Callable[[], ScopeSnapshot],
        reported: Decimal | None = None,
        *,
        read: bool = True,
        figure_error: ExchangeError | None = None,
    ) -> None: ...

    def _owed(self, scope: str) -> bool:
        return owes(self.snapshots.get(scope))

    async def _poll_cross(self, out: PollOutcome) -> None:
        # The figure is read beside the balances when cross owed at its last read: one
        # call's latency per poll, not two. It never outlives the poll.
        early = asyncio.ensure_future(self._ex.cross_risk_rate()) if self._owed(CROSS) else None
        try:
            await self._read_cross(out, early)
        finally:
            drop_read(early)

    async def _read_cross(self, out: PollOutcome, early: asyncio.Future[Decimal] | None) -> None:
        started = self._clock.now()
        figure_error: ExchangeError | None = None
        try:
            rows = await self._ex.assets("cross")
            await self._reference.ensure_tiers(
                "cross", {r.coin for r in rows if r.borrow or r.interest}
            )
        except ExchangeError as exc:
            await self._failed(CROSS, exc, started, out)
            return
        try:
            if not has_debt(rows):
                rate = None
            else:
                rate = await (early if early is not None else self._ex.cross_risk_rate())
        except ExchangeError as exc:
            if not own_rate_may_stand_in(exc):
                await self._failed(CROSS, exc, started, out)
                return
            rate, figure_error = None, exc
        symbols = {f"{r.coin}{USDT}" for r in rows if r.frozen > 0 and r.coin != USDT}
        orders = await count_orders(self._ex, self.account, "cross", symbols)

        def build() -> ScopeSnapshot:
            r = rate or Decimal(0)
            return cross_snapshot(
                self.account, rows, r, started, self._reference.ref, self.last_prices, orders
            )

        await self._land(CROSS, started, out, build, rate, figure_error=figure_error)

    async def _poll_isolated(
        self,
        due: set[str],
        out: PollOutcome,
        *,
        force: bool,
        only: bool = False,
        base: Priority | None = None,
        skip: set[str] | None = None,
    ) -> None:
        """Poll the due isolated scopes; each symbol's reads at its own priority (never below
        ``base``), or all at the caller's when ``base`` is None (the re-poll after an action)."""
        started = self._clock.now()
        discover = "isolated:*" in due
        due = due - {"isolated:*"}
        early = EarlyRates.start(
            self._ex,
            {parse_scope(s)[1] or "" for s in due - (skip or set()) if self._owed(s)},
            lambda scopes: self._priority(scopes, base or current_priority()),
        )
        try:
            try:
                rows = await self._ex.assets("isolated")
            except ExchangeError as exc:
                if isinstance(exc, AccountModeError):
                    await self._stop(str(exc))
                    return
                for scope in due or {isolated_scope(s) for s in self._acc.isolated}:
                    await self._failed(scope, exc, started, out)
                if discover:
                    self._isolated_due_at = started + self._poll.fast_interval
                return
            held = isolated_symbols(rows)
            wanted = set(self._acc.isolated)
            if self._acc.discover_isolated:
                wanted |= held
            wanted_scopes = {isolated_scope(s) for s in wanted}
            if not only:
                for gone in set(self.next_due) - wanted_scopes - {CROSS}:
                    self.next_due.pop(gone, None)
                    self.snapshots.pop(gone, None)
                    self.errors.pop(gone, None)
                    out.removed.add(gone)
            new = wanted_scopes - set(self.snapshots)
            targets = (due | new) & wanted_scopes if not only else due
            if force:
                targets = wanted_scopes
            targets -= skip or set()
            if discover:
                self._isolated_due_at = started + self._poll.slow_interval
            symbols = sorted((parse_scope(s)[1] or "" for s in targets), key=self._urgency)
            await self._reference.ensure_tiers("isolated", set(symbols))
            batch = await early.rates(rows, symbols) if early is not None else None
            if batch is None:
                batch = await batch_rates(
                    self._ex,
                    rows,
                    symbols,
                    lambda scopes: self._priority(scopes, base or current_priority()),
                )
        finally:
            if early is not None:
                early.cancel()  # it never outlives the reads it stands beside
        # Most urgent first (never seen, then highest risk rate), a few at a time: the rate
        # budget paces them, and no request waits in its queue longer than it may.
        gate = asyncio.Semaphore(POLL_CONCURRENCY)

        async def one(symbol: str) -> None:
            async with gate:
                if base is None:
                    await self._poll_symbol(symbol, rows, started, out, batch)
                    return
                with request_priority(self._priority({isolated_scope(symbol)}, base)):
                    await self._poll_symbol(symbol, rows, started, out, batch)

        await asyncio.gather(*(one(sym) for sym in symbols))

    def _urgency(self, symbol: str) -> tuple[int, Decimal, str]:
        return poll_order(self.snapshots.get(isolated_scope(symbol)), symbol)

    async def _poll_symbol(
        self,
        symbol: str,
        rows: list[AssetRow],
        started: float,
        out: PollOutcome,
        batch: dict[str, Decimal] | ExchangeError | None = None,
    ) -> None:
        scope = isolated_scope(symbol)
        mine = [r for r in rows if r.symbol == symbol]
        figure_error: ExchangeError | None = None
        try:
            rate = await symbol_rate(self._ex, symbol, mine, batch)
        except ExchangeError as exc:
            if not own_rate_may_stand_in(exc):
                await self._failed(scope, exc, started, out)
                return
            rate, figure_error = None, exc
        orders = await count_orders(
            self._ex, self.account, "isolated", {symbol} if any(r.frozen for r in mine) else set()
        )

        def build() -> ScopeSnapshot:
            r, prices = rate or Decimal(0), self.last_prices
            return isolated_snapshot(
                self.account, symbol, mine, r, started, self._reference.ref, prices, orders
            )

        await self._land(scope, started, out, build, rate, figure_error=figure_error)
