"""Running one protective action: the same steps in live and dry-run.

For every action the rules engine decides (``repay``, ``flashRepay``, ``cancelOrders``,
``reduce``) :meth:`ActionRunner.run`:

1. refuses it when actions are paused, when the scope's data is stale, or while an earlier
   intent on the scope has no known outcome (it must be reconciled first) — except that a
   flash repay the exchange accepted and is still finishing holds back only another flash
   repay, not the other kinds of action;
2. takes the call's slot in the rate budget (:class:`~riskd.daemon.order_slots.OrderSlots`,
   nearest liquidation first), then resolves amounts on the freshest data
   (:func:`riskd.daemon.plans.plan_action`: an order that waited its turn is sized after the
   wait, never before) and applies the caps *before* any call — a blocked action is
   journaled as ``blocked``;
3. journals the intent (a unique id) durably, then lets the executor act — at
   :data:`Priority.PROTECTIVE` — journaling the exchange's id the moment it is known;
4. journals the outcome; an uncertain answer (timeout, 5xx) is reconciled against the
   exchange at once and stays open if even that cannot tell; an accepted flash repay stays
   open (``IN_PROGRESS``) and is followed to ``FINISH`` by reconciliation on the next cycles;
5. re-polls the scope at once (still PROTECTIVE) and records whether the risk rate improved —
   except after a repayment the exchange confirmed: its answer says what changed, so it is
   applied to the snapshot the repay was sized on (:func:`riskd.risk.estimate.after_repay`)
   and the next step goes at once, one call's latency sooner; the step after it, or the
   scope's next poll (due at once), reads the scope again;
6. a step with a target (``target_risk_rate`` / ``target_distance``) goes on leg after leg —
   an order split at a limit, the next coin, a funding sale before a buy-back — each leg its
   own intent sized on the re-polled scope, while the re-poll shows the leg before done.

The :class:`ActionReport` goes back to the rules engine (``record_outcome``) and to the
notifier.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal

from riskd.bitget.gate import Priority, request_nearness, request_priority, slot_hold
from riskd.clock import Clock
from riskd.daemon.action_legs import LegRunner, new_run
from riskd.daemon.action_outcome import ReconcileOne, journal_outcome
from riskd.daemon.action_report import (
    AWAITING,
    BLOCKED,
    IN_PROGRESS,
    OPEN,
    PAUSED,
    SKIPPED,
    STALE,
    UNSETTLED,
    ActionReport,
    ActionRequestLike,
)
from riskd.daemon.action_verify import Keep, Repoll, Verifier
from riskd.daemon.caps import DAY_S, apply_caps
from riskd.daemon.events import EventKind
from riskd.daemon.executor import ExecResult, Executor
from riskd.daemon.journal import (
    ACCEPTED,
    FAILED,
    NOT_EXECUTED,
    Intent,
    IntentRecord,
    Journal,
)
from riskd.daemon.journal_space import JournalFull
from riskd.daemon.journal_types import Fenced, JournalUnavailable
from riskd.daemon.order_slots import OrderSlots, nearness
from riskd.daemon.plans import ActionPlan, plan_action
from riskd.daemon.repeats import RepeatFilter
from riskd.ops.logging import log_for
from riskd.risk.snapshot import ScopeSnapshot
from riskd.settings import CapsSettings
from riskd.sizing import Skip

log = logging.getLogger(__name__)

PriceGetter = Callable[[], Mapping[str, Decimal]]
Latest = Callable[[str], ScopeSnapshot | None]


class ActionRunner(LegRunner, Verifier):
    """Runs protective actions for one account."""

    def __init__(
        self,
        *,
        account: str,
        executor: Executor,
        journal: Journal,
        clock: Clock,
        caps: CapsSettings,
        stale_after: float,
        repoll: Repoll,
        reconcile: ReconcileOne,
        prices: PriceGetter,
        retry_for: float = 2.0,
        retry_wait: float = 0.5,
        slots: OrderSlots | None = None,
        latest: Latest | None = None,
        owns: Callable[[], bool] | None = None,
        batch_orders: bool = False,
        keep: Keep | None = None,
    ) -> None:
        self.account = account
        #: Where a confirmed repayment's effect goes instead of a re-poll (None: re-polled).
        self.keep = keep
        #: The exchange takes batch orders: a reduce over maxTradeAmount is one call.
        self.batch_orders = batch_orders
        #: Whether this node still owns the account (a cluster's lease, by this node's own
        #: monotonic deadline): asked once more after the intent is written, just before the
        #: call leaves. None: a single node, always.
        self.owns = owns
        #: Takes a call's rate-budget slot before the call is sized (None: the call waits
        #: for it itself, sized before its wait).
        self.slots = slots
        #: The scope's latest snapshot (the poller's), to size on after a wait.
        self.latest = latest
        self._retry_for = retry_for
        self._retry_wait = retry_wait
        self.executor = executor
        self._journal = journal
        self._clock = clock
        self._caps = caps
        self._stale_after = stale_after
        self._repoll = repoll
        self._reconcile = reconcile
        self._prices = prices
        #: A skip repeated every cycle is journaled once, then every 10 minutes with a count.
        self._repeats = RepeatFilter()

    @property
    def dry_run(self) -> bool:
        return self.executor.dry_run

    def reconfigure(self, *, caps: CapsSettings, stale_after: float) -> None:
        """New caps and stale limit after a reload."""
        self._caps = caps
        self._stale_after = stale_after

    def _report(
        self, req: ActionRequestLike, status: str, detail: str, **kw: object
    ) -> ActionReport:
        return ActionReport(
            action_id=req.id,
            kind=req.kind,
            account=self.account,
            scope=req.scope,
            rule=req.rule,
            status=status,
            detail=detail,
            dry_run=self.dry_run,
            **kw,  # type: ignore[arg-type]
        )

    async def _refuse(
        self,
        req: ActionRequestLike,
        status: str,
        detail: str,
        *,
        kind: str | None = None,
        **kw: object,
    ) -> ActionReport:
        now = self._clock.now()
        if status == SKIPPED:
            quiet = self._repeats.admit((req.scope, req.rule, req.kind), now)
            if quiet is None:
                log_for(account=self.account, scope=req.scope, rule=req.rule).debug(
                    "action not sent (again)", action=req.kind, status=status, detail=detail
                )
                return self._report(req, status, detail, quiet=True, **kw)
            if quiet:
                detail = f"{detail} (the same skip {quiet} more times since the last line)"
        # An outage of the journal's database is said once by the daemon; the log line
        # below says this refusal.
        with contextlib.suppress(JournalUnavailable):
            await self._journal.record(
                kind or status,
                f"{req.kind} not sent: {detail}",
                at=now,
                account=self.account,
                scope=req.scope,
                rule=req.rule,
                data={"action_id": req.id, "kind": req.kind, "params": dict(req.params)},
            )
        log_for(account=self.account, scope=req.scope, rule=req.rule).warning(
            "action not sent", action=req.kind, status=status, detail=detail
        )
        return self._report(req, status, detail, **kw)

    async def run(
        self, req: ActionRequestLike, snap: ScopeSnapshot | None, *, paused: bool
    ) -> ActionReport:
        now = self._clock.now()
        new_run()  # this step's legs state, in this task's context (scopes run side by side)
        if paused:
            return await self._refuse(req, PAUSED, "actions are paused (riskd resume)")
        if snap is None:
            return await self._refuse(req, STALE, "no data for this scope")
        age = snap.age(now)
        if age > self._stale_after:
            return await self._refuse(
                req, STALE, f"data is {age:.0f}s old (stale_after {self._stale_after:g}s)"
            )
        open_here = [
            r
            for r in await self._journal.open_intents()
            if r.intent.account == self.account
            and r.intent.scope == req.scope
            and not _settling_flash(r, req.kind)
        ]
        if open_here:
            return await self._refuse(
                req,
                AWAITING,
                f"intent {open_here[0].intent.intent_id} has no known outcome yet",
            )
        with slot_hold():
            try:
                sized = await self._plan_fresh(req, snap)
            except ValueError as exc:
                return await self._refuse(req, SKIPPED, str(exc))
            if sized is None:
                return await self._refuse(
                    req, STALE, "data went stale while the call waited for its turn"
                )
            planned, snap, prices = sized
            if isinstance(planned, Skip):
                return await self._refuse(req, SKIPPED, planned.reason)
            self._run_spent = Decimal(0)
            self._repeats.forget((req.scope, req.rule, req.kind))
            report = await self._execute(req, planned, snap, prices)
        attempt = 1
        give_up_at = self._clock.now() + self._retry_for
        # A call that was definitely not executed for a passing reason (429, maintenance,
        # a 5xx before execution, confirmed by reconciliation) is tried again every
        # ``retry_wait`` for up to ``retry_for`` seconds after its answer — not after the
        # decision: a call that waited its turn in the order budget, or was answered after
        # seconds of latency, still gets its retries — each time with a new intent,
        # re-planned on the newest snapshot and prices, still under the caps. Never blind:
        # an intent whose outcome is unknown holds the scope instead.
        while report.retryable and self._clock.now() + self._retry_wait < give_up_at:
            attempt += 1
            await self._clock.sleep(self._retry_wait)
            # A refused call changed nothing: the retry is sized on the scope's newest
            # snapshot (a poll made meanwhile) and the latest prices, with no read of its own
            # — in a 429 storm that read is refused as often as the call, and each refusal
            # costs a pause (a snapshot gone stale is still read again by _plan_fresh).
            snap = self._newest(req.scope, snap)
            with slot_hold():
                try:
                    again = await self._plan_fresh(req, snap)
                except ValueError:
                    break
                if again is None or isinstance(again[0], Skip):
                    break
                replanned, snap, prices = again[0], again[1], again[2]
                log_for(account=self.account, scope=req.scope, rule=req.rule).warning(
                    "action failed for a passing reason; trying again",
                    action=req.kind,
                    detail=report.detail,
                    attempt=attempt,
                )
                report = await self._execute(req, replanned, snap, prices)
            planned = replanned
        return await self._more_legs(req, planned, snap, report)

    async def _plan_fresh(
        self,
        req: ActionRequestLike,
        snap: ScopeSnapshot,
        wanted: Callable[[ActionPlan], bool] = lambda plan: True,
    ) -> tuple[ActionPlan | Skip, ScopeSnapshot, Mapping[str, Decimal]] | None:
        """The plan of ``req`` on ``snap`` (a new intent id); when it makes a call, that call's
        rate-budget slot is taken first (inside the caller's :func:`slot_hold`, at the
        scope's nearness to liquidation) and the plan made again on the freshest data after
        the wait: the scope's latest snapshot, re-polled if it went stale meanwhile, and the
        latest prices. A plan that is not ``wanted`` is returned as is, with no slot taken.
        None: still stale. Raises ValueError as ``plan_action`` does."""
        prices = self._prices()
        plan = self._plan(req, snap, prices)
        if isinstance(plan, Skip) or not wanted(plan) or self.slots is None or self.dry_run:
            return plan, snap, prices
        with request_priority(Priority.PROTECTIVE), request_nearness(nearness(snap)):
            waited = await self.slots.reserve(req.kind, req.scope)
            if waited:
                snap = self._newest(req.scope, snap)
            if snap.age(self._clock.now()) > self._stale_after:
                fresh = await self._verify(req.scope)
                snap = fresh if fresh is not None else snap
        if snap.age(self._clock.now()) > self._stale_after:
            return None
        prices = self._prices()
        plan = self._plan(req, snap, prices)
        return plan, snap, prices

    def _newest(self, scope: str, snap: ScopeSnapshot) -> ScopeSnapshot:
        """``snap``, or the poller's snapshot of ``scope`` when that one is newer."""
        latest = self.latest(scope) if self.latest is not None else None
        return latest if latest is not None and latest.observed_at > snap.observed_at else snap

    def _plan(
        self, req: ActionRequestLike, snap: ScopeSnapshot, prices: Mapping[str, Decimal]
    ) -> ActionPlan | Skip:
        all_prices, batch = {**snap.prices_usdt, **prices}, self.batch_orders
        return plan_action(req.kind, req.params, snap, all_prices, uuid.uuid4().hex, batch=batch)

    async def _execute(
        self,
        req: ActionRequestLike,
        plan: ActionPlan,
        snap: ScopeSnapshot,
        prices: Mapping[str, Decimal],
    ) -> ActionReport:
        now = self._clock.now()
        all_prices = {**snap.prices_usdt, **prices}
        value: Decimal | None = None
        self._limited = plan.limited
        if plan.legs:
            spent_usdt, spent_coins = await self._journal.spent(self.account, now - DAY_S)
            decision = apply_caps(
                self._caps,
                plan.legs,
                all_prices,
                spent_usdt=spent_usdt,
                spent_coins=spent_coins,
                adjustable=plan.adjustable,
                run_spent_usdt=self._run_spent,
            )
            if decision.blocked is not None:
                return await self._refuse(
                    req,
                    BLOCKED,
                    f"{plan.describe()}: {decision.blocked}",
                    description=plan.describe(),
                )
            if decision.capped is not None:
                plan = plan.with_legs(decision.legs)
                await self._note_cap(req, plan, f"reduced to fit {decision.capped}", now)
            value = decision.value_usdt
            self._limited = plan.limited or decision.capped is not None
        if plan.note:
            await self._note_cap(req, plan, plan.note, now)
        if value is not None:
            self._run_spent += value
        description = plan.describe()
        intent = Intent(
            intent_id=plan.intent_id,
            at=now,
            account=self.account,
            scope=plan.scope,
            kind=plan.kind,
            rule=req.rule,
            action_id=req.id,
            params=plan.params(),
            coin=plan.coin if plan.adjustable else None,
            amount=plan.amount if plan.adjustable else None,
            value_usdt=value,
            dry_run=self.dry_run,
        )
        prefix = "DRY-RUN: would " if self.dry_run else ""
        refused = await self._write_intent(req, intent, prefix + description, description)
        if refused is not None:
            return refused
        decision_log = log_for(account=self.account, scope=plan.scope, rule=req.rule)
        decision_log.info(
            "sending" if not self.dry_run else "dry-run",
            action=description,
            intent=plan.intent_id,
            dry_run=self.dry_run,
        )

        async def accepted(ref: str, summary: str) -> None:
            await self._journal.mark_accepted(
                plan.intent_id, ref, at=self._clock.now(), summary=summary
            )

        # Each leg's call waits its turn at its own scope's current nearness to liquidation.
        with request_priority(Priority.PROTECTIVE), request_nearness(nearness(snap)):
            result = await self.executor.execute(plan, accepted)
            status = await self._settle(intent, result)
            retryable = result.transient and status in (FAILED, NOT_EXECUTED)
            # Nothing was sent in dry-run: a re-poll would show a change riskd did not cause.
            after, read = None, True
            if not (retryable or self.dry_run):
                after, read = await self._after_call(plan, snap, result, status)
            self._after = after
        before = snap.risk_rate
        risk_after = after.risk_rate if after is not None else None
        decision_log.info(
            "action outcome",
            action=description,
            status=status,
            detail=result.detail,
            risk_before=str(before),
            risk_after=None if risk_after is None else str(risk_after),
        )
        if after is not None and risk_after is not None:
            await self._journal_verified(
                plan, req.rule, description, before, risk_after, status, read=read
            )
        return self._report(
            req,
            status,
            result.detail,
            description=description,
            intent_id=plan.intent_id,
            risk_before=before,
            risk_after=risk_after,
            retryable=retryable,
        )

    async def _note_cap(
        self, req: ActionRequestLike, plan: ActionPlan, cap: str, at: float
    ) -> None:
        """A cap (or the plan's own limit) changed the amount: journaled as ``capped``."""
        await self._journal.record(
            EventKind.CAPPED,
            f"{plan.describe()} ({cap})",
            at=at,
            account=self.account,
            scope=plan.scope,
            rule=req.rule,
            data={"action_id": req.id, "cap": cap.removeprefix("reduced to fit ")},
        )

    async def _write_intent(
        self, req: ActionRequestLike, intent: Intent, summary: str, description: str
    ) -> ActionReport | None:
        """Journal the intent before any call (fenced by this node's lease in a cluster);
        None when the call may leave, otherwise the refusal."""
        kind: str | None = None
        try:
            await self._journal.begin_intent(intent, summary)
        except JournalFull as exc:
            # Never an action without its intent on disk: after a crash it could be sent
            # twice. The full disk itself is alerted once, on every route.
            why = (
                f"not sent, {exc} (an action never leaves without its intent on disk; free "
                "space under the journal)"
            )
        except JournalUnavailable as exc:
            why = f"not sent, {exc}"  # the outage itself is alerted once by the daemon
        except Fenced as exc:
            why, kind = str(exc), EventKind.FENCED  # another node acts for the account now
        else:
            if self.owns is None or self.dry_run or self.owns():
                return None
            # The lease ran out between the fenced write and now (this node was frozen, or
            # cut off from the database): the call does not leave.
            why, kind = "not sent, this node's lease ran out", EventKind.FENCED
            await self._journal.finish_intent(
                intent.intent_id,
                NOT_EXECUTED,
                at=self._clock.now(),
                summary=f"{description}: not sent, this node's lease on {self.account} ran out",
            )
        return await self._refuse(
            req, BLOCKED, f"{description}: {why}", kind=kind, description=description
        )

    async def _settle(self, intent: Intent, result: ExecResult) -> str:
        """Journal the outcome; reconcile an uncertain one at once. Returns the status."""
        return await journal_outcome(self._journal, self._reconcile, intent, result, self._clock)


def _settling_flash(record: IntentRecord, kind: str) -> bool:
    """An accepted flash repay that the exchange is still finishing: it does not hold back
    another kind of action on the scope (which cannot repeat it), only another flash repay."""
    return record.intent.kind == "flashRepay" and record.status == ACCEPTED and kind != "flashRepay"


__all__ = [
    "AWAITING",
    "BLOCKED",
    "FAILED",
    "IN_PROGRESS",
    "OPEN",
    "PAUSED",
    "SKIPPED",
    "STALE",
    "UNSETTLED",
    "ActionReport",
    "ActionRequestLike",
    "ActionRunner",
]
