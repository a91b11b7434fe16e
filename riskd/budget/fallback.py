"""A shared Redis budget that never blocks a protective call: a local share when Redis is down.

:class:`FallbackStorage` is the ``limits.aio`` moving-window storage the budget uses for a
Redis ``storage_uri``. It wraps ``limits``' Redis storage (the *shared* windows every node
counts in) and a :class:`~riskd.budget.storage.ClockMemoryStorage` (the *local* windows):

- **Shared** (Redis answers): every call goes to Redis under a short deadline
  (``deadline_s``, 0.25 s by default). The storage remembers what Redis last showed of
  each window (the budget reads a window before each hit).
- **Local** (circuit open): the first call that fails or misses its deadline opens the
  circuit; it and every later call are counted in the local windows at once, without
  touching Redis, with each limit scaled to ``share`` of it
  (:func:`~riskd.budget.accounting.local_limit`; the budget scales its own view of the
  limits with :func:`~riskd.budget.accounting.scale_share`). So a hung Redis delays one
  call by at most the deadline, and none after it. On opening, what Redis last showed of
  each window (every node's calls, if read within the window) is carried into the local
  windows, stamped now, so that nodes starting on their shares do not add them on top of
  a full window.
- **Probe** (half-open): while local, a call made ``probe_s`` after the last attempt starts
  one background probe (never awaited by a call). When Redis answers, what this node
  admitted locally and is still inside its window is added to the shared windows (counted
  as sent *now*: conservative), and counting is shared again.

Each change of state is logged once at WARNING and handed to the listeners
(:meth:`FallbackStorage.add_listener`) as a :class:`StorageEvent`; the daemon turns it into
an alert and a metric. The Redis password never appears: the storage is shown as
``host:port`` and error texts pass through :func:`riskd.redact.redact`.

Approximations (docs/budget-redis.md): during an outage each node assumes it is one of
``1 / share`` nodes; the calls admitted while the sync back runs are counted locally only;
when Redis comes back full, what this node sent locally cannot be added (the other nodes
already used the window).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from limits.aio.storage import MovingWindowSupport, Storage
from limits.errors import StorageError

from riskd.budget.accounting import local_limit
from riskd.budget.config import BudgetConfig, BudgetStorageUnreachable
from riskd.budget.storage import ClockMemoryStorage, make_storage, safe_uri, safe_where
from riskd.clock import Clock
from riskd.redact import redact

log = logging.getLogger(__name__)

T = TypeVar("T")
#: The key a probe reads (a real moving-window read: authentication, db and Lua scripts).
PROBE_KEY = "riskd/probe"
DEFAULT_DEADLINE_S = 0.25
DEFAULT_PROBE_S = 3.0


def describe_share(share: float) -> str:
    """``1/3`` for a third, ``40%`` when the share is no unit fraction."""
    if share >= 1.0:
        return "all"
    inverse = 1.0 / share
    if abs(inverse - round(inverse)) < 1e-6:
        return f"1/{round(inverse)}"
    frac = Fraction(share).limit_denominator(20)
    if abs(float(frac) - share) < 1e-9:
        return f"{frac.numerator}/{frac.denominator}"
    return f"{share:.0%}"


@dataclass(frozen=True, slots=True)
class StorageEvent:
    """The shared budget storage went away (``degraded``) or came back (not ``degraded``)."""

    degraded: bool
    #: Where the storage is, without credentials (``127.0.0.1:6379``).
    storage: str
    #: Share of each limit this node counts with while degraded.
    share: float
    #: Why (the error, secrets removed); ``"answers again"`` when restored.
    reason: str
    #: POSIX seconds.
    at: float

    def message(self) -> str:
        if self.degraded:
            return (
                f"budget: Redis at {self.storage} unreachable ({self.reason}), "
                f"counting locally at {describe_share(self.share)} of each limit"
            )
        return f"budget: Redis at {self.storage} answers again, counting shared"


StorageListener = Callable[[StorageEvent], None]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) and not text:
        return "no answer within the deadline"
    return redact(f"{name}: {text}" if text else name)


class _Never(Exception):
    """Never raised: this storage's errors are not ``limits``' to wrap."""


class FallbackStorage(Storage, MovingWindowSupport):
    """Shared (Redis) moving windows with a local fallback (see the module docstring)."""

    def __init__(
        self,
        primary: Storage,
        clock: Clock,
        *,
        where: str,
        shown: str | None = None,
        share: float = 0.5,
        deadline_s: float = DEFAULT_DEADLINE_S,
        probe_s: float = DEFAULT_PROBE_S,
    ) -> None:
        super().__init__("fallback://")
        if not isinstance(primary, MovingWindowSupport):
            raise TypeError("the shared storage needs moving-window support")
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share must be in (0, 1], got {share}")
        self._primary = primary
        own = primary.base_exceptions
        #: What counts as "Redis unreachable": deadline missed, socket errors, the client's
        #: errors (redis-py ``RedisError``: connection, authentication, wrong db…).
        self._failures: tuple[type[Exception], ...] = (
            TimeoutError,
            OSError,
            StorageError,
            *(own if isinstance(own, tuple) else (own,)),
        )
        self._primary_mw: MovingWindowSupport = primary
        self._clock = clock
        self._where = where
        self._shown = shown or where
        self._share = share
        self._deadline_s = deadline_s
        self._probe_s = probe_s
        self._local = ClockMemoryStorage(clock)
        #: What was admitted locally during the outage (to add to Redis when it is back).
        self._outage = ClockMemoryStorage(clock)
        #: key → (limit, expiry) of every window seen (for the sync back).
        self._seen: dict[str, tuple[int, int]] = {}
        #: key → (calls in the shared window, when) at the last answer of Redis.
        self._observed: dict[str, tuple[int, float]] = {}
        self._degraded = False
        self._next_probe = 0.0
        self._probe_task: asyncio.Task[None] | None = None
        self._listeners: list[StorageListener] = []
        self.degradations = 0
        self.restorations = 0
        self.last_error: str | None = None

    def __repr__(self) -> str:
        state = "local" if self._degraded else "shared"
        return f"FallbackStorage({self._where}, {state}, share={self._share:g})"

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return _Never

    # --- state ----------------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        """True while counting locally (Redis unreachable)."""
        return self._degraded

    @property
    def share(self) -> float:
        return self._share

    @property
    def scale(self) -> float:
        """Factor on every limit now: 1 shared, ``share`` while degraded."""
        return self._share if self._degraded else 1.0

    @property
    def where(self) -> str:
        return self._where

    def add_listener(self, listener: StorageListener) -> None:
        """Call ``listener`` once per change of state (degraded, restored)."""
        self._listeners.append(listener)

    def _emit(self, event: StorageEvent) -> None:
        log.warning("%s", event.message())
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # an alert hook must never fail the call being counted
                log.exception("budget: a storage listener failed on %s", event.message())

    def _open(self, exc: BaseException) -> None:
        self.last_error = _reason(exc)
        self._next_probe = self._clock.now() + self._probe_s
        if self._degraded:
            return
        self._degraded = True
        self.degradations += 1
        self._carry_over()
        self._emit(StorageEvent(True, self._where, self._share, self.last_error, self._clock.now()))

    def _carry_over(self) -> None:
        """Count in the local windows what Redis last showed of every node's calls (stamped
        now: conservative), so that a node starting on its local share does not add its
        share on top of what the others sent just before the outage."""
        now = self._clock.now()
        expiries = {key: expiry for key, (_, expiry) in self._seen.items()}
        own = self._local.counts(expiries)
        for key, (count, at) in self._observed.items():
            expiry = expiries.get(key)
            if expiry is not None and now - at < expiry and count > own.get(key, 0):
                self._local.record(key, expiry, count - own.get(key, 0))
        self._observed.clear()

    def _close(self) -> None:
        self._degraded = False
        self.restorations += 1
        self._emit(
            StorageEvent(False, self._where, self._share, "answers again", self._clock.now())
        )

    # --- calls ----------------------------------------------------------------------------
    async def _shared(self, call: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        """(True, result) from Redis within the deadline; (False, None) when degraded or on
        failure (which opens the circuit)."""
        if self._degraded:
            self._maybe_probe()
            return False, None
        try:
            async with asyncio.timeout(self._deadline_s):
                return True, await call()
        except self._failures as exc:  # Redis down, hung, refusing: count locally
            self._open(exc)
            return False, None

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        self._seen[key] = (limit, expiry)
        ok, admitted = await self._shared(
            lambda: self._primary_mw.acquire_entry(key, limit, expiry, amount)
        )
        if ok:
            if admitted:
                count, _ = self._observed.get(key, (0, 0.0))
                self._observed[key] = (count + amount, self._clock.now())
            return bool(admitted)
        if await self._local.acquire_entry(key, local_limit(limit, self._share), expiry, amount):
            self._outage.record(key, expiry, amount)
            return True
        return False

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        self._seen[key] = (limit, expiry)
        ok, window = await self._shared(
            lambda: self._primary_mw.get_moving_window(key, limit, expiry)
        )
        if ok and window is not None:
            self._observed[key] = (window[1], self._clock.now())
            return window
        return await self._local.get_moving_window(key, limit, expiry)

    # --- probe and sync back ----------------------------------------------------------------
    def _maybe_probe(self) -> None:
        if self._probe_task is None and self._clock.now() >= self._next_probe:
            self._probe_task = asyncio.get_running_loop().create_task(self._probe())

    async def _probe(self) -> None:
        try:
            await self.probe()
        finally:
            self._probe_task = None

    async def probe(self) -> bool:
        """Try Redis now (half-open): back to shared counting when it answers. True if it did."""
        try:
            async with asyncio.timeout(self._deadline_s):
                await self._primary_mw.get_moving_window(PROBE_KEY, 1, 1)
            await self._sync_back()
        except self._failures as exc:  # still unreachable: stay local, try again later
            self.last_error = _reason(exc)
            self._next_probe = self._clock.now() + self._probe_s
            log.debug("budget: Redis at %s still unreachable: %s", self._where, self.last_error)
            return False
        if self._degraded:
            self._close()
        return True

    async def _sync_back(self) -> None:
        """Add what this node admitted locally (still in its window) to the shared windows."""
        expiries = {key: expiry for key, (_, expiry) in self._seen.items()}
        for key, sent in self._outage.counts(expiries).items():
            if sent == 0:
                continue
            limit, expiry = self._seen[key]
            async with asyncio.timeout(self._deadline_s):
                _, used = await self._primary_mw.get_moving_window(key, limit, expiry)
                amount = min(sent, limit - used)
                if amount > 0:
                    await self._primary_mw.acquire_entry(key, limit, expiry, amount)
        await self._outage.reset()

    async def check_shared(self, timeout_s: float = 2.0) -> None:
        """Read a moving window from Redis within ``timeout_s`` (the start-up check):
        :class:`BudgetStorageUnreachable` naming the storage (never the password) otherwise."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._primary_mw.get_moving_window(PROBE_KEY, 1, 1)
        except self._failures as exc:  # reported as one line naming the storage
            raise BudgetStorageUnreachable(
                self._shown, f"Redis does not answer ({_reason(exc)})"
            ) from None

    async def aclose(self) -> None:
        """Stop a running probe and close the Redis connections."""
        task, self._probe_task = self._probe_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await close_redis(self._primary)

    # --- Storage (fixed-window counters; unused by the budget) ------------------------------
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        ok, value = await self._shared(lambda: self._primary.incr(key, expiry, amount))
        return value if ok and value is not None else await self._local.incr(key, expiry, amount)

    async def get(self, key: str) -> int:
        ok, value = await self._shared(lambda: self._primary.get(key))
        return value if ok and value is not None else await self._local.get(key)

    async def get_expiry(self, key: str) -> float:
        ok, value = await self._shared(lambda: self._primary.get_expiry(key))
        return value if ok and value is not None else await self._local.get_expiry(key)

    async def check(self) -> bool:
        """True while Redis is counted in (False: degraded to the local share)."""
        ok, value = await self._shared(self._primary.check)
        return bool(ok and value)

    async def reset(self) -> int | None:
        await self._shared(self._primary.reset)
        await self._outage.reset()
        return await self._local.reset()

    async def clear(self, key: str) -> None:
        await self._shared(lambda: self._primary.clear(key))
        await self._local.clear(key)


async def close_redis(storage: Storage) -> None:
    """Close the client connections of ``limits``' Redis storage (if it has any)."""
    bridge = getattr(storage, "bridge", None)
    client = getattr(bridge, "storage", None)
    closer = getattr(client, "aclose", None) or getattr(client, "close", None)
    if closer is not None:
        result = closer()
        if asyncio.iscoroutine(result):
            await result


def make_budget_storage(config: BudgetConfig, clock: Clock) -> Storage:
    """The storage of ``config.storage_uri``: a :class:`ClockMemoryStorage` for ``memory://``,
    a :class:`FallbackStorage` around ``limits``' Redis storage for ``redis://``."""
    uri = config.storage_uri
    storage = make_storage(uri, clock, deadline_s=config.storage_deadline_s)
    if isinstance(storage, ClockMemoryStorage):
        return storage
    return FallbackStorage(
        storage,
        clock,
        where=safe_where(uri),
        shown=safe_uri(uri),
        share=config.fallback_share,
        deadline_s=config.storage_deadline_s,
        probe_s=config.storage_probe_s,
    )
