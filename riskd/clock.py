"""Clocks: the only place in riskd that reads time.

Everything that needs "now" takes a :class:`Clock` through its constructor. The pure core
(risk math, rules, budget accounting) takes ``now`` as an argument instead and reads no clock.

- :class:`WallClock` is the real time (the daemon in production, ``riskd sim serve``).
- :class:`LoopClock` is the running event loop's time from a start instant: on a
  :class:`~riskd.virtual_time.VirtualTimeLoop` (the demo, the scenario suite,
  ``riskd sim serve --speed``) that is deterministic virtual time; the demo hands one
  instance to both the simulator and the daemon so that they share it.
- :class:`ManualClock` only moves when a test calls :meth:`ManualClock.advance`.

No clock has a speed: how fast virtual time runs against the wall is the loop's business
(:mod:`riskd.virtual_time`), and nothing else in riskd knows about it.

``now()`` is POSIX seconds (float); ``now_ms()`` is integer milliseconds as the exchange uses.
``sleep()`` waits for a span of *this clock's* time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Source of the current time and of waiting."""

    def now(self) -> float:
        """POSIX time in seconds."""
        ...

    def now_ms(self) -> int:
        """POSIX time in integer milliseconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class WallClock:
    """The real time."""

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "WallClock()"


class LoopClock:
    """The running event loop's time (``loop.time()``), as POSIX seconds from ``start``.

    ``now()`` is ``start`` plus the loop time elapsed since the first reading (or since
    construction, when built inside a running loop); ``sleep`` is :func:`asyncio.sleep`. Give
    ``start`` as a whole number of seconds for reproducible float arithmetic.
    """

    def __init__(self, start: float) -> None:
        self._start = float(start)
        self._origin: float | None = None
        self._elapsed = 0.0
        with contextlib.suppress(RuntimeError):
            self._origin = asyncio.get_running_loop().time()

    def now(self) -> float:
        """Outside a running loop: the last reading (``start`` before the first)."""
        try:
            loop_now = asyncio.get_running_loop().time()
        except RuntimeError:
            return self._start + self._elapsed
        if self._origin is None:
            self._origin = loop_now
        self._elapsed = loop_now - self._origin
        return self._start + self._elapsed

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"LoopClock(start={self._start:.0f})"


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def now_ms(self) -> int:
        return round(self._now * 1000)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("ManualClock cannot go backwards")
        self._now += seconds

    def set(self, now: float) -> None:
        self._now = float(now)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now})"
