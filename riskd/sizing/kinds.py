"""The kinds of action and the one way of saying "nothing to send, and why"."""

from __future__ import annotations

from enum import StrEnum


class ActionKind(StrEnum):
    """A rule step's kind; every kind but ``notify`` is a protective exchange call."""

    NOTIFY = "notify"
    REPAY = "repay"
    FLASH_REPAY = "flashRepay"
    CANCEL_ORDERS = "cancelOrders"
    REDUCE = "reduce"


PROTECTIVE_KINDS: tuple[ActionKind, ...] = (
    ActionKind.REPAY,
    ActionKind.FLASH_REPAY,
    ActionKind.CANCEL_ORDERS,
    ActionKind.REDUCE,
)


class Skip(Exception):
    """Nothing to send for this step right now; ``reason`` says why (reported, not an error).

    Raised by the rules engine's sizing and returned by :func:`riskd.daemon.plans.plan_action`.
    """

    def __init__(self, reason: str, *, met: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Nothing to do because the step's targets are already met (not a shortfall).
        self.met = met

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Skip) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(self.reason)

    def __repr__(self) -> str:
        return f"Skip(reason={self.reason!r})"
