"""The virtual-time event loop: timers jump, thread work lands before time moves, pacing."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import aiosqlite
import pytest

from riskd.clock import LoopClock
from riskd.virtual_time import VirtualTimeLoop, run_virtual


def test_timers_jump_without_real_waiting() -> None:
    """An hour of asyncio.sleep takes no real time, and timers fire in virtual order."""
    order: list[str] = []

    async def sleeper(name: str, seconds: float) -> float:
        await asyncio.sleep(seconds)
        order.append(name)
        return asyncio.get_running_loop().time()

    async def main() -> list[float]:
        return list(await asyncio.gather(sleeper("b", 3600), sleeper("a", 1800)))

    t0 = time.monotonic()
    assert run_virtual(main()) == [3600.0, 1800.0]
    assert order == ["a", "b"]
    assert time.monotonic() - t0 < 30  # generous: an hour of virtual time in real seconds


def test_loop_clock_reads_virtual_time_from_its_start() -> None:
    """LoopClock.now() is its start plus the virtual time elapsed; sleep waits virtual time."""

    async def main() -> tuple[float, float, int]:
        clock = LoopClock(1_700_000_000)
        t0 = clock.now()
        await clock.sleep(90)
        return t0, clock.now(), clock.now_ms()

    assert run_virtual(main(), start=123.0) == (1_700_000_000.0, 1_700_000_090.0, 1_700_000_090_000)


def test_thread_work_lands_before_virtual_time_moves() -> None:
    """A thread call that takes 50 ms of real time completes at the same virtual instant,
    and before a timer due 1 ms (virtual) later."""

    def slow() -> str:
        time.sleep(0.05)
        return "done"

    async def main() -> tuple[float, float, list[str]]:
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        loop.call_later(0.001, seen.append, "timer")
        t0 = loop.time()
        result = await asyncio.to_thread(slow)
        seen.append(result)
        via_executor = await loop.run_in_executor(None, slow)
        seen.append(via_executor)
        return t0, loop.time(), seen

    t0, t1, seen = run_virtual(main())
    assert t1 == t0
    assert seen == ["done", "done"]  # the 1 ms timer never got its turn before the threads


def test_aiosqlite_queries_land_before_virtual_time_moves(tmp_path: Path) -> None:
    """aiosqlite's connection thread (a SimpleQueue worker) is waited for: a burst of writes
    with fsync completes with virtual time unchanged, and a timer due later fires after."""

    async def main() -> tuple[float, float, list[str]]:
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        loop.call_later(0.001, seen.append, "timer")
        t0 = loop.time()
        async with aiosqlite.connect(tmp_path / "t.sqlite3") as db:
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("CREATE TABLE t (x INTEGER)")
            for i in range(20):
                await db.execute("INSERT INTO t VALUES (?)", (i,))
                await db.commit()
            async with db.execute("SELECT count(*) FROM t") as cur:
                row = await cur.fetchone()
            seen.append(f"rows {row[0] if row else None}")
            t1 = loop.time()
        await asyncio.sleep(0.01)
        return t0, t1, seen

    t0, t1, seen = run_virtual(main())
    assert t1 == t0
    assert seen == ["rows 20", "timer"]


def test_wait_for_times_out_in_virtual_time() -> None:
    """asyncio.wait_for gives up after its timeout of virtual time, at exactly that instant."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=30)
        return loop.time() - t0

    assert run_virtual(main()) == 30.0


def test_speed_paces_virtual_time_against_the_wall() -> None:
    """With speed=20, one virtual second takes at least 50 ms of real time."""

    async def main() -> float:
        t0 = time.monotonic()
        await asyncio.sleep(1.0)
        return time.monotonic() - t0

    assert run_virtual(main(), speed=20) >= 0.045


def test_a_foreign_busy_thread_does_not_hang_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    """A thread busy outside the loop's work is waited for at most foreign_after_s, named
    once in a warning, and then ignored."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    thread = threading.Thread(target=spin, name="busy-foreigner", daemon=True)
    thread.start()

    async def main() -> float:
        for _ in range(5):
            await asyncio.sleep(10)
        return asyncio.get_running_loop().time()

    try:
        with caplog.at_level(logging.WARNING, logger="riskd.thread_idle"):
            assert run_virtual(main(), foreign_after_s=0.05) == 50.0
    finally:
        stop.set()
        thread.join()
    warnings = [r for r in caplog.records if "busy-foreigner" in r.getMessage()]
    assert len(warnings) == 1


def test_speed_must_be_positive() -> None:
    """A zero or negative speed is refused with the value named."""
    with pytest.raises(ValueError, match="speed must be > 0, got 0"):
        VirtualTimeLoop(0)


def test_an_executor_job_waiting_for_the_loop_does_not_hang_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job that waits for something only the loop will do is waited for at most
    foreign_after_s (with a warning), then the loop goes on and sets it free."""
    released = threading.Event()

    async def main() -> bool:
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(None, released.wait, 5.0)
        await asyncio.sleep(1)
        released.set()
        return await job

    with caplog.at_level(logging.WARNING, logger="riskd.virtual_time"):
        assert run_virtual(main(), foreign_after_s=0.05) is True
    assert any("executor job" in r.getMessage() for r in caplog.records)
