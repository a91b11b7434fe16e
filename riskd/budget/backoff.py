"""429 back-off, pure: the state of one limit key after the exchange said "too many requests".

Each consecutive 429 doubles the pause (``base_s``, ``2 × base_s``, … up to ``cap_s``); a
``Retry-After`` longer than that is honoured (up to ``retry_after_cap_s``, so a broken header
cannot park the daemon for hours). A call admitted after the pause that gets any answer
but 429 resets the streak; the count of 429s only grows.

Urgent and protective calls (a scope near its margin call, a repay in a crash) sit out only
``urgent_pause_s`` after the last 429 (or a longer ``Retry-After``): waiting seconds for a
back-off to expire during a crash costs more than a few refused calls, and there are few of
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from riskd.durations import backoff_delay


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
    #: Pause of urgent and protective calls after a 429 (the exchange's windows are 1 s).
    urgent_pause_s: float = 0.5

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and self.factor >= 1 and self.cap_s >= self.base_s):
            raise ValueError(
                "backoff needs base_s > 0, factor >= 1 and cap_s >= base_s, got "
                f"base_s={self.base_s}, factor={self.factor}, cap_s={self.cap_s}"
            )
        if self.urgent_pause_s < 0:
            raise ValueError(f"urgent_pause_s must be >= 0, got {self.urgent_pause_s}")
        if self.retry_after_cap_s < 0:
            raise ValueError(f"retry_after_cap_s must be >= 0, got {self.retry_after_cap_s}")

    def delay(self, streak: int, retry_after: float | None) -> float:
        """Pause after the ``streak``-th consecutive 429 (1 for the first)."""
        exponential = backoff_delay(self.base_s, self.factor, streak, self.cap_s)
        if retry_after is None or not math.isfinite(retry_after) or retry_after <= 0:
            return exponential
        return max(exponential, min(retry_after, self.retry_after_cap_s))


@dataclass(frozen=True, slots=True)
class BackoffState:
    """Back-off of one limit key."""

    #: 429s since a call admitted after the pause was answered (answers of calls sent before
    #: it, or of urgent calls inside it, do not end the streak: the pause is still running).
    streak: int = 0
    #: No call on the key before this instant (POSIX seconds).
    until: float = 0.0
    #: Every 429 seen on the key.
    count: int = 0
    #: Urgent and protective calls wait until this instant (the short pause).
    urgent_until: float = 0.0

    def after_429(
        self, policy: BackoffPolicy, now: float, retry_after: float | None
    ) -> BackoffState:
        streak = self.streak + 1
        until = max(self.until, now + policy.delay(streak, retry_after))
        honoured = 0.0
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            honoured = min(retry_after, policy.retry_after_cap_s)
        urgent = max(self.urgent_until, now + max(policy.urgent_pause_s, honoured))
        return BackoffState(
            streak=streak, until=until, count=self.count + 1, urgent_until=min(urgent, until)
        )

    def after_answer(self, now: float) -> BackoffState:
        """A non-429 answer: ends the streak, unless it was a call sent before the pause."""
        if self.streak == 0 or now < self.until:
            return self
        return replace(self, streak=0)

    def pause_end(self, urgent: bool) -> float:
        """When calls of this kind may go again."""
        return self.urgent_until if urgent else self.until

    def remaining(self, now: float, urgent: bool = False) -> float:
        return max(0.0, self.pause_end(urgent) - now)

    def active(self, now: float, urgent: bool = False) -> bool:
        return now < self.pause_end(urgent)
