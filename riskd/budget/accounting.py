"""Pure rate-budget accounting: how a limit is shared, who may go, how often polls may run.

No I/O and no clock here: callers pass the numbers (and ``now`` where time matters).

- :func:`split` turns a documented limit into a :class:`Share`: the ``capacity`` the budget
  uses (the limit less the safety margin, because our clock and the exchange's windows are
  not aligned) and the part of it ``reserved`` for protective calls.
- :func:`admits` decides whether a call at a priority fits the window: protective calls may
  take any free slot of the capacity; polls only while the polls in the window are fewer
  than ``capacity - reserved`` (so protective calls never shrink the polls' share, and
  polls never touch the reserve).
- :class:`WaitQueue` orders the waiters of one limit key: protective before polls, then the
  scope nearest liquidation first, then first come first served.
- :func:`suggest_interval` / :func:`min_cycle_s` / :func:`headroom` give the poller its pace:
  how long a cycle of N calls must take to stay within the poll share.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskd.bitget.gate import Priority
from riskd.budget.limit_table import LimitKey, LimitRule

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Share:
    """How the budget uses one documented limit within one window."""

    #: The documented limit and window.
    limit: int
    window_s: int
    #: What the budget lets through per window (the limit less the safety margin).
    capacity: int
    #: Part of ``capacity`` only protective calls may use.
    reserved: int

    @property
    def poll_capacity(self) -> int:
        """Calls per window that polls may make."""
        return self.capacity - self.reserved

    @property
    def poll_rate_per_s(self) -> float:
        return self.poll_capacity / self.window_s


def split(limit: int, window_s: int, safety_margin: float, reserved_share: float) -> Share:
    """Share a documented limit: ``capacity`` = ⌊limit × (1 − margin)⌋ (at least 1),
    ``reserved`` = ⌈capacity × share⌉, leaving polls at least one call per window.

    >>> split(10, 1, 0.1, 0.3)
    Share(limit=10, window_s=1, capacity=9, reserved=3)
    """
    if limit < 1 or window_s < 1:
        raise ValueError(f"a limit needs limit >= 1 and window >= 1 s, got {limit}/{window_s}s")
    if not 0.0 <= safety_margin < 1.0:
        raise ValueError(f"safety_margin must be in [0, 1), got {safety_margin}")
    if not 0.0 <= reserved_share < 1.0:
        raise ValueError(f"reserved_share must be in [0, 1), got {reserved_share}")
    capacity = max(1, math.floor(limit * (1.0 - safety_margin) + _EPS))
    reserved = math.ceil(capacity * reserved_share - _EPS) if reserved_share > 0 else 0
    reserved = max(0, min(reserved, capacity - 1))
    return Share(limit, window_s, capacity, reserved)


def share_for(rule: LimitRule, safety_margin: float, reserved_share: float) -> Share:
    return split(rule.limit, rule.window_s, safety_margin, reserved_share)


def local_limit(limit: int, share: float) -> int:
    """``limit`` scaled to a node's ``share`` while the shared storage is down:
    ⌊limit × share⌋, at least 1 (a node always keeps one call per window).

    >>> local_limit(9, 1 / 3), local_limit(9, 0.5), local_limit(2, 0.25)
    (3, 4, 1)
    """
    return max(1, math.floor(limit * share + _EPS))


def scale_share(share: Share, factor: float) -> Share:
    """``share`` as one node counts it alone while the shared storage is down: the capacity
    and the polls' part each scaled by ``factor`` exactly as the fallback storage scales the
    limits it enforces (:func:`riskd.budget.fallback.local_limit`), the rest reserved.

    >>> scale_share(Share(10, 1, 9, 3), 1 / 3)
    Share(limit=10, window_s=1, capacity=3, reserved=1)
    """
    if factor >= 1.0:
        return share
    capacity = local_limit(share.capacity, factor)
    polls = min(local_limit(share.poll_capacity, factor), capacity)
    return Share(share.limit, share.window_s, capacity, capacity - polls)


def admits(used: int, used_by_polls: int, share: Share, priority: Priority) -> bool:
    """Whether one more call at ``priority`` fits a window holding ``used`` calls, of which
    ``used_by_polls`` were polls."""
    if used >= share.capacity:
        return False
    return priority >= Priority.PROTECTIVE or used_by_polls < share.poll_capacity


# --- waiting order -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Ticket:
    """A waiting request. Sorts protective first, then nearest liquidation (``near``: the
    scope's distance to it, inf when unknown), then by arrival (``seq``)."""

    rank: int
    near: float
    seq: int

    @classmethod
    def make(cls, priority: Priority, seq: int, near: float = math.inf) -> Ticket:
        return cls(-int(priority), near, seq)

    @property
    def priority(self) -> Priority:
        return Priority(-self.rank)


class WaitQueue:
    """The requests waiting on one limit key, in the order they may go."""

    def __init__(self) -> None:
        self._items: list[Ticket] = []

    def add(self, ticket: Ticket) -> None:
        bisect.insort(self._items, ticket)

    def remove(self, ticket: Ticket) -> None:
        i = bisect.bisect_left(self._items, ticket)
        if i < len(self._items) and self._items[i] == ticket:
            del self._items[i]

    def first(self) -> Ticket | None:
        return self._items[0] if self._items else None

    def is_first(self, ticket: Ticket) -> bool:
        """True when nobody who must go before ``ticket`` is waiting."""
        return bool(self._items) and self._items[0] == ticket

    def __len__(self) -> int:
        return len(self._items)


# --- poll pacing -------------------------------------------------------------------------


def cycle_load(calls: Iterable[tuple[LimitKey, int]]) -> dict[LimitKey, int]:
    """Sum calls per limit key (one cycle may hit one key from several endpoints/accounts)."""
    load: dict[LimitKey, int] = {}
    for key, n in calls:
        if n < 0:
            raise ValueError(f"calls per cycle for {key.label} must be >= 0, got {n}")
        load[key] = load.get(key, 0) + n
    return load


def min_cycle_s(load: Mapping[LimitKey, int], shares: Mapping[LimitKey, Share]) -> float:
    """Shortest cycle that keeps ``load`` (calls per cycle per key) within the poll shares."""
    longest = 0.0
    for key, n in load.items():
        if n == 0:
            continue
        share = shares[key]
        longest = max(longest, n * share.window_s / share.poll_capacity)
    return longest


def suggest_interval(
    base_interval: float, load: Mapping[LimitKey, int], shares: Mapping[LimitKey, Share]
) -> float:
    """``base_interval``, stretched when a cycle of ``load`` calls would exceed a poll share.

    50 isolated symbols polled with one risk-rate and one assets call each, against limits
    of 10/s with a 10 % margin and a 30 % reserve (6 poll calls per second): a cycle needs
    50 / 6 ≈ 8.33 s, so a base interval of 2 s becomes 8.33 s and one of 10 s stays 10 s.
    """
    if base_interval <= 0:
        raise ValueError(f"base_interval must be > 0, got {base_interval}")
    return max(base_interval, min_cycle_s(load, shares))


def headroom(used: int, used_by_polls: int, share: Share) -> float:
    """Free part of the poll share in a window holding ``used`` calls (``used_by_polls`` of
    them polls): 1 when polls could make all their calls, 0 when they can make none."""
    free = min(share.poll_capacity - used_by_polls, share.capacity - used)
    return max(0.0, min(1.0, free / share.poll_capacity))
