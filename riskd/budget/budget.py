"""The rate budget: every call to the exchange waits here for its turn.

:class:`RateBudget` implements :class:`riskd.bitget.gate.RequestGate`. For each call it looks
up the limits of the endpoint (:mod:`riskd.budget.limit_table`: the endpoint's own, plus the
public global rule for unsigned endpoints), keyed per IP group or per account, and counts
them in ``limits``' async moving windows (:mod:`riskd.budget.storage`).

- Each limit is used up to its capacity (the documented limit less a safety margin).
  Protective calls may take any free slot; polls only ``capacity - reserved`` per window,
  counted in a second, polls-only window, so the reserve is always there for protective
  calls and protective calls never shrink the polls' share.
- ``acquire`` waits (on the injected clock) rather than fails. Waiters of one key go in
  order: protective before polls, then the scope nearest liquidation
  (:func:`riskd.bitget.gate.request_nearness`), then first come first served.
- ``reserve`` takes a slot ahead of its call and keeps it in the caller's
  :func:`~riskd.bitget.gate.slot_hold`; the call's own ``acquire`` then passes at once
  (the runner sizes an order after its wait, never before). After the priority's max
  wait — or at once, when the earliest possible instant is already past it — it raises
  :class:`BudgetExhausted` naming the endpoint and the limit that blocked it.
- ``release(endpoint, 429, retry_after)`` backs the endpoint's limit keys off (exponential,
  capped, honouring Retry-After): polls on those keys wait it out, urgent and protective
  calls only a short pause (:mod:`riskd.budget.backoff`), and the daemon's scheduled and
  idle reads are refused at once (:class:`BudgetExhausted`): a read with nothing urgent to
  tell never holds up the cycle that waits for it, and is not sent into a storm.

With a Redis ``storage_uri`` the windows are shared by every node; when Redis is unreachable
the budget counts locally at ``config.fallback_share`` of each limit (each capacity scaled by
:func:`~riskd.budget.accounting.scale_share`, as the storage scales what it enforces) and
says so once (:mod:`riskd.budget.fallback`, :meth:`RateBudget.add_storage_listener`).

One budget serves several accounts: :meth:`RateBudget.for_account` returns a
:class:`AccountGate` view (a ``RequestGate`` too) that counts UID-scoped limits for that
account; all views share the budget's windows, queues and back-offs.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from riskd.bitget.endpoints import Endpoint
from riskd.bitget.gate import Priority, RequestGate, SlotGate, current_hold, current_nearness
from riskd.budget import accounting
from riskd.budget.account_gate import AccountGate
from riskd.budget.accounting import Share, Ticket, WaitQueue, admits, cycle_load
from riskd.budget.backoff import BackoffState
from riskd.budget.config import BudgetConfig
from riskd.budget.errors import BudgetExhausted
from riskd.budget.fallback import FallbackStorage, StorageListener, make_budget_storage
from riskd.budget.limit_table import (
    LimitKey,
    LimitRule,
    check_identity,
    endpoint_by_key,
    keys_for,
)
from riskd.budget.status import BudgetStatus, KeyStatus
from riskd.budget.storage import safe_uri
from riskd.clock import Clock
from riskd.redact import redact

log = logging.getLogger(__name__)

#: Added to every computed wake-up so that a re-check lands after the slot is free.
_NUDGE_S = 0.001
NAMESPACE = "riskd"
#: A reserved slot is good for this long: counted at its reservation, a call sent later would
#: reach the exchange's window after ours has moved on (its own slot is taken instead).
RESERVED_FOR_S = 0.25


class _Item(RateLimitItemPerSecond):
    """A ``limits`` item whose storage key leaves out the amount, so that daemons with
    different safety margins sharing one Redis still count one window per limit key."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(i) for i in identifiers), f"{self.multiples}s"])


@dataclass(eq=False)
class _KeyState:
    """Mutable state of one limit key (internal; :class:`KeyStatus` is the visible copy)."""

    key: LimitKey
    share: Share
    #: All calls (``capacity`` per window) and polls alone (``capacity - reserved``).
    item: _Item
    poll_item: _Item
    queue: WaitQueue = field(default_factory=WaitQueue)
    backoff: BackoffState = field(default_factory=BackoffState)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    waits: int = 0
    wait_time_s: float = 0.0
    exhausted: int = 0
    admitted_poll: int = 0
    admitted_protective: int = 0

    def notify(self) -> None:
        """Wake the waiters of this key so that they look again."""
        self.changed.set()
        self.changed = asyncio.Event()


