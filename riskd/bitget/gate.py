"""The seam between the client and the rate budget.

Before every request the client awaits ``gate.acquire(endpoint, priority)``; after it, it
calls ``gate.release(endpoint, status_code, retry_after)`` (``status_code`` is ``None`` when
no answer came). The budget (``riskd.budget``) implements :class:`RequestGate`;
:class:`OpenGate` lets everything through (``riskd api``, tests of the client alone).

Priority travels in a context variable so that no endpoint method needs a parameter for it:
the executor wraps a protective action — and the re-poll that verifies it — in
``with request_priority(Priority.PROTECTIVE): ...``.

Two more context values ride along the same way:

- ``request_nearness(d)``: how far the scope a request serves is from liquidation (a price
  move, 0 = at liquidation). Among waiters of one priority the budget lets the nearest go
  first, so when the order limit is the bottleneck the scope closest to liquidation gets the
  next slot.
- ``slot_hold()``: a slot taken ahead of a call. :class:`SlotGate` ``reserve`` waits for a
  slot of a (mutating) endpoint and keeps it in the hold; the next call of that endpoint in
  the same context passes the gate without waiting again. The runner reserves first, then
  sizes the order on the freshest data, so an order never goes out at a price from before
  its wait. A slot not used is simply lost (counted, never sent: the safe side); one used
  late (the budget's ``RESERVED_FOR_S``) is dropped and the call waits for its own, so the
  budget's count never runs ahead of the exchange's by more than that.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum
from typing import Protocol, runtime_checkable

from riskd.bitget.endpoints import Endpoint


class Priority(IntEnum):
    """Higher goes first. ``PROTECTIVE`` may use the reserved share of the budget; ``URGENT``
    (reads of a scope near its margin call) and ``PROTECTIVE`` sit out only a short pause
    after an HTTP 429, not the whole exponential back-off; ``POLL`` (the default: commands,
    reference data, candle downloads) waits it out. The daemon's own scheduled reads go at
    ``SCHEDULED`` (scopes that owe) or ``IDLE`` (scopes that owe nothing, last in line) and
    are refused at once during a back-off: a read with nothing urgent to tell never holds up
    the cycle that waits for it."""

    IDLE = -2
    SCHEDULED = -1
    POLL = 0
    URGENT = 1
    PROTECTIVE = 2


_priority: ContextVar[Priority] = ContextVar("riskd_request_priority", default=Priority.POLL)


def current_priority() -> Priority:
    return _priority.get()


@contextmanager
def request_priority(priority: Priority) -> Iterator[None]:
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


_nearness: ContextVar[float] = ContextVar("riskd_request_nearness", default=math.inf)


def current_nearness() -> float:
    """Distance to liquidation of the scope the current request serves (inf: unknown)."""
    return _nearness.get()


@contextmanager
def request_nearness(distance: float) -> Iterator[None]:
    """Requests made inside go before same-priority ones of scopes farther from liquidation."""
    token = _nearness.set(distance)
    try:
        yield
    finally:
        _nearness.reset(token)


class SlotHold:
    """Slots reserved ahead of their call (see the module docstring): endpoint key → when."""

    def __init__(self) -> None:
        self._slots: list[tuple[str, float]] = []

    def put(self, key: str, at: float = 0.0) -> None:
        self._slots.append((key, at))

    def take(self, key: str, now: float = 0.0, max_age: float = math.inf) -> bool:
        """Use the oldest reserved slot of ``key``: True when one was held and is at most
        ``max_age`` old (an older one is dropped: the call then takes a slot of its own)."""
        for i, (k, at) in enumerate(self._slots):
            if k == key:
                del self._slots[i]
                return now - at <= max_age
        return False

    def __len__(self) -> int:
        return len(self._slots)


_hold: ContextVar[SlotHold | None] = ContextVar("riskd_slot_hold", default=None)


def current_hold() -> SlotHold | None:
    return _hold.get()


@contextmanager
def slot_hold() -> Iterator[SlotHold]:
    """A fresh hold for the calls made inside; slots left in it at the end are dropped."""
    hold = SlotHold()
    token = _hold.set(hold)
    try:
        yield hold
    finally:
        _hold.reset(token)


class RequestGate(Protocol):
    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        """Wait until ``endpoint`` may be called at ``priority``; may raise if it never can."""
        ...

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        """Report the outcome of the call (429 → back off)."""
        ...


@runtime_checkable
class SlotGate(Protocol):
    async def reserve(self, endpoint: Endpoint, priority: Priority) -> None:
        """Wait for a slot of ``endpoint`` now and keep it in the current :func:`slot_hold`
        for the call that follows (a RuntimeError outside one)."""
        ...


class OpenGate:
    """A gate that never waits."""

    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        hold = current_hold()
        if hold is not None:
            hold.take(endpoint.key)
        return None

    async def reserve(self, endpoint: Endpoint, priority: Priority) -> None:
        hold = current_hold()
        if hold is None:
            raise RuntimeError("reserve() needs a slot_hold()")
        hold.put(endpoint.key)

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        return None
