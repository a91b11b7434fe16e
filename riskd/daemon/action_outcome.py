"""Journaling what became of a protective call (:meth:`ActionRunner._settle
<riskd.daemon.actions.ActionRunner>`): the one place an executor's result reaches the journal.

- accepted and still running at the exchange (a flash repay, ``FOLLOWING``): a ``following``
  event; the intent stays open (``IN_PROGRESS``) and reconciliation follows it on the next
  cycles: nothing waits for it here;
- a final answer (succeeded, failed, dry-run): the intent is finished with it;
- no usable answer (``UNCERTAIN``: a timeout, a 5xx): an ``uncertain`` event, then the
  exchange is asked at once (reconciliation by id or ``clientOid``); the intent stays open
  (``OPEN``) when even that cannot tell.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from riskd.clock import Clock
from riskd.daemon.action_report import IN_PROGRESS, OPEN
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import CallRejected, CallUncertain
from riskd.daemon.executor import FOLLOWING, UNCERTAIN, ExecResult
from riskd.daemon.journal import PENDING, Intent, IntentRecord, Journal

log = logging.getLogger(__name__)

#: Settles one open intent with the exchange; its final status, or ``pending``.
ReconcileOne = Callable[[IntentRecord], Awaitable[str]]


async def journal_outcome(
    journal: Journal, reconcile: ReconcileOne, intent: Intent, result: ExecResult, clock: Clock
) -> str:
    """Journal ``result`` for ``intent``; reconcile an uncertain one at once. Returns the
    status the runner reports (final, ``IN_PROGRESS`` or ``OPEN``)."""
    now = clock.now()
    if result.status == FOLLOWING:
        # Accepted, id journaled; the exchange finishes it seconds later. The intent stays
        # open: the next cycles ask for its status (reconciliation); until it is known the
        # scope takes no other flash repay (other actions may go ahead: they cannot repeat
        # it). Nothing here waits for it.
        await journal.record(
            EventKind.FOLLOWING,
            f"{intent.kind}: {result.detail}",
            at=now,
            account=intent.account,
            scope=intent.scope,
            rule=intent.rule,
            intent_id=intent.intent_id,
            data={"ref": result.ref},
        )
        return IN_PROGRESS
    if result.status != UNCERTAIN:
        await journal.finish_intent(
            intent.intent_id,
            result.status,
            at=now,
            summary=result.detail,
            outcome={"detail": result.detail, "code": result.code, **result.data},
            ref=result.ref,
        )
        return result.status
    await journal.record(
        EventKind.UNCERTAIN,
        f"{intent.kind}: {result.detail}; checking the exchange",
        at=now,
        account=intent.account,
        scope=intent.scope,
        rule=intent.rule,
        intent_id=intent.intent_id,
    )
    record = await journal.intent(intent.intent_id)
    if record is None:  # pragma: no cover - written just above
        return PENDING
    try:
        status = await reconcile(record)
    except (CallRejected, CallUncertain) as exc:
        log.warning("cannot reconcile %s yet (%s); it stays open", intent.intent_id, exc)
        return OPEN
    return OPEN if status == PENDING else status


__all__ = ["ReconcileOne", "journal_outcome"]
