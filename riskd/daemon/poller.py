"""Polling one account: which scopes are due, the calls that refresh them, their snapshots.

The calls:

- cross and isolated scopes: :mod:`riskd.daemon.poll_reads` (its
  :class:`~riskd.daemon.poll_reads.ScopeReads` is mixed in), the calls that answer for many
  scopes at once;
- reference data (``currencies``, tier data per cross coin / isolated symbol) every
  ``poll.reference_ttl`` seconds, and at once for a newly seen coin or symbol
  (:mod:`riskd.daemon.poll_reference`);
- a Unified Trading Account: its one scope, ``"uta"`` (:mod:`riskd.daemon.poll_uta`); no cross
  or isolated reads. Scheduling, urgency, staleness and the price-move trigger are the same.

A scope is also due at once when the index price of a coin it holds or owes has moved
``price_move`` (0.5 %) since its last poll: the price feed is local, so a crash is seen
within one tick, not one interval later.

A scope is seen with one good read, not two: when the exchange's risk figure cannot be read
for a passing reason (429, maintenance, a 5xx) but the balances were, riskd's own rate (the
same formula, checked against the exchange's figure at every good read) stands in, with the
reading ``own``; without the prices or tiers it needs, the poll fails as before.

On v2 the push path (:mod:`riskd.daemon.push`) goes further: :meth:`AccountPoller.request_poll`
makes a scope due at the very next cycle (which the push path starts at once), at URGENT
priority, when its estimated risk rate crosses a line or the exchange pushed a change.

A cycle's poll leaves out the scopes a pipeline is acting on (``exclude``): the pipeline
re-polls them itself, and a read never replaces a snapshot newer than itself.

Each figure is read with :func:`riskd.daemon.snapshots.with_reading`: where its direction is
contested (:class:`~riskd.daemon.exchange.RiskFigure`), it is checked against riskd's own rate;
when neither reading agrees the scope gets riskd's figure and a loud notice names both.

An answer in an unexpected shape (:class:`MalformedAnswer`) drops the scope's snapshot until
a good one comes; a Unified Trading Account (:class:`AccountModeError`) stops the poller for
good (``stopped``); both notify once (:mod:`riskd.daemon.poll_notices`).

Each scope has its own next-due time: ``fast_interval`` when its risk rate is within
``near_margin`` of its warning ratio (or above), ``slow_interval`` when calm (no debt or
below ``calm_below``), ``interval`` otherwise; shortened (down to ``fast_interval``) when
the last change of the risk rate would reach the near line within two such intervals — and
never shorter than the rate budget's shortest cycle for the account's calls
(``pacing(calls_per_cycle)``). A scope whose poll failed is retried at the fast interval;
its snapshot keeps its old ``observed_at`` and turns stale after ``stale_after``.

A scope that owes and is not calm (risk rate at or above ``calm_below``, less than twice
``near_distance`` from liquidation, near its line, or climbing towards it), or that owes
and is blind because its last poll failed, is *urgent*:
its reads go at :data:`Priority.URGENT`, which the rate budget orders before plain polls and
holds only briefly after an HTTP 429 — in a 429 storm during a crash, the scopes at risk
still get fresh data. So is a due scope that owes and would no longer be calm at the feed's
latest prices (its balances valued at them): the feed saw the crash before any read did.
The other reads go at :data:`Priority.SCHEDULED`, or :data:`Priority.IDLE` (last in line)
when every scope they read owes nothing.

A scheduled or idle read is refused by the rate budget at once while its endpoint backs off
after a 429, instead of waiting it out as a command's plain ``POLL`` read does: nothing
urgent waits on it, and the account's cycle (which evaluates the rules once its reads are
in) is not held up by it. The scope is tried again at the fast interval, at the same
priority — it is not blind — until its data is half-way to ``stale_after``; a refusal after
that makes its reads urgent.

A scope's balances and its risk figure are read side by side when it owed at its last
read (:mod:`riskd.daemon.poll_reads`). A repayment the exchange confirmed is applied to the
scope's snapshot from its answer (:meth:`AccountPoller.keep_applied`); a read that started
before that answer does not replace it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal

from riskd.bitget.gate import Priority, current_priority, request_priority
from riskd.clock import Clock
from riskd.daemon.exchange import (
    AccountModeError,
    BatchRiskRates,
    Exchange,
    ExchangeError,
    MalformedAnswer,
    RiskFigure,
)
from riskd.daemon.poll_notices import NoticeHook, PollNotices
from riskd.daemon.poll_reads import PollOutcome, ScopeReads
from riskd.daemon.poll_reference import (
    ReferenceReader,
    SharedReads,
)
from riskd.daemon.poll_schedule import (
    PriceSteps,
    calm,
    interval_for,
    moved_scopes,
    not_calm_at,
    poll_calls,
    read_priority,
)
from riskd.daemon.poll_uta import read_uta
from riskd.daemon.prices import PriceSource
from riskd.daemon.snapshots import (
    Reference,
    own_risk_rate,
    uta_snapshot,
)
from riskd.daemon.uta_exchange import UtaExchange
from riskd.risk.derived import debt_coins
from riskd.risk.snapshot import CROSS, UTA, ScopeSnapshot
from riskd.settings import AccountSettings, PollSettings

log = logging.getLogger(__name__)


class AccountPoller(ScopeReads):
    """Keeps the latest snapshot of every scope of one account."""

    def __init__(
        self,
        account: str,
        settings: AccountSettings,
        poll: PollSettings,
        exchange: Exchange,
        prices: PriceSource,
        clock: Clock,
        *,
        pacing: Callable[[Mapping[str, int]], float] | None = None,
        notice: NoticeHook | None = None,
        shared_reads: SharedReads | None = None,
    ) -> None:
        self.account = account
        self._acc = settings
        self._poll = poll
        self._ex = exchange
        self._prices = prices
        self._clock = clock
        self._pacing = pacing
        self.snapshots: dict[str, ScopeSnapshot] = {}
        self.errors: dict[str, str] = {}
        self.next_due: dict[str, float] = {}
        self._reference = ReferenceReader(account, exchange, shared_reads, settings.api)
        self._isolated_due_at = 0.0
        self.last_prices: Mapping[str, Decimal] = {}
        #: Scopes whose reads go at Priority.URGENT (see the module docstring).
        self.urgent: set[str] = set()
        #: Scopes to poll at the next cycle whatever their schedule, with the priority asked
        #: for (:meth:`request_poll`).
        self.wanted: dict[str, Priority] = {}
        #: Each coin's recent price jumps: a scope within two of them of liquidation is
        #: not calm (:func:`~riskd.daemon.poll_schedule.calm`).
        self.steps = PriceSteps()
        self._notices = PollNotices(account, notice)
        #: Called when a poll is asked for (the cycle in flight, if any, polls it at once).
        self.on_request: Callable[[], None] | None = None
        #: A Unified Trading Account: one scope, ``"uta"``, from one read per cycle.
        self._uta = exchange if isinstance(exchange, UtaExchange) else None

    @property
    def stopped(self) -> str | None:
        """Why this account is no longer polled (a Unified Trading Account); None: it is."""
        return self._notices.stopped

    @property
    def ref(self) -> Reference:
        """The latest reference data (currencies, tiers: :mod:`riskd.daemon.poll_reference`)."""
        return self._reference.ref

    def forget(self) -> None:
        """Drop every snapshot and make every scope due at once: the account was taken over
        from another node, whose actions since this node last read it are not in them."""
        self.snapshots.clear()
        self.errors.clear()
        self.urgent.clear()
        self.next_due = dict.fromkeys(self.next_due, 0.0)
        self._isolated_due_at = 0.0

    def reconfigure(self, settings: AccountSettings, poll: PollSettings) -> None:
        """New settings after a reload; schedules are kept."""
        self._acc = settings
        self._poll = poll

    # --- scheduling -----------------------------------------------------------------------
    def request_poll(self, scopes: Iterable[str], priority: Priority = Priority.URGENT) -> None:
        """Poll ``scopes`` at the next cycle, whatever their schedule, at ``priority`` or higher
        (the push path: an estimate crossed a line, or the exchange pushed a change; it asks
        PROTECTIVE when the estimate is at an acting rule's line, as the read that decides a
        protective call). An isolated scope not known yet asks for discovery; cross only
        when it is watched."""
        for scope in scopes:
            if scope == CROSS and not self._acc.cross:
                continue
            self.wanted[scope] = max(self.wanted.get(scope, Priority.POLL), priority)
            if priority >= Priority.URGENT:
                self.urgent.add(scope)
        if self.on_request is not None:
            self.on_request()

    def due(self, now: float) -> set[str]:
        """Scopes due now (``"isolated:*"`` stands for discovery when nothing is known yet)."""
        if self.stopped is not None:
            return set()
        out: set[str] = set(self.moved())
        if self._uta is not None:
            if UTA in self.wanted or self.next_due.get(UTA, 0.0) <= now:
                out.add(UTA)
            return out & {UTA}
        for scope in self.wanted:
            known = scope == CROSS or scope in self.next_due or scope in self.snapshots
            out.add(scope if known else "isolated:*")
        if self._acc.cross and self.next_due.get(CROSS, 0.0) <= now:
            out.add(CROSS)
        iso = [s for s in self.next_due if s != CROSS]
        out.update(s for s in iso if self.next_due[s] <= now)
        wants_isolated = self._acc.isolated or self._acc.discover_isolated
        if wants_isolated and self._isolated_due_at <= now:
            out.add("isolated:*")
        return out

    def moved(self) -> set[str]:
        """Scopes holding or owing a coin whose index price moved ``price_move`` or more since
        the scope's last poll (the prices :meth:`poll` loaded last)."""
        return moved_scopes(self.snapshots, self.last_prices, self._poll.price_move)

    def next_wakeup(self) -> float | None:
        if self.stopped is not None:
            return None
        if self._uta is not None:
            return self.next_due.get(UTA, 0.0)
        times = list(self.next_due.values())
        if self._acc.isolated or self._acc.discover_isolated:
            times.append(self._isolated_due_at)
        return min(times) if times else None

    def calls_per_cycle(self) -> dict[str, int]:
        """Calls one poll of every known scope makes, by endpoint (for the budget's pacing)."""
        if self._uta is not None:
            return {"uta_assets": 1}
        batch = isinstance(self._ex, BatchRiskRates)
        return poll_calls(self.snapshots, cross=self._acc.cross, batch=batch)

    def _schedule(
        self,
        scope: str,
        now: float,
        failed: bool = False,
        previous: ScopeSnapshot | None = None,
        blind: bool = True,
    ) -> None:
        snap = self.snapshots.get(scope)
        if failed or snap is None:
            base = self._poll.fast_interval
            if failed and blind and snap is not None and debt_coins(snap):
                self.urgent.add(scope)  # blind on a scope that owes: worse than a refused call
        else:
            step = self.steps.largest(snap, self._clock.now())
            base = interval_for(snap, self._poll, previous, step)
            quiet = base >= self._poll.interval and calm(snap, self._poll, step=step)
            if debt_coins(snap) and not quiet:
                self.urgent.add(scope)
            else:
                self.urgent.discard(scope)
        floor = self._pacing(self.calls_per_cycle()) if self._pacing is not None else 0.0
        self.next_due[scope] = now + max(base, floor)

    # --- polling ----------------------------------------------------------------------------
    async def poll(self, *, force: bool = False, exclude: Iterable[str] = ()) -> PollOutcome:
        """Refresh every due scope (every scope with ``force``) but those in ``exclude`` (the
        scopes a pipeline is acting on: it re-polls them itself; asked polls of them wait)."""
        now = self._clock.now()
        await self._load_prices()  # local (the feed's latest), and due() compares them
        skip = set(exclude)
        due = self.due(float("inf") if force else now) - skip
        asked = {s: p for s, p in self.wanted.items() if s not in skip}
        # Polled below (asked again later: next cycle); an excluded scope's ask is kept.
        self.wanted = {s: p for s, p in self.wanted.items() if s in skip}
        out = PollOutcome()
        if not due:
            return out
        self._urgent_at_prices(due)
        await self._reference.refresh(now, self._poll.reference_ttl)
        if self._uta is not None:
            uta_base = max(current_priority(), asked.get(UTA, Priority.POLL))
            await self._with_priority({UTA}, uta_base, self._poll_uta(self._uta, out))
            return out
        # Cross and isolated side by side: a slow answer for one never holds up the other.
        base = current_priority()
        jobs = []
        if CROSS in due:
            cross_base = max(base, asked.get(CROSS, Priority.POLL))
            jobs.append(self._with_priority({CROSS}, cross_base, self._poll_cross(out)))
        iso_due = {s for s in due if s != CROSS}
        if iso_due:
            iso_base = max([base, *(p for s, p in asked.items() if s != CROSS)])
            job = self._poll_isolated(iso_due, out, force=force, base=iso_base, skip=skip)
            jobs.append(self._with_priority(iso_due, iso_base, job))
        await asyncio.gather(*jobs)
        return out

    def _urgent_at_prices(self, due: set[str]) -> None:
        """Due scopes no longer calm at the feed's latest prices are read urgently now (see
        :func:`~riskd.daemon.poll_schedule.not_calm_at`); :meth:`_schedule` decides again on
        the answer."""
        now = self._clock.now()
        self.urgent |= not_calm_at(
            due - self.urgent,
            self.snapshots,
            self.last_prices,
            self._poll,
            lambda snap: self.steps.largest(snap, now),
        )

    async def _with_priority(self, scopes: set[str], base: Priority, job: Awaitable[None]) -> None:
        with request_priority(self._priority(scopes, base)):
            await job

    def _priority(self, scopes: set[str], base: Priority) -> Priority:
        return read_priority(scopes, base, self.urgent, self.snapshots)

    def keep_applied(self, before: ScopeSnapshot, after: ScopeSnapshot) -> ScopeSnapshot | None:
        """Keep ``after`` — ``before`` with a change riskd knows exactly applied (a confirmed
        repayment: :func:`riskd.risk.estimate.after_repay`) — as the scope's snapshot, when
        ``before`` is still the scope's latest; the scope is then due at once (its data is as
        old as that read). ``None``: a read landed meanwhile, the caller reads the scope."""
        if self.stopped is not None or self.snapshots.get(before.scope) is not before:
            return None
        self.snapshots[after.scope] = after
        self.next_due[after.scope] = self._clock.now()
        return after

    async def repoll(self, scope: str) -> ScopeSnapshot | None:
        """Poll one scope now, whatever its schedule (the verification after an action)."""
        if self.stopped is not None:
            raise AccountModeError(self.stopped)
        out = PollOutcome()
        await self._load_prices()
        if self._uta is not None:
            await self._poll_uta(self._uta, out)
        elif scope == CROSS:
            await self._poll_cross(out)
        else:
            await self._poll_isolated({scope}, out, force=False, only=True)
        if scope in out.errors:
            raise ExchangeError(out.errors[scope])
        return self.snapshots.get(scope)

    async def _load_prices(self) -> None:
        try:
            self.last_prices = await self._prices.prices()
            self.steps.observe(self.last_prices, self._clock.now())
        except (OSError, ValueError, ExchangeError) as exc:
            log.warning("price source failed: %s", exc)

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
    ) -> None:
        """Keep the snapshot ``build`` makes of a read that started at ``started`` (checked
        against the reported figure when ``read``), unless the poller stopped meanwhile or a
        read that started later answered first; then schedule the scope's next poll. After
        ``figure_error`` (the figure's read failed, the balances' did not) riskd's own rate
        stands in, or the poll failed when riskd cannot compute it (no price, no tier)."""
        if self.stopped is not None:
            return
        previous = self.snapshots.get(scope)
        if previous is not None and max(previous.observed_at, previous.adjusted_at or 0) > started:
            # A read that started later (a pipeline's re-poll) answered first, or a repayment
            # was applied (from its answer) after this read started: it may not show it.
            return
        # riskd's own rate at the prices loaded before the answer: the exchange computed its
        # figure somewhere between then and now (checked against both ends).
        own_then = own_risk_rate(build()) if read and reported is not None else None
        await self._load_prices()  # the feed's latest: the reads may have taken seconds
        snap = build()
        if figure_error is not None:
            if own_risk_rate(snap) is None:
                await self._failed(scope, figure_error, started, out)
                return
            log.info("%s/%s: own risk rate stands in (%s)", self.account, scope, figure_error)
        if read:
            snap = await self._read(snap, reported, previous, own_then)
        self.snapshots[scope] = snap
        self._ok(scope)
        out.polled.add(scope)
        self._schedule(scope, started, previous=previous)

    async def _poll_uta(self, ex: UtaExchange, out: PollOutcome) -> None:
        """The ``uta`` scope: one ``uta_assets`` read (and the tiers of new debt coins)."""
        started = self._clock.now()
        try:
            got, orders = await read_uta(ex, self._reference, self.account)
        except ExchangeError as exc:
            await self._failed(UTA, exc, started, out)
            return

        def build() -> ScopeSnapshot:
            level, prices = ex.liquidation_level, self.last_prices
            return uta_snapshot(self.account, got, level, started, self.ref, prices, orders)

        await self._land(UTA, started, out, build, read=False)

    # --- what a failed or odd answer means ------------------------------------------------
    async def _failed(
        self, scope: str, exc: ExchangeError, started: float, out: PollOutcome
    ) -> None:
        out.errors[scope] = str(exc)
        if isinstance(exc, AccountModeError) or self.stopped is not None:
            await self._stop(str(exc))  # a no-op once stopped: nothing more is kept
            return
        self.errors[scope] = str(exc)
        if isinstance(exc, MalformedAnswer):
            # Nothing is decided on a scope whose answer is not understood.
            self.snapshots.pop(scope, None)
            await self._notices.bad_answer(scope, str(exc))
        # Refused by the rate budget during a 429 back-off (never sent): only not read yet,
        # not blind — until its data is half-way to stale: then its reads go urgently.
        snap = self.snapshots.get(scope)
        fresh = snap is not None and snap.age(self._clock.now()) < self._poll.stale_after / 2
        self._schedule(scope, started, failed=True, blind=not (exc.code == "budget" and fresh))

    def _ok(self, scope: str) -> None:
        self.errors.pop(scope, None)
        self._notices.good_answer(scope)

    async def _stop(self, why: str) -> None:
        if await self._notices.stop(why):
            self.snapshots.clear()
            self.errors.clear()
            self.next_due.clear()
            self.urgent.clear()

    async def _read(
        self,
        snap: ScopeSnapshot,
        reported: Decimal | None,
        previous: ScopeSnapshot | None,
        own_then: Decimal | None,
    ) -> ScopeSnapshot:
        contested = isinstance(self._ex, RiskFigure) and self._ex.risk_rate_contested
        return await self._notices.read(
            snap, reported, previous, contested=contested, own_then=own_then
        )
