"""The fallback storage: a shared storage that fails or hangs never blocks a protective call;
the node counts locally at its share, says so once, and goes back when the storage answers."""

from __future__ import annotations

import asyncio
import logging

import pytest
from limits.aio.storage import MovingWindowSupport, Storage

from riskd.bitget.endpoints import endpoint
from riskd.bitget.gate import Priority
from riskd.budget import BudgetConfig, BudgetExhausted, RateBudget, StorageEvent
from riskd.budget.accounting import Share, local_limit, scale_share
from riskd.budget.config import BudgetConfigError, BudgetStorageUnreachable
from riskd.budget.fallback import FallbackStorage, describe_share, make_budget_storage
from riskd.budget.storage import ClockMemoryStorage
from riskd.clock import ManualClock, WallClock

REPAY = endpoint("cross_repay")  # UID 10/s: capacity 9, 3 reserved (margin 10 %, reserve 30 %)
DEADLINE_S = 0.05


class FakeShared(Storage, MovingWindowSupport):
    """A "Redis" in memory that can be switched to fail or to hang; counts its calls."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__("fake://")
        self.inner = ClockMemoryStorage(clock)
        self.mode = "ok"
        self.calls = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return ConnectionError

    async def _enter(self) -> None:
        self.calls += 1
        if self.mode == "fail":
            raise ConnectionError("Error 111 connecting to 10.0.0.9:6379. Connection refused.")
        if self.mode == "hang":
            await asyncio.Event().wait()

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        await self._enter()
        return await self.inner.acquire_entry(key, limit, expiry, amount)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        await self._enter()
        return await self.inner.get_moving_window(key, limit, expiry)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        await self._enter()
        return await self.inner.incr(key, expiry, amount)

    async def get(self, key: str) -> int:
        await self._enter()
        return await self.inner.get(key)

    async def get_expiry(self, key: str) -> float:
        return await self.inner.get_expiry(key)

    async def check(self) -> bool:
        return self.mode == "ok"

    async def reset(self) -> int | None:
        return await self.inner.reset()

    async def clear(self, key: str) -> None:
        await self.inner.clear(key)


class World:
    def __init__(self, share: float = 1 / 3) -> None:
        self.clock = ManualClock()
        self.shared = FakeShared(self.clock)
        self.storage = FallbackStorage(
            self.shared,
            self.clock,
            where="10.0.0.9:6379",
            share=share,
            deadline_s=DEADLINE_S,
            probe_s=2.0,
        )
        self.events: list[StorageEvent] = []
        config = BudgetConfig(max_wait_protective_s=0.5, max_wait_poll_s=0.5)
        self.budget = RateBudget(self.clock, config, storage=self.storage, default_account="main")
        self.storage.add_listener(self.events.append)

    async def admitted(self, n: int, priority: Priority = Priority.PROTECTIVE) -> int:
        """Try ``n`` acquires without letting time pass; how many got through."""
        got = 0
        for _ in range(n):
            try:
                await self.budget.acquire(REPAY, priority)
            except BudgetExhausted:
                continue
            got += 1
        return got


@pytest.fixture
def world() -> World:
    return World()


def test_local_limit_and_scaled_share_agree() -> None:
    """The budget's scaled share uses the same ⌊limit × share⌋ the storage enforces."""
    share = Share(10, 1, 9, 3)
    scaled = scale_share(share, 1 / 3)
    assert scaled.capacity == local_limit(9, 1 / 3) == 3
    assert scaled.poll_capacity == local_limit(6, 1 / 3) == 2
    assert scale_share(share, 1.0) is share
    assert scale_share(Share(1, 1, 1, 0), 0.1).capacity == 1


def test_share_is_described_as_a_fraction() -> None:
    """Unit fractions read 1/N; others as a fraction or a percentage."""
    assert [describe_share(x) for x in (1 / 3, 0.5, 0.4, 0.123, 1.0)] == [
        "1/3",
        "1/2",
        "2/5",
        "12%",
        "all",
    ]


def test_fallback_share_is_validated() -> None:
    """A share of 0 or above 1 is refused naming the setting."""
    for bad in (0.0, 1.5):
        with pytest.raises(BudgetConfigError, match=r"budget\.fallback_share"):
            BudgetConfig(fallback_share=bad)
    with pytest.raises(BudgetConfigError, match=r"budget\.storage_deadline_s"):
        BudgetConfig(storage_deadline_s=5.0)


