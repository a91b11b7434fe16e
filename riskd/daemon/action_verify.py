"""What a protective call changed: the scope read again, or a confirmed repayment applied
(:class:`Verifier`, mixed into :class:`riskd.daemon.actions.ActionRunner`).

After each call the runner needs the scope as it is now: to tell the journal (``verified``,
``riskRate before → after``) and the rules engine what the step did, and to size the next leg
on. Usually the scope is read again (``repoll``, at PROTECTIVE). A repayment the exchange
confirmed is the exception: its answer says what was repaid and what is still owed, and
nothing else in the scope changes with it. :func:`riskd.risk.estimate.after_repay` applies it
to the snapshot the repay was sized on, valued at the feed's latest prices as a poll's answer
is, and the poller keeps that (``keep``) unless a read landed meanwhile. The step after it
goes one call's latency sooner; it reads the scope again itself, and the scope's next poll is
due at once. Anything else (another kind, an answer that does not fit the snapshot, a
Unified Trading Account) is read again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

from riskd.clock import Clock
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import ExchangeError
from riskd.daemon.executor import ExecResult
from riskd.daemon.journal import SUCCEEDED, Journal
from riskd.daemon.plans import ActionPlan
from riskd.risk.estimate import after_repay
from riskd.risk.snapshot import ScopeSnapshot

log = logging.getLogger(__name__)

#: How the journal's ``verified`` event names a repay applied from its answer.
APPLIED = "from the exchange's answer, at the latest prices"

Repoll = Callable[[str], Awaitable[ScopeSnapshot | None]]
#: Keeps a snapshot with a known change applied in place of the one it was made from (the
#: poller's :meth:`~riskd.daemon.poller.AccountPoller.keep_applied`); None: a read came first.
Keep = Callable[[ScopeSnapshot, ScopeSnapshot], ScopeSnapshot | None]


class Verifier:
    """The scope after a call; the runner provides the state."""

    account: str
    keep: Keep | None
    _clock: Clock
    _journal: Journal
    _repoll: Repoll
    _prices: Callable[[], Mapping[str, Decimal]]

    async def _after_call(
        self, plan: ActionPlan, snap: ScopeSnapshot, result: ExecResult, status: str
    ) -> tuple[ScopeSnapshot | None, bool]:
        """The scope after ``plan``'s call, and whether it was read (False: applied)."""
        applied = self._applied(plan, snap, result, status)
        if applied is not None:
            return applied, False
        return await self._verify(plan.scope), True

    def _applied(
        self, plan: ActionPlan, snap: ScopeSnapshot, result: ExecResult, status: str
    ) -> ScopeSnapshot | None:
        """A repayment the exchange confirmed, applied to ``snap`` (what it was sized on) and
        kept as the scope's snapshot; None: the scope is to be read."""
        if self.keep is None or plan.kind != "repay" or status != SUCCEEDED:
            return None
        if plan.coin is None or plan.amount is None or snap.kind == "uta":
            return None
        remain = result.data.get("remain_debt")
        try:
            owed = Decimal(remain) if remain is not None else None
        except ArithmeticError:
            owed = None
        now, prices = self._clock.now(), self._prices()
        after = after_repay(snap, plan.coin, plan.amount, owed, prices, at=now)
        return None if after is None else self.keep(snap, after)

    async def _verify(self, scope: str) -> ScopeSnapshot | None:
        try:
            return await self._repoll(scope)
        except ExchangeError as exc:
            log.warning("re-poll of %s/%s after an action failed: %s", self.account, scope, exc)
            return None

    async def _journal_verified(
        self,
        plan: ActionPlan,
        rule: str,
        description: str,
        before: Decimal,
        after: Decimal,
        status: str,
        *,
        read: bool,
    ) -> None:
        # Applied at the latest prices: in a falling market the rate after a repay can read
        # higher than the one it was decided on, which was valued at its read's prices.
        how = "" if read else f" ({APPLIED}; read again after)"
        await self._journal.record(
            EventKind.VERIFIED,
            f"riskRate {before} → {after} after {description}{how}",
            at=self._clock.now(),
            account=self.account,
            scope=plan.scope,
            rule=rule,
            intent_id=plan.intent_id,
            data={"before": before, "after": after, "status": status, "read": read},
        )
