"""Per-chat rate limit: at most ``limit`` commands in any ``window`` seconds.

A chat over the limit is told once ("too many commands") and then ignored until its
window has room again; the next accepted command re-arms the notice.
"""

from __future__ import annotations

from collections import deque
from enum import Enum


class Verdict(Enum):
    """What to do with one incoming command."""

    ALLOW = "allow"
    #: Over the limit: answer once with a short notice.
    NOTIFY = "notify"
    #: Over the limit, already told: say nothing.
    DROP = "drop"


class FloodGuard:
    """Sliding-window counts per chat."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[int, deque[float]] = {}
        self._told: set[int] = set()

    def check(self, chat_id: int, now: float) -> Verdict:
        """Count one command from ``chat_id`` at ``now`` (refused ones are not counted)."""
        seen = self._seen.setdefault(chat_id, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            self._told.discard(chat_id)
            return Verdict.ALLOW
        if chat_id in self._told:
            return Verdict.DROP
        self._told.add(chat_id)
        return Verdict.NOTIFY

    def retry_after(self, chat_id: int, now: float) -> float:
        """Seconds until ``chat_id`` may send again."""
        seen = self._seen.get(chat_id)
        if not seen or len(seen) < self.limit:
            return 0.0
        return max(0.0, seen[0] + self.window - now)


__all__ = ["FloodGuard", "Verdict"]
