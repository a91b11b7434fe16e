"""The budget's storage: limits' moving window on the injected clock; Redis by URI."""

from __future__ import annotations

import importlib.util

import pytest
from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter

from riskd.budget.config import BudgetConfigError
from riskd.budget.storage import ClockMemoryStorage, make_storage, safe_uri
from riskd.clock import ManualClock, WallClock


async def test_limits_moving_window_runs_on_the_injected_clock() -> None:
    """Three hits fill 3/s; the window frees exactly one second after the oldest hit."""
    clock = ManualClock()
    limiter = MovingWindowRateLimiter(ClockMemoryStorage(clock))
    item = RateLimitItemPerSecond(3, 1)
    t0 = clock.now()
    assert await limiter.hit(item, "k")
    clock.advance(0.4)
    assert await limiter.hit(item, "k") and await limiter.hit(item, "k")
    assert not await limiter.hit(item, "k")
    stats = await limiter.get_window_stats(item, "k")
    assert stats.remaining == 0 and stats.reset_time == pytest.approx(t0 + 1.0)
    clock.advance(0.6)
    assert (await limiter.get_window_stats(item, "k")).remaining == 1
    assert await limiter.hit(item, "k")
    assert not await limiter.hit(item, "other", cost=4)


async def test_fixed_window_counters_follow_the_clock_too() -> None:
    """incr/get/clear of the Storage interface count until the expiry on the clock."""
    clock = ManualClock()
    storage = ClockMemoryStorage(clock)
    assert await storage.incr("c", 2) == 1
    assert await storage.incr("c", 2, amount=2) == 3
    assert await storage.get_expiry("c") == pytest.approx(clock.now() + 2)
    clock.advance(2.0)
    assert await storage.get("c") == 0
    await storage.incr("c", 2)
    await storage.clear("c")
    assert await storage.get("c") == 0
    assert await storage.check()
    assert await storage.reset() == 0


def test_memory_uri_gives_the_clock_driven_storage() -> None:
    """memory:// (the default) builds a ClockMemoryStorage on the budget's clock."""
    assert isinstance(make_storage("memory://", ManualClock()), ClockMemoryStorage)


def test_unknown_scheme_is_a_clear_error() -> None:
    """A memcached URI is refused naming the setting and the supported schemes."""
    with pytest.raises(BudgetConfigError, match=r"budget.storage_uri.*memory://"):
        make_storage("memcached://localhost:11211", WallClock())


def test_redis_uri_with_a_virtual_clock_is_refused_without_showing_the_password() -> None:
    """Redis counts in wall time, so a virtual clock is an error; the password is hidden."""
    with pytest.raises(BudgetConfigError, match="wall time") as info:
        make_storage("redis://:pw-Zq81xK@redis.internal:6379/0", ManualClock())
    assert "pw-Zq81xK" not in str(info.value)
    assert "redis.internal:6379" in str(info.value)


def test_redis_uri_builds_limits_redis_storage_or_names_the_missing_client() -> None:
    """With a Redis client library the URI builds limits' storage; without, the error
    names the package to install (no server is contacted either way)."""
    uri = "redis://:pw-Yk20aQ@127.0.0.1:6379"
    have_client = any(importlib.util.find_spec(m) for m in ("coredis", "redis"))
    if have_client:
        storage = make_storage(uri, WallClock())
        assert type(storage).__name__ == "RedisStorage"
    else:
        with pytest.raises(BudgetConfigError, match="coredis") as info:
            make_storage(uri, WallClock())
        assert "pw-Yk20aQ" not in str(info.value)


def test_safe_uri_drops_credentials_and_query() -> None:
    """Status shows host and path only."""
    assert safe_uri("rediss://user:secret@h:6380/2?ssl_cert_reqs=none") == "rediss://h:6380/2"
    assert safe_uri("memory://") == "memory://"
