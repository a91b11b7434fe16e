"""One account's part of a cycle: poll, decide, one pipeline per scope at risk, polling on.

:class:`AccountCycle` runs an account's share of :meth:`riskd.daemon.app.Daemon.run_cycle`:

1. poll the due scopes, check liquidations and stale data, ``evaluate`` every rule on every
   scope, journal the decisions and save the rule state (before anything is acted on);
2. each scope with actions gets its own **pipeline** (a task of one ``asyncio.TaskGroup``):
   act → the runner verifies on a re-poll of that scope alone → evaluate again → its next
   step, up to :data:`MAX_PASSES` passes. Scopes act side by side: a scope's order waiting
   for the 5/s order limit never holds another scope's decision, and the request gate lets
   the scope nearest liquidation go first (:func:`riskd.bitget.gate.request_nearness`);
3. while any pipeline runs, a **watcher** keeps polling the other scopes every
   ``poll.fast_interval`` — at once when the push path asks for a poll — (those in a
   pipeline are re-polled by their own pipeline, never by the watcher), evaluates, and
   starts pipelines for scopes that cross a line meanwhile.

One scope, one pipeline: a decision for a scope whose pipeline runs goes to that pipeline's
inbox and is taken at its next pass — or, when an action of the scope is in flight (it was
decided on the data from before that action), withdrawn with a ``deferred`` event and decided
again on the re-polled data. With the runner's refusal while an intent on the scope is
open, the journal's one-intent-per-scope rule holds. An unexpected error in one pipeline
is logged and alerted and ends that pipeline only; the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from riskd.bitget.gate import Priority, request_nearness, request_priority
from riskd.daemon import alerts, cycle_events
from riskd.daemon.actions import IN_PROGRESS, UNSETTLED, ActionReport
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.journal_types import JournalUnavailable
from riskd.daemon.order_slots import nearness
from riskd.rules.decisions import ActionRequest, Evaluation
from riskd.rules.engine import evaluate
from riskd.rules.state import withdraw

if TYPE_CHECKING:
    from riskd.daemon.app import AccountRuntime, CycleReport, Daemon

#: Evaluate–act passes per scope pipeline: a ladder's steps follow each other at once (each on
#: the data re-polled after the step before), not one per tick.
MAX_PASSES = 6

log = logging.getLogger(__name__)


def sole_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """A task group's one error as itself (nested groups opened), else the group: callers
    see the error a plain await would have raised."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


