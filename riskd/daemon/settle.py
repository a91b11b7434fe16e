"""Settling the rules engine's outstanding actions against the journal (pure).

The rule state (which action each firing rule × scope waits for) and the journal (the
intents and their outcomes) are written one after the other, so a crash between two writes
can leave them disagreeing. :func:`settle_outstanding` brings them back into agreement; the
daemon calls it at start and at the start of every cycle, when no action is in flight:

=============================================  ======================================
the journal says about the awaited action       the rule × scope
=============================================  ======================================
no intent at all (crashed before the intent,    ``WITHDRAWN``: forgotten; the rule
or the action was never run)                    decides the step again on fresh data
last intent ``not_executed``                    ``WITHDRAWN`` (the exchange never saw it)
last intent final (succeeded, failed, ...)      ``APPLIED``: the outcome reaches the rule
last intent still open (``pending``,            ``WAITING`` for reconciliation, or,
``accepted``)                                   past the action's timeout, ``RELEASED``
=============================================  ======================================

A released rule × scope is told its action failed, so that it can act again; the open
intent itself stays open, and the scope takes no new action until reconciliation settles it
with the exchange (nothing is ever sent twice). A release is alerted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from riskd.daemon.journal import NOT_EXECUTED, OPEN_STATUSES, SUCCEEDED, IntentRecord
from riskd.rules.state import EngineState, Key, Outstanding, record_outcome, withdraw


class Verdict(StrEnum):
    """What settling did to one outstanding action."""

    #: An intent is still open: reconciliation with the exchange will tell.
    WAITING = "waiting"
    #: The journal holds the outcome: the rule was told.
    APPLIED = "applied"
    #: Never sent: forgotten, the rule decides the step again on fresh data.
    WITHDRAWN = "withdrawn"
    #: Waited past the action's timeout: the rule is released (told it failed).
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Settlement:
    """One outstanding action and what settling did with it."""

    key: Key
    action_id: str
    kind: str
    verdict: Verdict
    detail: str
    intent_id: str | None
    waited_s: float


def settle_outstanding(
    state: EngineState,
    intents: Iterable[IntentRecord],
    *,
    now: float,
    timeout: Callable[[str], float],
) -> tuple[EngineState, tuple[Settlement, ...]]:
    """``state`` with every outstanding action settled against ``intents`` (the journal's
    intents of the actions awaited), and what was done, one :class:`Settlement` each.

    ``timeout(kind)``: seconds an action of that kind may stay open before its rule × scope
    is released. Waiting actions within their timeout are reported but left unchanged.
    """
    by_action: dict[tuple[str, str], list[IntentRecord]] = {}
    for record in intents:
        by_action.setdefault((record.intent.account, record.intent.action_id), []).append(record)
    done: list[Settlement] = []
    for key, out in state.outstanding():
        recs = sorted(by_action.get((key[0], out.action_id), ()), key=lambda r: r.intent.at)
        waited = max(0.0, now - out.issued_at)
        state, verdict, detail, last = _settle_one(
            state, out, recs[-1] if recs else None, waited, timeout(out.kind), now
        )
        intent_id = None if last is None else last.intent.intent_id
        done.append(Settlement(key, out.action_id, out.kind, verdict, detail, intent_id, waited))
    return state, tuple(done)


def _settle_one(
    state: EngineState,
    out: Outstanding,
    last: IntentRecord | None,
    waited: float,
    limit: float,
    now: float,
) -> tuple[EngineState, Verdict, str, IntentRecord | None]:
    """One outstanding action against its latest intent (``None``: it has none)."""
    if last is None:
        return withdraw(state, out.action_id), Verdict.WITHDRAWN, "never sent: no intent", None
    if last.status in OPEN_STATUSES:
        if waited <= limit:
            return state, Verdict.WAITING, f"intent {last.status}: reconciliation will tell", last
        detail = (
            f"no outcome after {waited:.0f}s (timeout {limit:g}s); the intent stays open and"
            " the scope takes no new action until the exchange confirms it"
        )
        return record_outcome(state, out.action_id, False, now), Verdict.RELEASED, detail, last
    if last.status == NOT_EXECUTED:
        detail = "not executed at the exchange: decided again"
        return withdraw(state, out.action_id), Verdict.WITHDRAWN, detail, last
    succeeded = last.status == SUCCEEDED
    detail = f"outcome already journaled: {last.status}"
    return record_outcome(state, out.action_id, succeeded, now), Verdict.APPLIED, detail, last


__all__ = ["Settlement", "Verdict", "settle_outstanding"]
