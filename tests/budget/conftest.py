"""Fixtures for the rate-budget tests: a clock whose sleepers wait until the test moves time."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest

from riskd.budget import BudgetConfig, RateBudget


async def settle(rounds: int = 50) -> None:
    """Let every runnable task run until it blocks again."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class SteppedClock:
    """Virtual time for concurrent tests: ``sleep`` blocks until :meth:`advance` passes its
    deadline; sleepers wake in deadline order, each allowed to run before the next."""

    speed = 1.0

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    def now_ms(self) -> int:
        return round(self._now * 1000)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    async def advance(self, seconds: float) -> None:
        target = self._now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, fut = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            if not fut.done():
                fut.set_result(None)
                await settle()
        self._now = target
        await settle()

    def __repr__(self) -> str:
        return f"SteppedClock(now={self._now})"


@pytest.fixture
def stepped() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def make_budget():
    """Build a RateBudget on a clock with config overrides."""

    def build(clock, **overrides) -> RateBudget:
        return RateBudget(clock, BudgetConfig(**overrides), default_account="main")

    return build