async def test_shared_calls_go_to_the_shared_storage(world: World) -> None:
    """While it answers, every count lives in the shared storage (another node sees it)."""
    assert await world.admitted(2) == 2
    _, used = await world.shared.inner.get_moving_window("riskd/cross_repay/UID/main/1s", 9, 1)
    assert used == 2 and not world.budget.storage_degraded and not world.events


async def test_failure_grants_the_protective_call_and_reports_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis refusing: the next protective acquire is granted, one WARNING and one event."""
    world.shared.mode = "fail"
    with caplog.at_level(logging.WARNING, logger="riskd.budget.fallback"):
        assert await world.admitted(1) == 1
        assert await world.admitted(1) == 1
    assert world.budget.storage_degraded
    assert [e.degraded for e in world.events] == [True]
    (record,) = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert record.getMessage().startswith("budget: Redis at 10.0.0.9:6379 unreachable")
    assert record.getMessage().endswith("counting locally at 1/3 of each limit")
    assert world.shared.calls == 1  # circuit open: no call waits on the shared storage


async def test_local_share_is_never_exceeded(world: World) -> None:
    """Counting locally, a window admits ⌊capacity × share⌋ calls, and polls their part."""
    world.shared.mode = "fail"
    assert await world.admitted(10) == 3
    world.clock.advance(1.0)
    assert await world.admitted(10, Priority.POLL) == 2
    status = await world.budget.status()
    key = status.key("cross_repay")
    assert key is not None and key.capacity == 3 and key.reserved == 1
    assert status.storage_degraded and status.to_json()["storage_degraded"] is True


async def test_calls_sent_through_redis_count_in_the_local_share(world: World) -> None:
    """This node's calls admitted by Redis just before it failed count in the local share."""
    assert await world.admitted(2) == 2
    world.shared.mode = "fail"
    assert await world.admitted(5) == 1


async def test_what_redis_showed_of_other_nodes_carries_over(world: World) -> None:
    """Another node's calls seen in the shared window before the outage count locally too,
    so the first local window does not add a full share on top of a full window."""
    for _ in range(8):  # another node
        await world.shared.inner.acquire_entry("riskd/cross_repay/UID/main/1s", 9, 1)
    assert await world.admitted(1) == 1  # reads 8 in the shared window, takes the 9th
    world.shared.mode = "fail"
    assert await world.admitted(3) == 0
    world.clock.advance(1.0)
    assert await world.admitted(5) == 3


async def test_hung_storage_costs_at_most_one_deadline(world: World) -> None:
    """A storage that accepts and never answers: the acquire returns after the deadline
    (bounded by a guard far shorter than any socket timeout), later ones never call it."""
    world.shared.mode = "hang"
    async with asyncio.timeout(1.0):
        assert await world.admitted(3) == 3
    assert world.shared.calls == 1 and world.budget.storage_degraded


async def test_probe_goes_back_to_shared_and_adds_the_local_calls(world: World) -> None:
    """After probe_s a call starts one background probe; when the storage answers the
    calls admitted locally (still in their window) are added to it, and counting is shared."""
    world.shared.mode = "fail"
    assert await world.admitted(2) == 2
    world.shared.mode = "ok"
    world.clock.advance(0.5)
    assert await world.admitted(1) == 1  # before probe_s: still local, no probe
    assert world.budget.storage_degraded and world.shared.calls == 1
    world.clock.advance(1.6)  # past probe_s (the first local entries are out of the window)
    await world.budget.acquire(REPAY, Priority.PROTECTIVE)  # starts the probe
    for _ in range(20):
        await asyncio.sleep(0)
    assert not world.budget.storage_degraded
    assert [e.degraded for e in world.events] == [True, False]
    _, used = await world.shared.inner.get_moving_window("riskd/cross_repay/UID/main/1s", 9, 1)
    assert used == 1  # the call that started the probe, admitted locally, synced back
    assert await world.admitted(10) == 8  # shared again: the full capacity of 9
    await world.budget.aclose()


async def test_failed_probe_stays_local_and_retries_later(world: World) -> None:
    """A probe that fails keeps counting local, emits nothing, and waits probe_s again."""
    world.shared.mode = "fail"
    await world.admitted(1)
    world.clock.advance(2.5)
    assert not await world.storage.probe()
    assert world.budget.storage_degraded and len(world.events) == 1
    assert world.storage.last_error is not None and "Connection refused" in world.storage.last_error


