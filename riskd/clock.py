"""Clocks: the only place in riskd that reads time.

Everything that needs "now" takes a :class:`Clock` through its constructor. The pure core
(risk math, rules, budget accounting) takes ``now`` as an argument instead and reads no clock.

- :class:`WallClock` is the real time (the daemon in production, ``riskd sim serve``).
- :class:`ScaledClock` runs ``speed`` times faster than the wall from a start instant; the demo
  hands one instance to both the simulator and the daemon so that they share one virtual time.
- :class:`ManualClock` only moves when a test calls :meth:`ManualClock.advance`.

``now()`` is POSIX seconds (float); ``now_ms()`` is integer milliseconds as the exchange uses.
``sleep()`` waits for a span of *this clock's* time.
"""

from __future__ import annotations

import asyncio
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

    @property
    def speed(self) -> float:
        """How many seconds of this clock pass per wall second (1.0 for the wall)."""
        ...


class WallClock:
    """The real time."""

    speed = 1.0

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "WallClock()"


class ScaledClock:
    """Virtual time that starts at ``start`` and runs ``speed`` times faster than the wall."""

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"ScaledClock speed must be > 0, got {speed}")
        self._start = time.time() if start is None else start
        self._anchor = time.monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        return self._start + (time.monotonic() - self._anchor) * self._speed

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self._speed})"


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it instead of waiting."""

    speed = 1.0

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