@dataclass(frozen=True, slots=True)
class _Blocked:
    state: _KeyState
    #: Earliest instant a re-check can succeed; None: when someone ahead has gone.
    retry_at: float | None
    reason: str
    #: Blocked by a back-off after HTTP 429 (a SCHEDULED or IDLE call is refused at once).
    backoff: bool = False


def _refused_in_backoff(priority: Priority, blocked: list[_Blocked]) -> bool:
    """The daemon's scheduled and idle reads do not sit out a 429 back-off: refused at once,
    they never hold up the cycle that waits for them (the poller tries again)."""
    return priority < Priority.POLL and any(b.backoff for b in blocked)


def _poll_ids(st: _KeyState) -> tuple[str, str]:
    """Storage identifiers of the polls-only window of a key."""
    return st.key.label, "poll"


class RateBudget:
    """Rate budget shared by every client of one daemon (see the module docstring).

    ``storage`` overrides the one built from ``config.storage_uri`` (tests, a shared
    instance). ``default_account`` is the identity the budget's own ``acquire``/``release``
    count UID-scoped limits for; clients of several accounts use :meth:`for_account`.
    """

    def __init__(
        self,
        clock: Clock,
        config: BudgetConfig | None = None,
        *,
        storage: Storage | None = None,
        default_account: str = "default",
    ) -> None:
        self._clock = clock
        self._config = config or BudgetConfig()
        self._storage = storage if storage is not None else make_budget_storage(self._config, clock)
        self._fallback = self._storage if isinstance(self._storage, FallbackStorage) else None
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._default = self._check_account(default_account)
        self._states: dict[LimitKey, _KeyState] = {}
        self._views: dict[str, AccountGate] = {}
        self._seq = itertools.count()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RateBudget({safe_uri(self._config.storage_uri)}, {self._clock!r})"

    @property
    def config(self) -> BudgetConfig:
        return self._config

    # --- shared storage -------------------------------------------------------------------
    @property
    def storage_degraded(self) -> bool:
        """True while a shared (Redis) storage is unreachable and this node counts locally
        at ``config.fallback_share`` of each limit (:mod:`riskd.budget.fallback`)."""
        return self._fallback is not None and self._fallback.degraded

    def add_storage_listener(self, listener: StorageListener) -> None:
        """Call ``listener`` with a :class:`~riskd.budget.fallback.StorageEvent` each time
        the shared storage goes away or comes back (never with a memory storage)."""
        if self._fallback is not None:
            self._fallback.add_listener(listener)

    async def check_storage(self, timeout_s: float = 2.0) -> None:
        """Start-up check: the shared storage answers within ``timeout_s``, else
        :class:`~riskd.budget.config.BudgetStorageUnreachable` (one line, no password)."""
        if self._fallback is not None:
            await self._fallback.check_shared(timeout_s)

    async def aclose(self) -> None:
        """Close the shared storage's connections (and its probe); memory: nothing."""
        if self._fallback is not None:
            await self._fallback.aclose()

    def _active(self, st: _KeyState) -> Share:
        """The share of ``st`` counted now: scaled to the fallback share while degraded."""
        if self._fallback is None or not self._fallback.degraded:
            return st.share
        return accounting.scale_share(st.share, self._fallback.share)

    # --- identities and keys --------------------------------------------------------------
    @staticmethod
    def _check_account(account: str) -> str:
        check_identity(account, "account identity")
        if redact(account) != account:
            raise ValueError(
                "account identity contains a registered secret; use the account name or UID"
            )
        return account

    def for_account(self, account: str) -> AccountGate:
        """The budget as ``account``'s :class:`RequestGate` (UID limits counted for it).

        ``account`` is the exchange UID, the account's name, or :func:`api_key_identity` —
        never a secret. Accounts that share one UID must pass the same identity.
        """
        view = self._views.get(account)
        if view is None:
            view = AccountGate(self, self._check_account(account))
            self._views[account] = view
        return view

    def share(self, rule: LimitRule) -> Share:
        """How this budget uses ``rule`` (capacity after margin, reserved part)."""
        return accounting.share_for(rule, self._config.safety_margin, self._config.reserved_share)

    def keys_for(self, ep: Endpoint, account: str | None = None) -> tuple[LimitKey, ...]:
        """The limit keys a call of ``ep`` by ``account`` counts against."""
        return keys_for(ep, ip_group=self._config.ip_group, account=account or self._default)

    def _state(self, key: LimitKey) -> _KeyState:
        st = self._states.get(key)
        if st is None:
            share = self.share(key.rule)
            window = key.rule.window_s
            item = _Item(share.capacity, window, namespace=NAMESPACE)
            poll_item = _Item(share.poll_capacity, window, namespace=NAMESPACE)
            st = _KeyState(key, share, item, poll_item)
            self._states[key] = st
        return st

    # --- RequestGate ----------------------------------------------------------------------
    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        """Wait for a slot for ``endpoint`` (default account); see :meth:`acquire_for`."""
        await self.acquire_for(self._default, endpoint, priority)

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        self.release_for(self._default, endpoint, status_code, retry_after)

    async def reserve(self, endpoint: Endpoint, priority: Priority) -> None:
        """Take a slot of ``endpoint`` now (default account); see :meth:`reserve_for`."""
        await self.reserve_for(self._default, endpoint, priority)

    async def reserve_for(self, account: str, endpoint: Endpoint, priority: Priority) -> None:
        """Wait for and count a slot of ``endpoint`` now, kept in the current
        :func:`~riskd.bitget.gate.slot_hold` for the call that follows (which then does not
        wait). RuntimeError outside a hold; :class:`BudgetExhausted` as :meth:`acquire_for`."""
        hold = current_hold()
        if hold is None:
            raise RuntimeError("reserve_for() needs a slot_hold() around the call")
        await self._admit(account, endpoint, priority)
        hold.put(endpoint.key, self._clock.now())

    async def acquire_for(self, account: str, endpoint: Endpoint, priority: Priority) -> None:
        """Wait until ``account`` may call ``endpoint`` at ``priority``, and count the call —
        unless a slot of it was reserved in the current hold within :data:`RESERVED_FOR_S`
        (then at once).

        Raises :class:`BudgetExhausted` when no slot can be had within the priority's max
        wait (``config.max_wait_poll_s`` / ``max_wait_protective_s``).
        """
        hold = current_hold()
        if hold is not None and hold.take(endpoint.key, self._clock.now(), RESERVED_FOR_S):
            return
        await self._admit(account, endpoint, priority)

    async def _admit(self, account: str, endpoint: Endpoint, priority: Priority) -> None:
        states = [self._state(k) for k in self.keys_for(endpoint, account)]
        ticket = Ticket.make(priority, next(self._seq), current_nearness())
        for st in states:
            st.queue.add(ticket)
        start = self._clock.now()
        max_wait = self._config.max_wait(priority)
        deadline = start + max_wait
        blockers: dict[LimitKey, _KeyState] = {}
        try:
            while True:
                events = [st.changed for st in states]
                async with self._lock:
                    blocked = await self._try(states, ticket, priority)
                now = self._clock.now()
                if not blocked:
                    self._count_admitted(states, priority, blockers, now - start)
                    return
                blockers.update((b.state.key, b.state) for b in blocked)
                known = [b.retry_at for b in blocked if b.retry_at is not None]
                retry_at = max(known) if known else None
                late = retry_at is not None and retry_at > deadline
                if now >= deadline or late or _refused_in_backoff(priority, blocked):
                    raise self._exhausted(endpoint, priority, blocked, blockers, now - start)
                wake = deadline if retry_at is None else min(deadline, retry_at + _NUDGE_S)
                await self._wait(max(_NUDGE_S, wake - now), events)
        finally:
            for st in states:
                st.queue.remove(ticket)
                st.notify()

    def release_for(
        self,
        account: str,
        endpoint: Endpoint,
        status_code: int | None,
        retry_after: float | None,
    ) -> None:
        """Record the outcome of ``account``'s call: a 429 backs off the endpoint's keys."""
        if status_code is None:
            return
        now = self._clock.now()
        for key in self.keys_for(endpoint, account):
            st = self._state(key)
            if status_code == 429:
                st.backoff = st.backoff.after_429(self._config.backoff, now, retry_after)
                log.warning(
                    "HTTP 429 on %s (%s): backing off %.2fs "
                    "(429 number %d since a call after a pause was answered; %d in total)",
                    endpoint.key,
                    key.label,
                    st.backoff.remaining(now),
                    st.backoff.streak,
                    st.backoff.count,
                )
                st.notify()
            else:
                st.backoff = st.backoff.after_answer(now)

    # --- admission ------------------------------------------------------------------------
    async def _try(
        self, states: list[_KeyState], ticket: Ticket, priority: Priority
    ) -> list[_Blocked]:
        """Admit and count the call if every key lets it through now; else say why not."""
        now = self._clock.now()
        blocked: list[_Blocked] = []
        urgent = priority >= Priority.URGENT
        for st in states:
            if st.backoff.active(now, urgent):
                reason = (
                    f"is backing off after HTTP 429 ({st.backoff.count} so far, "
                    f"{st.backoff.remaining(now, urgent):.2f}s left)"
                )
                blocked.append(_Blocked(st, st.backoff.pause_end(urgent), reason, backoff=True))
                continue
            if not st.queue.is_first(ticket):
                first = st.queue.first()
                ahead = first.priority.name if first is not None else "?"
                blocked.append(_Blocked(st, None, f"has a {ahead} request waiting ahead"))
                continue
            stats = await self._limiter.get_window_stats(st.item, st.key.label)
            used = st.share.capacity - stats.remaining
            # After the read: a read that failed over to the local windows counts locally.
            share = self._active(st)
            if used >= share.capacity:
                reason = f"is full ({used} of {share.capacity} calls in the window)"
                blocked.append(_Blocked(st, stats.reset_time, reason))
                continue
            if priority < Priority.PROTECTIVE:
                pstats = await self._limiter.get_window_stats(st.poll_item, *_poll_ids(st))
                polls = st.share.poll_capacity - pstats.remaining
                if not admits(used, polls, share, priority):
                    reason = (
                        f"has no room for polls ({polls} of {share.poll_capacity} poll calls "
                        f"in the window; {share.reserved} kept for protective calls)"
                    )
                    blocked.append(_Blocked(st, pstats.reset_time, reason))
        if blocked:
            return blocked
        for st in states:
            ok = await self._limiter.hit(st.item, st.key.label)
            if ok and priority < Priority.PROTECTIVE:
                ok = await self._limiter.hit(st.poll_item, *_poll_ids(st))
            if not ok:
                # Only another process sharing the storage can fill a window between the
                # check and the hit (or the storage fell back to a smaller local share); a
                # slot already taken is lost, which is safe.
                stats = await self._limiter.get_window_stats(st.item, st.key.label)
                return [_Blocked(st, stats.reset_time, "was filled by another process")]
        return []

    async def _wait(self, seconds: float, events: list[asyncio.Event]) -> None:
        """Sleep ``seconds`` of clock time, or less if a key changed meanwhile."""
        if any(e.is_set() for e in events):
            return
        tasks: list[asyncio.Future[object]] = [asyncio.ensure_future(self._clock.sleep(seconds))]
        tasks += [asyncio.ensure_future(e.wait()) for e in set(events)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks)

    def _count_admitted(
        self,
        states: list[_KeyState],
        priority: Priority,
        blockers: Mapping[LimitKey, _KeyState],
        waited: float,
    ) -> None:
        for st in states:
            if priority >= Priority.PROTECTIVE:
                st.admitted_protective += 1
            else:
                st.admitted_poll += 1
        for st in blockers.values():
            st.waits += 1
            st.wait_time_s += waited

    def _exhausted(
        self,
        ep: Endpoint,
        priority: Priority,
        blocked: list[_Blocked],
        blockers: Mapping[LimitKey, _KeyState],
        waited: float,
    ) -> BudgetExhausted:
        if waited > 0:
            for st in blockers.values():
                st.waits += 1
                st.wait_time_s += waited
        for b in blocked:
            b.state.exhausted += 1
        worst = max(blocked, key=lambda b: float("inf") if b.retry_at is None else b.retry_at)
        now = self._clock.now()
        reason = worst.reason
        if worst.retry_at is not None and worst.retry_at > now:
            reason += f", free again in {worst.retry_at - now:.2f}s"
        exc = BudgetExhausted(
            ep.key, worst.state.key, priority, reason, waited, self._config.max_wait(priority)
        )
        if _refused_in_backoff(priority, blocked):
            log.info("%s", exc)  # a read not sent during a back-off: its 429 was a warning
        else:
            log.warning("%s", exc)
        return exc

    # --- poll pacing ----------------------------------------------------------------------
    def suggest_interval(
        self,
        base_interval: float,
        calls_per_cycle: Mapping[str, int],
        *,
        account: str | None = None,
    ) -> float:
        """Poll interval for a cycle of ``calls_per_cycle`` (endpoint key → calls: a v1
        name, or ``v2:<name>`` for v2, see :func:`endpoint_by_key`) by one account:
        ``base_interval``, stretched so the cycle fits the poll share of every limit it
        touches. With several accounts use :meth:`suggest_interval_all`."""
        return self.suggest_interval_all(base_interval, {account or self._default: calls_per_cycle})

    def suggest_interval_all(
        self, base_interval: float, calls_by_account: Mapping[str, Mapping[str, int]]
    ) -> float:
        """Like :meth:`suggest_interval` for one cycle over several accounts (their IP-scoped
        calls add up on the shared IP limits)."""
        load = cycle_load(
            (key, n)
            for account, calls in calls_by_account.items()
            for name, n in calls.items()
            for key in self.keys_for(endpoint_by_key(name), account)
        )
        shares = {key: self._active(self._state(key)) for key in load}
        return accounting.suggest_interval(base_interval, load, shares)

    async def poll_headroom(
        self, endpoint_names: Iterable[str], *, account: str | None = None
    ) -> float:
        """Free part (0..1) of the poll share right now, over the limits of the endpoints
        named by key (as in :meth:`suggest_interval`): the least free one; 0 while one is
        backing off."""
        now = self._clock.now()
        free = 1.0
        for name in endpoint_names:
            for key in self.keys_for(endpoint_by_key(name), account):
                st = self._state(key)
                if st.backoff.active(now):
                    return 0.0
                used, polls = await self._used(st)
                free = min(free, accounting.headroom(used, polls, self._active(st)))
        return free

    async def _used(self, st: _KeyState) -> tuple[int, int]:
        """Calls in the current window: all of them, and the polls among them."""
        stats = await self._limiter.get_window_stats(st.item, st.key.label)
        pstats = await self._limiter.get_window_stats(st.poll_item, *_poll_ids(st))
        return st.share.capacity - stats.remaining, st.share.poll_capacity - pstats.remaining

    # --- visible state --------------------------------------------------------------------
    async def status(self) -> BudgetStatus:
        """Every limit key used so far: window use, back-off, 429s, waits (frozen)."""
        now = self._clock.now()
        keys: list[KeyStatus] = []
        for key, st in sorted(self._states.items(), key=lambda kv: kv[0].label):
            used, polls = await self._used(st)
            share = self._active(st)
            keys.append(
                KeyStatus(
                    rule=key.name,
                    scope=key.scope,
                    identity=key.identity,
                    limit=key.rule.limit,
                    window_s=key.rule.window_s,
                    capacity=share.capacity,
                    reserved=share.reserved,
                    used=used,
                    used_by_polls=polls,
                    backoff_remaining_s=st.backoff.remaining(now),
                    http_429=st.backoff.count,
                    waits=st.waits,
                    wait_time_s=st.wait_time_s,
                    exhausted=st.exhausted,
                    admitted_poll=st.admitted_poll,
                    admitted_protective=st.admitted_protective,
                )
            )
        return BudgetStatus(
            at=now,
            storage=safe_uri(self._config.storage_uri),
            safety_margin=self._config.safety_margin,
            reserved_share=self._config.reserved_share,
            keys=tuple(keys),
            storage_degraded=self.storage_degraded,
            fallback_share=self._config.fallback_share if self._fallback is not None else None,
        )


if TYPE_CHECKING:  # mypy proves both are RequestGates

    def _is_gate(budget: RateBudget, view: AccountGate) -> tuple[RequestGate, RequestGate]:
        return budget, view

    def _is_slot_gate(budget: RateBudget, view: AccountGate) -> tuple[SlotGate, SlotGate]:
        return budget, view
