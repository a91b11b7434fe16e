"""429 back-off, pure: the state of one limit key after the exchange said "too many requests".

Each consecutive 429 doubles the pause (``base_s``, ``2 × base_s``, … up to ``cap_s``); a
``Retry-After`` longer than that is honoured (up to ``retry_after_cap_s``, so a broken header
cannot park the daemon for hours). A call admitted after the pause that gets any answer
but 429 resets the streak; the count of 429s only grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to pause a limit key after a 429."""

    base_s: float = 1.0
    factor: float = 2.0
    #: Short on purpose: the exchange's windows are one second long, and a long pause during
    #: a crash blinds the daemon exactly when it must act.
    cap_s: float = 4.0
    #: Longest Retry-After honoured.
    retry_after_cap_s: float = 300.0

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and self.factor >= 1 and self.cap_s >= self.base_s):
            raise ValueError(
                "backoff needs base_s > 0, factor >= 1 and cap_s >= base_s, got "
                f"base_s={self.base_s}, factor={self.factor}, cap_s={self.cap_s}"
            )
        if self.retry_after_cap_s < 0:
            raise ValueError(f"retry_after_cap_s must be >= 0, got {self.retry_after_cap_s}")

    def delay(self, streak: int, retry_after: float | None) -> float:
        """Pause after the ``streak``-th consecutive 429 (1 for the first)."""
        exponential = min(self.cap_s, self.base_s * self.factor ** max(0, streak - 1))
        if retry_after is None or not math.isfinite(retry_after) or retry_after <= 0:
            return exponential
        return max(exponential, min(retry_after, self.retry_after_cap_s))


@dataclass(frozen=True, slots=True)
class BackoffState:
    """Back-off of one limit key."""

    #: Consecutive 429s without a good answer in between.
    streak: int = 0
    #: No call on the key before this instant (POSIX seconds).
    until: float = 0.0
    #: Every 429 seen on the key.
    count: int = 0

    def after_429(
        self, policy: BackoffPolicy, now: float, retry_after: float | None
    ) -> BackoffState:
        streak = self.streak + 1
        until = max(self.until, now + policy.delay(streak, retry_after))
        return BackoffState(streak=streak, until=until, count=self.count + 1)

    def after_answer(self, now: float) -> BackoffState:
        """A non-429 answer: ends the streak, unless it was a call sent before the pause."""
        if self.streak == 0 or now < self.until:
            return self
        return replace(self, streak=0)

    def remaining(self, now: float) -> float:
        return max(0.0, self.until - now)

    def active(self, now: float) -> bool:
        return now < self.until