class AccountCycle:
    """One account's cycle (see the module docstring)."""

    def __init__(
        self, daemon: Daemon, acc: AccountRuntime, report: CycleReport, *, paused: bool
    ) -> None:
        self.daemon = daemon
        self.acc = acc
        self.report = report
        self.paused = paused
        #: Scopes with a running pipeline → decisions waiting for its next pass.
        self.busy: dict[str, list[ActionRequest]] = {}
        #: Scopes whose pipeline has an action in flight.
        self.acting: set[str] = set()
        #: Set when a pipeline ends (the watcher stops with the last one).
        self.changed = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None

    async def run(self, *, force_poll: bool = False) -> None:
        """Poll, decide, act through per-scope pipelines while polling on; then the routine
        read of the liquidation history (after acting, never before)."""
        try:
            await self._run(force_poll=force_poll)
        except JournalUnavailable as exc:
            # The journal's database was lost mid-cycle: this account's cycle ends here (an
            # action sent whose outcome could not be written stays open and is reconciled).
            await self.daemon.journal_lost(exc)

    async def _run(self, *, force_poll: bool) -> None:
        acc, report = self.acc, self.report
        report.polled.setdefault(acc.name, set())
        await self._poll_round(force=force_poll)
        evaluation = self._decide()
        recorded = await self._record(evaluation)
        # A poll asked for meanwhile (the push path) wakes the watcher at once.
        acc.poller.on_request = self.changed.set
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await self._dispatch(evaluation.actions if recorded else ())
                if self.busy:
                    tg.create_task(self._watch(), name=f"riskd-watch-{acc.name}")
        except BaseExceptionGroup as group:
            raise sole_error(group) from None
        finally:
            self._tg = None
            acc.poller.on_request = None
        # Routine: refused at once during a 429 back-off (read again next cycle), never
        # holding up the account's next cycle.
        with request_priority(Priority.SCHEDULED):
            await self.daemon._read_liquidations(
                acc, acc.poller.snapshots, set(), self.daemon.clock.now(), scheduled=True
            )

    # --- polling and deciding -------------------------------------------------------------
    async def _poll_round(self, *, force: bool = False) -> None:
        """Poll the due scopes not in a pipeline; liquidations and stale data checked."""
        d, acc = self.daemon, self.acc
        t0 = d.clock.now()
        before = dict(acc.poller.snapshots)
        outcome = await acc.poller.poll(force=force, exclude=set(self.busy))
        self.report.polled[acc.name] |= outcome.polled
        if d.metrics is not None:
            d.metrics.observe_poll(acc.name, d.clock.now() - t0)
            for gone in outcome.removed:
                d.metrics.forget_scope(acc.name, gone)
        now = d.clock.now()
        await d._guarded(d._check_liquidations(acc, before, outcome.removed, now), None)
        self.report.stale[acc.name] = await d._check_stale(acc, now)

    def _decide(self) -> Evaluation:
        """Every rule on every scope, now (synchronous: no other task sees a half state)."""
        acc = self.acc
        evaluation = evaluate(acc.rules, acc.poller.snapshots, self.daemon.clock.now(), acc.state)
        acc.state = evaluation.state
        self.report.evaluations[acc.name] = evaluation
        return evaluation

    async def _record(self, evaluation: Evaluation) -> bool:
        """Journal the decisions and save the rule state — before anything is acted on: after
        a crash the restored state still knows which actions were outstanding. ``False``
        when the journal's database cannot be reached: the decisions are then withdrawn
        (decided again once it answers) and nothing is acted on."""
        d, acc = self.daemon, self.acc
        try:
            await d._journal_decisions(acc, evaluation, d.clock.now())
            await d.journal.save_rule_state(acc.name, acc.state.to_json(), at=d.clock.now())
        except JournalUnavailable as exc:
            await d.journal_lost(exc)
            for r in evaluation.actions:
                acc.state = withdraw(acc.state, r.id)
            return False
        return True

    async def _save(self) -> None:
        try:
            await self.daemon.journal.save_rule_state(
                self.acc.name, self.acc.state.to_json(), at=self.daemon.clock.now()
            )
        except JournalUnavailable as exc:
            await self.daemon.journal_lost(exc)

    # --- pipelines --------------------------------------------------------------------------
    async def _dispatch(self, actions: tuple[ActionRequest, ...] | list[ActionRequest]) -> None:
        """Start a pipeline for each scope with actions; a busy scope's go to its inbox."""
        by_scope: dict[str, list[ActionRequest]] = {}
        for r in actions:
            by_scope.setdefault(r.scope, []).append(r)
        assert self._tg is not None
        # Nearest liquidation first: the first orders of the pipelines queue in that order.
        for scope in sorted(by_scope, key=self._nearness):
            requests = by_scope[scope]
            if scope in self.acting:
                # Decided on the data from before the action in flight: decided again once
                # the pipeline has re-polled the scope.
                for r in requests:
                    self.acc.state = withdraw(self.acc.state, r.id)
                    await self.daemon.events.publish(
                        cycle_events.deferred(
                            self.acc.name, r, "the step in flight", self.daemon.clock.now()
                        )
                    )
                continue
            if scope in self.busy:
                self.busy[scope].extend(requests)
                continue
            self.busy[scope] = []
            self._tg.create_task(
                self._pipeline(scope, requests), name=f"riskd-act-{self.acc.name}-{scope}"
            )

    def _nearness(self, scope: str) -> float:
        """The scope's distance to liquidation (see :func:`nearness`)."""
        return nearness(self.acc.poller.snapshots.get(scope))

    async def _pipeline(self, scope: str, todo: list[ActionRequest]) -> None:
        """decide → act → verify → decide again for one scope, up to :data:`MAX_PASSES`."""
        d, acc = self.daemon, self.acc
        # Rule × scope → the run it started in this pipeline: one run per pipeline (a rule with
        # cooldown "0s" starts its next run at the next cycle or watcher round, not pass).
        runs: dict[tuple[str, str], str] = {}
        try:
            for _ in range(MAX_PASSES):
                todo = self._take_inbox(scope, todo)
                todo = d._one_run_per_tick(acc, todo, runs)
                if not todo:
                    break
                self.acting.add(scope)
                try:
                    done = await self._act_scope(todo)
                finally:
                    self.acting.discard(scope)
                self.report.reports.extend(done)
                await self._save()
                if any(r.retryable for r in done):
                    # Refused for a passing reason (429, maintenance) past its retries: the
                    # scope is read again at the next round, urgently, so that its rule can
                    # act again on fresh data — not one interval later.
                    acc.poller.request_poll([scope])
                if all(r.status in UNSETTLED for r in done):
                    todo = []
                    break
                # A step has its outcome and its scope was re-polled: the run's next step (or
                # another rule) may go now, on the fresh data, rather than a tick later.
                evaluation = self._decide()
                todo = [r for r in evaluation.actions if r.scope == scope]
                if not await self._record(evaluation):
                    todo = []
                    break
                await self._dispatch([r for r in evaluation.actions if r.scope != scope])
            else:
                # Out of passes: what the last evaluation decided is not run this cycle;
                # withdrawn, it is decided again on the next cycle's data.
                for r in self._take_inbox(scope, todo):
                    acc.state = withdraw(acc.state, r.id)
                todo = []
        except JournalUnavailable as exc:
            await d.journal_lost(exc)  # said once per outage; the open intent is reconciled
        except Exception as exc:
            log.exception("%s/%s: the scope's pipeline failed", acc.name, scope)
            d.sink.submit(
                alerts.error_alert(
                    f"riskd: acting on {acc.name}/{scope} failed", repr(exc), d.clock.now()
                )
            )
        finally:
            # Whatever is left (an error, or decided after the last pass) is decided again.
            for r in todo + self.busy.pop(scope, []):
                acc.state = withdraw(acc.state, r.id)
            self.changed.set()
        await self._save()

    def _take_inbox(self, scope: str, todo: list[ActionRequest]) -> list[ActionRequest]:
        """``todo`` and the decisions made for ``scope`` (on its current data) since."""
        inbox, self.busy[scope] = self.busy.get(scope, []), []
        ids = {t.id for t in todo}
        return todo + [r for r in inbox if r.id not in ids]

    async def _act_scope(self, requests: list[ActionRequest]) -> list[ActionReport]:
        """The scope's actions of one pass, in order; a later rule's step decided beside one
        that acted is decided again on the re-polled data at the next pass instead (a reduce
        that saved the scope makes the flash repay decided beside it unnecessary)."""
        d, acc = self.daemon, self.acc
        reports: list[ActionReport] = []
        acted: str | None = None
        for r in requests:
            if acted is not None and r.rule != acted:
                acc.state = withdraw(acc.state, r.id)
                await d.events.publish(cycle_events.deferred(acc.name, r, acted, d.clock.now()))
                continue
            with request_nearness(self._nearness(r.scope)):
                report = await d._act(acc, r, self.paused)
            reports.append(report)
            if report.status in (SUCCEEDED, IN_PROGRESS):
                acted = r.rule
        return reports

    # --- the watcher ------------------------------------------------------------------------
    async def _watch(self) -> None:
        """While pipelines run: every ``poll.fast_interval`` (at once when a poll is asked
        for, or a pipeline ends), poll the other scopes that are due, decide, and start
        pipelines for the ones that now need action."""
        while self.busy:
            interval = self.daemon.settings.poll.fast_interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self.changed.wait()  # a pipeline ended, or a poll was asked for
            # Cleared after the wait, not before it: a poll asked for during the round below
            # (the push path saw a crash while the reads were out) starts the next round as
            # soon as this one is done, not one interval later.
            self.changed.clear()
            if not self.busy:
                break
            await self._poll_round()
            evaluation = self._decide()
            if await self._record(evaluation):
                await self._dispatch(evaluation.actions)