async def test_start_up_check_names_the_storage_without_the_password() -> None:
    """Unreachable Redis at start: BudgetStorageUnreachable, one line, within the timeout,
    naming redis://host:port/db and never the password (no server runs on port 1)."""
    config = BudgetConfig(storage_uri="redis://:s3cret-Fb7@127.0.0.1:1/2")
    budget = RateBudget(WallClock(), config)
    try:
        async with asyncio.timeout(3.0):
            with pytest.raises(BudgetStorageUnreachable) as info:
                await budget.check_storage(timeout_s=2.0)
        text = str(info.value)
        assert "\n" not in text and "redis://127.0.0.1:1/2" in text
        assert isinstance(info.value, BudgetConfigError)
        assert info.value.where == "redis://127.0.0.1:1/2"
        assert info.value.problem.startswith("Redis does not answer (")
        status = await budget.status()
        for shown in (text, repr(budget), status.storage, str(status.to_json())):
            assert "s3cret-Fb7" not in shown
    finally:
        await budget.aclose()


async def test_degraded_event_and_log_never_show_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Redis URI with a password: the log line, event, repr and status show host:port."""
    config = BudgetConfig(storage_uri="redis://:s3cret-Qx2@127.0.0.1:1/0", storage_deadline_s=0.5)
    storage = make_budget_storage(config, WallClock())
    assert isinstance(storage, FallbackStorage)
    events: list[StorageEvent] = []
    storage.add_listener(events.append)
    budget = RateBudget(WallClock(), config, storage=storage, default_account="main")
    try:
        with caplog.at_level(logging.DEBUG):
            await budget.acquire(REPAY, Priority.PROTECTIVE)
        assert budget.storage_degraded and len(events) == 1
        lines = [events[0].message(), repr(storage), repr(budget), caplog.text]
        lines += (await budget.status()).lines()
        assert "127.0.0.1:1" in events[0].message()
        assert not [line for line in lines if "s3cret-Qx2" in line]
    finally:
        await budget.aclose()


def test_memory_uri_has_no_fallback() -> None:
    """memory:// stays one process's ClockMemoryStorage: never degraded."""
    storage = make_budget_storage(BudgetConfig(), ManualClock())
    assert isinstance(storage, ClockMemoryStorage)
    assert not RateBudget(ManualClock()).storage_degraded


def test_usage_reads_only_the_budgets_window_keys() -> None:
    """Redis keys of the budget parse to (rule, identity, polls); others are skipped."""
    from riskd.budget.usage import parse_key

    rule, identity, polls = parse_key("LIMITS:riskd/cross_repay/UID/alice/1s") or (None, "", True)
    assert rule is not None and rule.limit == 10 and identity == "alice" and not polls
    parsed = parse_key("LIMITS:riskd/v2:cross_assets/UID/bob/poll/1s")
    assert parsed is not None and parsed[1:] == ("bob", True)
    for other in (
        "LIMITS:riskd/probe",
        "LIMITS:riskd/cross_repay/IP/alice/1s",
        "LIMITS:riskd/no_such_rule/UID/alice/1s",
        "LIMITS:other/cross_repay/UID/alice/1s",
    ):
        assert parse_key(other) is None


async def test_a_failing_listener_never_fails_the_call(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """An alert hook that raises is logged; the protective acquire is still granted."""

    def broken(event: StorageEvent) -> None:
        raise RuntimeError("alert sink down")

    world.storage.add_listener(broken)
    world.shared.mode = "fail"
    with caplog.at_level(logging.ERROR, logger="riskd.budget.fallback"):
        assert await world.admitted(1) == 1
    assert "storage listener failed" in caplog.text and world.budget.storage_degraded


async def test_usage_of_an_unreachable_or_memory_storage_is_one_clear_error() -> None:
    """usage() on memory:// names the setting; on a dead Redis, the URL without password."""
    from riskd.budget.usage import usage

    with pytest.raises(BudgetConfigError, match="needs a Redis storage"):
        await usage("memory://")
    async with asyncio.timeout(3.0):
        with pytest.raises(BudgetStorageUnreachable) as info:
            await usage("redis://:s3cret-Uu9@127.0.0.1:1/0", timeout_s=1.0)
    assert info.value.where == "redis://127.0.0.1:1/0" and "s3cret-Uu9" not in str(info.value)
