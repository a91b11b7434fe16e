"""Where the budget's moving windows live: process memory (default) or a shared Redis.

The budget counts with the ``limits`` library's async moving-window strategy
(:class:`limits.aio.strategies.MovingWindowRateLimiter`) over a ``limits.aio`` storage.

- ``memory://`` → :class:`ClockMemoryStorage`, a ``limits.aio`` moving-window storage kept in
  process memory that reads the injected :class:`riskd.clock.Clock`. ``limits``' own
  ``MemoryStorage`` reads ``time.time()`` directly (and prunes in a background task by wall
  time), so it could follow neither the demo's virtual-time ``LoopClock`` — where the
  simulator counts its windows in virtual time — nor a test's ``ManualClock``.
- ``redis://host:6379`` (also ``rediss://``, ``redis+unix://``, ``redis+sentinel://``,
  ``redis+cluster://``) → ``limits``' async Redis storage, for several daemons
  sharing one public IP or one API key. It counts in wall time, so it needs a
  :class:`~riskd.clock.WallClock`, and the ``coredis`` (≥ 3.4) or ``redis`` (≥ 5.2) package.
  A password in the URI is registered with :mod:`riskd.redact` and never shown.
"""

from __future__ import annotations

import importlib.util
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

from limits.aio.storage import MovingWindowSupport, Storage
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from riskd.budget.config import BudgetConfigError
from riskd.clock import Clock, WallClock
from riskd.redact import redact, register_secret

MEMORY_SCHEMES = frozenset({"memory", "async+memory"})
REDIS_SCHEMES = frozenset(
    {
        "redis",
        "rediss",
        "redis+unix",
        "redis+sentinel",
        "redis+cluster",
    }
)
#: Redis schemes where the redis-py client can stand in for coredis.
_REDISPY_OK = frozenset({"redis", "rediss", "redis+unix"})


class ClockMemoryStorage(Storage, MovingWindowSupport):
    """``limits.aio`` moving-window storage in process memory, timed by a :class:`Clock`.

    An entry counts while ``atime > now - expiry``: at ``oldest + expiry`` (the reset time
    ``MovingWindowRateLimiter.get_window_stats`` reports) its slot is free again.
    """

    def __init__(self, clock: Clock) -> None:
        super().__init__("memory://")
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}

    def __repr__(self) -> str:
        return f"ClockMemoryStorage({self._clock!r})"

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _window(self, key: str, expiry: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        cutoff = self._clock.now() - expiry
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    # --- MovingWindowSupport ------------------------------------------------------------
    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        events = self._window(key, expiry)
        if len(events) + amount > limit:
            return False
        events.extend([self._clock.now()] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        events = self._window(key, expiry)
        if events:
            return events[0], len(events)
        return self._clock.now(), 0

    def record(self, key: str, expiry: int, amount: int = 1) -> None:
        """Count ``amount`` entries now whatever the limit (calls admitted elsewhere: the
        fallback storage carries over what a shared Redis last showed, see :mod:`.fallback`)."""
        self._window(key, expiry).extend([self._clock.now()] * amount)

    def counts(self, expiry_of: dict[str, int]) -> dict[str, int]:
        """Entries in the current window of each key of ``expiry_of`` (key → expiry)."""
        return {key: len(self._window(key, expiry)) for key, expiry in expiry_of.items()}

    # --- Storage (fixed-window counters; unused by the budget, kept correct) -------------
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count = await self.get(key)
        expires = self._counters[key][1] if count else self._clock.now() + expiry
        self._counters[key] = (count + amount, expires)
        return count + amount

    async def get(self, key: str) -> int:
        count, expires = self._counters.get(key, (0, 0.0))
        if expires <= self._clock.now():
            self._counters.pop(key, None)
            return 0
        return count

    async def get_expiry(self, key: str) -> float:
        return self._counters.get(key, (0, self._clock.now()))[1]

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        n = max(len(self._events), len(self._counters))
        self._events.clear()
        self._counters.clear()
        return n

    async def clear(self, key: str) -> None:
        self._events.pop(key, None)
        self._counters.pop(key, None)


def safe_uri(uri: str) -> str:
    """``uri`` without its user name and password (for status and messages)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return redact(uri.split("@")[-1])
    host = parts.netloc.rsplit("@", 1)[-1]
    return redact(f"{parts.scheme}://{host}{parts.path}")


def safe_where(uri: str) -> str:
    """Where ``uri`` points, without credentials: ``host:port`` (a socket's path for unix)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return safe_uri(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    return redact(host or parts.path)


def make_storage(uri: str, clock: Clock, *, deadline_s: float | None = None) -> Storage:
    """The ``limits.aio`` storage for ``uri`` (see the module docstring). ``deadline_s``:
    with redis-py, connect and socket timeouts, and no retries inside the client (the
    budget's :mod:`~riskd.budget.fallback` decides what a failure means)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise BudgetConfigError(f"budget.storage_uri {safe_uri(uri)!r} is not a URI") from None
    if parts.password:
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    scheme = parts.scheme.lower()
    shown = safe_uri(uri)
    if scheme in MEMORY_SCHEMES:
        return ClockMemoryStorage(clock)
    if scheme not in REDIS_SCHEMES:
        raise BudgetConfigError(
            f"budget.storage_uri {shown!r}: unsupported scheme {scheme!r}; "
            "use memory:// or redis://host:6379"
        )
    if not isinstance(clock, WallClock):
        raise BudgetConfigError(
            f"budget.storage_uri {shown!r}: a shared Redis storage counts in wall time, "
            f"but the budget runs on {clock!r}; use memory:// with a virtual clock"
        )
    has_coredis = importlib.util.find_spec("coredis") is not None
    has_redispy = importlib.util.find_spec("redis") is not None
    if not has_coredis and not (has_redispy and scheme in _REDISPY_OK):
        need = "coredis>=3.4" if scheme not in _REDISPY_OK else "coredis>=3.4 or redis>=5.2"
        raise BudgetConfigError(
            f"budget.storage_uri {shown!r}: the Redis storage needs the {need} package "
            "(pip install coredis)"
        )
    try:
        if has_coredis:
            storage = storage_from_string(f"async+{uri}")
        else:
            storage = storage_from_string(
                f"async+{uri}", implementation="redispy", **_redispy_options(deadline_s)
            )
    except ConfigurationError as exc:
        raise BudgetConfigError(f"budget.storage_uri {shown!r}: {redact(str(exc))}") from None
    if not isinstance(storage, Storage) or not isinstance(storage, MovingWindowSupport):
        raise BudgetConfigError(
            f"budget.storage_uri {shown!r}: storage has no async moving-window support"
        )
    return storage


def _redispy_options(deadline_s: float | None) -> dict[str, Any]:
    if deadline_s is None:
        return {}
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return {
        "socket_connect_timeout": deadline_s,
        "socket_timeout": deadline_s,
        "retry": Retry(NoBackoff(), 0),
    }
