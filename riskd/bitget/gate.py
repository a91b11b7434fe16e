"""The seam between the client and the rate budget.

Before every request the client awaits ``gate.acquire(endpoint, priority)``; after it, it
calls ``gate.release(endpoint, status_code, retry_after)`` (``status_code`` is ``None`` when
no answer came). The budget (``riskd.budget``) implements :class:`RequestGate`;
:class:`OpenGate` lets everything through (``riskd api``, tests of the client alone).

Priority travels in a context variable so that no endpoint method needs a parameter for it:
the executor wraps a protective action — and the re-poll that verifies it — in
``with request_priority(Priority.PROTECTIVE): ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum
from typing import Protocol

from riskd.bitget.endpoints import Endpoint


class Priority(IntEnum):
    """Higher goes first. ``PROTECTIVE`` may use the reserved share of the budget; ``URGENT``
    (reads of a scope near its margin call) and ``PROTECTIVE`` sit out only a short pause
    after an HTTP 429, not the whole exponential back-off."""

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


class RequestGate(Protocol):
    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        """Wait until ``endpoint`` may be called at ``priority``; may raise if it never can."""
        ...

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        """Report the outcome of the call (429 → back off)."""
        ...


class OpenGate:
    """A gate that never waits."""

    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        return None

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        return None
