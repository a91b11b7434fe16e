"""Liveness: has the scheduler ticked recently?

The daemon calls :meth:`HealthState.tick` at the end of every healthy scheduler tick (the
same moment it sends ``WATCHDOG=1``). ``/healthz`` answers 200 while the last tick is at most
``max_age`` seconds old and 503 otherwise — including before the first tick. This module is
pure: the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HealthReport", "HealthState"]


@dataclass(frozen=True)
class HealthReport:
    """The answer of one health check."""

    healthy: bool
    reason: str
    last_tick: float | None
    age_seconds: float | None
    max_age_seconds: float
    ticks: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready body of ``/healthz``."""
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "healthy": self.healthy,
            "reason": self.reason,
            "last_tick": self.last_tick,
            "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 3),
            "max_age_seconds": self.max_age_seconds,
            "ticks": self.ticks,
        }


class HealthState:
    """When the scheduler last completed a healthy tick."""

    def __init__(self) -> None:
        self._last_tick: float | None = None
        self._ticks = 0

    @property
    def last_tick(self) -> float | None:
        return self._last_tick

    def tick(self, now: float) -> None:
        """Record a healthy tick at POSIX time ``now``."""
        self._last_tick = now
        self._ticks += 1

    def check(self, now: float, max_age: float) -> HealthReport:
        """Healthy iff a tick happened within the last ``max_age`` seconds."""
        if max_age <= 0:
            raise ValueError(f"health max_age must be > 0 seconds, got {max_age}")
        last = self._last_tick
        if last is None:
            return HealthReport(False, "the scheduler has not ticked yet", None, None, max_age, 0)
        age = max(0.0, now - last)
        if age > max_age:
            reason = f"last scheduler tick {age:.1f}s ago (limit {max_age:g}s)"
            return HealthReport(False, reason, last, age, max_age, self._ticks)
        return HealthReport(True, "the scheduler ticks", last, age, max_age, self._ticks)

    def is_healthy(self, now: float, max_age: float) -> bool:
        return self.check(now, max_age).healthy

    def __repr__(self) -> str:
        return f"HealthState(last_tick={self._last_tick}, ticks={self._ticks})"
