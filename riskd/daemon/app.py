"""The daemon: one :meth:`Daemon.run_cycle` polls, evaluates, acts, alerts and records.

:func:`riskd.daemon.wiring.build_daemon` assembles a :class:`Daemon` from settings; tests
build one around the simulator and call :meth:`run_cycle` with a ManualClock. The scheduler
shell (:mod:`riskd.daemon.service`) only decides *when* to call it.

A cycle: settle open intents (reconciliation, before any new action), then every account
side by side (:class:`~riskd.daemon.pipeline.AccountCycle`): poll the due scopes → alert on
stale scopes → ``evaluate(rules, snapshots, now, state)`` → journal the decisions → one
pipeline per scope with actions, each running them through the account's
:class:`ActionRunner` in order and reporting back with ``record_outcome``, then evaluating
again on its re-polled scope for what follows (the ladder's next step), up to
:data:`MAX_PASSES` passes — while the other scopes are polled on every
``poll.fast_interval`` → save the rule state and the status rows.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from riskd.bitget.errors import RiskdExchangeError
from riskd.budget import BudgetExhausted
from riskd.clock import Clock
from riskd.daemon import cluster_events, cycle_events
from riskd.daemon.account_tasks import AccountTasks
from riskd.daemon.actions import IN_PROGRESS, UNSETTLED, ActionReport, ActionRunner
from riskd.daemon.alerts import AlertSink
from riskd.daemon.crash_report import actions_of_the_run_that_died
from riskd.daemon.events import DaemonEvent, EventBroker, EventKind
from riskd.daemon.exchange import Exchange
from riskd.daemon.journal import Journal, PauseState
from riskd.daemon.journal_space import SpaceEvent
from riskd.daemon.journal_types import JournalUnavailable
from riskd.daemon.liquidations import LiquidationWatch
from riskd.daemon.ownership import OwnAll, Ownership
from riskd.daemon.pipeline import MAX_PASSES, AccountCycle
from riskd.daemon.poller import AccountPoller
from riskd.daemon.push import PushSources
from riskd.daemon.reconcile import Reconciler
from riskd.daemon.settle import Verdict, settle_outstanding
from riskd.daemon.status import status_rows
from riskd.daemon.subscribers import standard_broker
from riskd.ops.metrics import ALL_ACCOUNTS, Metrics
from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules.decisions import ActionRequest, Evaluation
from riskd.rules.model import RuleSet
from riskd.rules.state import EngineState, StateError, Status, record_outcome, withdraw
from riskd.settings import Settings

_T = TypeVar("_T")

#: How long after a liquidation a rule's fall on that scope is reported as its end, not as
#: "resolved".
LIQUIDATED_MEMORY_S = 120.0

log = logging.getLogger(__name__)


@dataclass
class AccountRuntime:
    """Everything the daemon holds for one account."""

    name: str
    exchange: Exchange
    poller: AccountPoller
    runner: ActionRunner
    rules: RuleSet
    rules_dir: Path
    state: EngineState = field(default_factory=EngineState)
    stale: set[str] = field(default_factory=set)
    #: Reads the account's liquidations (None: not watched).
    liquidations: LiquidationWatch | None = None
    #: Scopes liquidated lately → when noticed (a rule's fall is then not "resolved").
    liquidated: dict[str, float] = field(default_factory=dict)

    @property
    def dry_run(self) -> bool:
        return self.runner.dry_run


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did (tests and the bench read it)."""

    at: float
    polled: dict[str, set[str]]
    evaluations: dict[str, Evaluation]
    reports: list[ActionReport]
    stale: dict[str, set[str]]
    still_open: int


class Daemon:
    """Polls, decides and acts for every configured account."""

    def __init__(
        self,
        settings: Settings,
        *,
        journal: Journal,
        clock: Clock,
        accounts: Mapping[str, AccountRuntime],
        reconciler: Reconciler,
        sink: AlertSink,
        metrics: Metrics | None = None,
        events: EventBroker | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        self.settings = settings
        #: Which accounts this node acts on: all of them alone, its leases in a cluster.
        self.ownership: Ownership = ownership or OwnAll()
        self.node = settings.node_id() if settings.clustered else "local"
        #: The journal's database lost (PostgreSQL): no action until it answers again.
        self.outage = cluster_events.JournalOutage()
        self._journal_failed = False
        self.account_tasks = AccountTasks()
        self._unowned: frozenset[str] = frozenset()
        #: The accounts owned when the database last answered (watched through an outage).
        self._watching: set[str] = set()
        self.journal = journal
        self.clock = clock
        self.accounts = dict(accounts)
        for acc in self.accounts.values():
            # An action is sized on the poller's latest snapshot of its scope (and, with
            # ``slots`` wired by build_daemon, after taking its rate-budget slot).
            if acc.runner.latest is None:
                acc.runner.latest = acc.poller.snapshots.get
        self.reconciler = reconciler
        self.sink = sink
        self.metrics = metrics
        self.started_at: float | None = None
        self.last_cycle_at: float | None = None
        self.crashed_before = False
        #: After a crash: the actions the run that died took (for the restart alert).
        self.crash_report = ""
        self.extra_status: dict[str, object] = {}
        #: When each push source last spoke for an account (set by the wiring when the push
        #: path is on; ``riskd status`` shows it).
        self.push_sources: Callable[[str], PushSources] | None = None
        #: Intents this process sent that run on at the exchange (flash repays).
        self._following: set[str] = set()
        #: Every decision and outcome is published here once (journal log, alerts,
        #: metrics and logs subscribe).
        self.events = events or standard_broker(
            lambda: self.journal, lambda: self.sink, lambda: self.metrics
        )
        self._pause: PauseState | None = None
        self._pending: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Detect a previous crash, restore rule state, reconcile open intents."""
        now = self.clock.now()
        space = self.journal.space
        space.configure(int(self.settings.journal_reserve), self._on_disk_space)
        space.ensure_reserve()
        self.crashed_before = bool(await self.journal.get_meta("running"))
        if self.crashed_before:
            self.crash_report = await actions_of_the_run_that_died(self.journal)
        await self.journal.set_meta("running", True)
        await self.journal.set_meta("daemon", {"pid": os.getpid(), "started_at": now})
        self.started_at = now
        what = "restarted after a crash" if self.crashed_before else "started"
        await self.events.publish(
            DaemonEvent(
                EventKind.LIFECYCLE,
                now,
                f"riskd {what}; accounts: "
                + ", ".join(
                    f"{a.name} ({'dry-run' if a.dry_run else 'LIVE'})"
                    for a in self.accounts.values()
                ),
            )
        )
        known = await self.journal.events(kinds=[EventKind.LIQUIDATED], since=now - 7 * 86400)
        for acc in self.accounts.values():
            if acc.liquidations is not None:
                acc.liquidations.remember(
                    str(e.data["liq_id"])
                    for e in known
                    if e.account == acc.name and e.data.get("liq_id")
                )
            saved = await self.journal.load_rule_state(acc.name)
            if saved:
                try:
                    acc.state = EngineState.from_json(saved)
                except StateError as exc:
                    log.error("%s: saved rule state unreadable, starting fresh: %s", acc.name, exc)
            if self.metrics is not None:
                self.metrics.set_live(acc.name, not acc.dry_run)
        await self._reconcile()
        await self._settle_rule_states()

    async def stop(self, reason: str = "stop requested") -> None:
        await self.account_tasks.cancel()
        now = self.clock.now()
        await self.events.publish(
            DaemonEvent(EventKind.LIFECYCLE, now, f"riskd stopping: {reason}")
        )
        await self.journal.set_meta("running", False)

    # --- one cycle ------------------------------------------------------------------------
    async def run_cycle(self, *, force_poll: bool = False) -> CycleReport:
        """Poll what is due, evaluate the rules, act and record. Never raises for the
        exchange's errors (they become stale data and alerts)."""
        started = self.clock.now()
        self.journal.space.check()
        self._journal_failed = False
        self.account_tasks.collect()
        owned = await self._owned_accounts()
        # An account whose last cycle is still running (waiting out a back-off…) sits this
        # cycle out; the others are not held up by it (riskd.daemon.account_tasks).
        ready = [a for a in owned if not self.account_tasks.busy(a.name)]
        still_open = await self._guarded(self._reconcile({a.name for a in ready}), 0)
        await self._guarded(self._settle_rule_states(ready), None)
        last = self._pause or PauseState(False, frozenset())
        pause = await self._guarded(self.journal.pause_state(), last)
        if self._pause is not None:
            for event in cycle_events.pause_changes(self._pause, pause, self.clock.now()):
                await self.events.publish(event)
        self._pause = pause
        report = CycleReport(self.clock.now(), {}, {}, [], {}, still_open)
        # Accounts side by side, each its own task; within each, a pipeline per scope at risk
        # while polling goes on (riskd.daemon.pipeline). With several accounts the cycle waits
        # for them at most one fast interval; a slow one goes on in the background.
        for acc in ready:
            cycle = AccountCycle(self, acc, report, paused=pause.paused(acc.name))
            self.account_tasks.start(acc.name, cycle.run(force_poll=force_poll))
        several = len(owned) > 1
        await self.account_tasks.wait(self.settings.poll.fast_interval if several else None)
        self.account_tasks.collect()
        for acc in self.accounts.values():
            if self.metrics is not None:
                self.metrics.set_paused(acc.name, pause.paused(acc.name))
        if self.metrics is not None:
            self.metrics.set_paused(ALL_ACCOUNTS, pause.global_paused)
        self.last_cycle_at = self.clock.now()
        await self._guarded(self._write_status(pause.global_paused, owned), None)
        if not self._journal_failed:
            back = self.outage.answered(self.clock.now())
            if back is not None:
                await self.events.publish(back)
        log.debug("cycle done in %.3fs", self.clock.now() - started)
        return report

    # --- ownership and the journal's database ---------------------------------------------
    async def _owned_accounts(self) -> list[AccountRuntime]:
        """The accounts this node acts on in this cycle; one taken over from another node is
        adopted first: its rule state read back from the shared journal (its open intents
        are reconciled next, before any new action) and what this node saw of it before
        dropped (every scope is read again before anything is decided on it)."""
        acquired, lost = self.ownership.take_changes()
        acquired = frozenset(a for a in acquired if a in self.accounts)
        lost = frozenset(a for a in lost if a in self.accounts)
        now = self.clock.now()
        for name in sorted(acquired):
            acc = self.accounts[name]
            acc.poller.forget()
            saved = await self._guarded(self.journal.load_rule_state(name), None)
            try:
                acc.state = EngineState.from_json(saved) if saved else EngineState()
            except StateError as exc:
                log.error("%s: saved rule state unreadable, starting fresh: %s", name, exc)
                acc.state = EngineState()
        for event in cluster_events.ownership(self.node, acquired, lost, now):
            await self.events.publish(event)
        for event in cluster_events.takeovers(self.node, self.ownership.take_takeovers(), now):
            await self.events.publish(event)
        unowned = frozenset(self.ownership.unowned)
        if unowned != self._unowned:
            self._unowned = unowned
            await self.events.publish(cluster_events.unowned(self.node, unowned, now))
        owned = {a for a in self.accounts if self.ownership.owns(a)}
        if self.outage.down or self.ownership.lost_database:
            # The database is lost: the leases run out, but the accounts this node watched
            # are still polled and evaluated (alerts go out); no action can be fenced.
            owned |= self._watching
        else:
            self._watching = owned
        return [acc for acc in self.accounts.values() if acc.name in owned]

    def holds_on(self, account: str) -> bool:
        """Whether ``account`` should stay on this node for now rather than go to a node
        that joins: a rule pending or firing on it, or an action awaiting its outcome."""
        acc = self.accounts.get(account)
        if acc is None:
            return False
        busy = (Status.PENDING, Status.FIRING)
        return bool(acc.state.outstanding()) or any(e.status in busy for _, e in acc.state.items())

    async def _guarded(self, call: Awaitable[_T], fallback: _T) -> _T:
        """``call``, or ``fallback`` when the journal's database cannot be reached (the
        outage is published once; the cycle goes on without acting)."""
        try:
            return await call
        except JournalUnavailable as exc:
            await self.journal_lost(exc)
            return fallback

    async def journal_lost(self, exc: JournalUnavailable) -> None:
        """A journal call failed for want of its database (said once per outage)."""
        self._journal_failed = True
        event = self.outage.failed(str(exc), self.clock.now())
        if event is not None:
            await self.events.publish(event)

    def _one_run_per_tick(
        self,
        acc: AccountRuntime,
        todo: list[ActionRequest],
        runs: dict[tuple[str, str], str],
    ) -> list[ActionRequest]:
        """The later passes of a cycle continue runs (a ladder's next step); a rule × scope
        whose run ended this cycle starts no second run before the next tick (a rule with
        ``cooldown = "0s"`` acts once per tick, not once per pass)."""
        keep: list[ActionRequest] = []
        for r in todo:
            run = r.id.rsplit(".", 1)[0]
            if runs.setdefault((r.rule, r.scope), run) == run:
                keep.append(r)
                continue
            acc.state = withdraw(acc.state, r.id)
        return keep

    async def _act(self, acc: AccountRuntime, request: ActionRequest, paused: bool) -> ActionReport:
        snap = acc.poller.snapshots.get(request.scope)
        if acc.runner.owns is None and not isinstance(self.ownership, OwnAll):
            # The runner's last look before a call leaves (a runner rebuilt on a mode change
            # gets it here too).
            acc.runner.owns = functools.partial(self.ownership.owns, acc.name)
        report = await acc.runner.run(request, snap, paused=paused)
        if report.status == IN_PROGRESS and report.intent_id is not None:
            self._following.add(report.intent_id)
        if report.status not in UNSETTLED:
            # An open intent's outcome is unknown: the engine keeps waiting for it until
            # reconciliation says (and may have it run again if it never happened).
            acc.state = record_outcome(acc.state, request.id, report.succeeded, self.clock.now())
        await self.events.publish(cycle_events.action(report, request, snap, self.clock.now()))
        return report

    async def _reconcile(self, accounts: set[str] | None = None) -> int:
        """Settle the open intents of ``accounts`` (default: every account this node owns)
        with the exchange and alert what was found. What the rules engine is told follows in
        :meth:`_settle_rule_states`, from the journal alone."""
        if accounts is None:
            accounts = {a for a in self.accounts if self.ownership.owns(a)}
        if not await self.journal.open_intents():
            return 0
        settled, still_open = await self.reconciler.reconcile_all(accounts)
        now = self.clock.now()
        for s in settled:
            i = s.intent.intent
            followed = i.intent_id in self._following
            self._following.discard(i.intent_id)
            acc = self.accounts.get(i.account)
            snap = acc.poller.snapshots.get(i.scope) if acc is not None else None
            await self.events.publish(
                cycle_events.reconciled(s, followed=followed, snap=snap, now=now)
            )
        return still_open

    async def _settle_rule_states(self, owned: list[AccountRuntime] | None = None) -> None:
        """Bring every account's rule state into agreement with the journal (called when no
        action is in flight: at start and before each cycle). An awaited action whose
        outcome is journaled is applied, one never sent is withdrawn (decided again on fresh
        data), one open past its timeout is released with an alert."""
        now = self.clock.now()
        for acc in self.accounts.values() if owned is None else owned:
            waiting = acc.state.outstanding()
            if not waiting:
                continue
            ids = [o.action_id for _, o in waiting]
            intents = await self.journal.intents_of_actions(acc.name, ids)
            acc.state, done = settle_outstanding(
                acc.state, intents, now=now, timeout=self._action_timeout
            )
            changed = [d for d in done if d.verdict is not Verdict.WAITING]
            for d in changed:
                await self.events.publish(cycle_events.settled(d, now))
            if changed:
                await self.journal.save_rule_state(acc.name, acc.state.to_json(), at=now)

    def _action_timeout(self, kind: str) -> float:
        """How long a rule × scope may wait for an action of ``kind`` before it is released:
        the call's own limit (a flash repay settles at the exchange for up to
        ``poll.flash_repay_timeout``), plus ``poll.stale_after`` for reconciliation to read
        the exchange."""
        poll = self.settings.poll
        own = poll.flash_repay_timeout if kind == "flashRepay" else poll.request_timeout
        return own + poll.stale_after

    def _on_disk_space(self, event: SpaceEvent, detail: str) -> None:
        """The disk under the journal filled up, or has room again: said once, loudly, on
        every alert route. Called inside a journal write: published from a task of its own,
        which journals it once that write is done."""
        self._publish_soon(cycle_events.disk(event, detail, self.journal.where, self.clock.now()))

    def on_budget_storage(self, degraded: bool, message: str) -> None:
        """The shared budget's Redis went away or came back (a listener of the budget,
        called inside a budget call): published from a task of its own."""
        if self.metrics is not None:
            self.metrics.set_budget_storage_degraded(degraded)
        self._publish_soon(cluster_events.budget_storage(degraded, message, self.clock.now()))

    def _publish_soon(self, event: DaemonEvent) -> None:
        """Publish ``event`` from a task of its own (called where awaiting is not possible)."""
        task = asyncio.get_running_loop().create_task(self.events.publish(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _check_stale(self, acc: AccountRuntime, now: float) -> set[str]:
        limit = self.settings.poll.stale_after
        stale: set[str] = set()
        expected = set(acc.poller.snapshots) | set(acc.poller.errors)
        for scope in expected:
            snap = acc.poller.snapshots.get(scope)
            age = snap.age(now) if snap is not None else None
            since_start = now - (self.started_at or now)
            if (age is not None and age > limit) or (age is None and since_start > limit):
                stale.add(scope)
                if scope not in acc.stale:
                    error = acc.poller.errors.get(scope)
                    await self.events.publish(
                        cycle_events.stale(acc.name, scope, snap, age, limit, error, now)
                    )
            elif scope in acc.stale:
                await self.events.publish(cycle_events.fresh(acc.name, scope, now))
            if self.metrics is not None and snap is not None:
                self.metrics.set_data_age(acc.name, scope, snap.age(now))
                self.metrics.set_risk_rate(acc.name, scope, snap.risk_rate)
        acc.stale = stale
        return stale

    async def _check_liquidations(
        self,
        acc: AccountRuntime,
        before: dict[str, ScopeSnapshot],
        removed: set[str],
        now: float,
    ) -> None:
        """Announce the account's new liquidations (records, cross-checked with the account
        state); an exchange error is logged and the records are read again next cycle."""
        for scope, at in list(acc.liquidated.items()):
            if now - at > LIQUIDATED_MEMORY_S:
                del acc.liquidated[scope]
        await self._read_liquidations(acc, before, removed, now, scheduled=False)

    async def _read_liquidations(
        self,
        acc: AccountRuntime,
        before: dict[str, ScopeSnapshot],
        removed: set[str],
        now: float,
        *,
        scheduled: bool,
    ) -> None:
        watch = acc.liquidations
        if watch is None or (scheduled and not watch.due(now, acc.poller.snapshots)):
            return
        since = max(min((s.observed_at for s in before.values()), default=now), now - 600) - 60
        intents = [
            r for r in await self.journal.intents(since=since) if r.intent.account == acc.name
        ]
        try:
            found = await watch.check(
                now, before, acc.poller.snapshots, removed, intents, scheduled=scheduled
            )
        except (RiskdExchangeError, BudgetExhausted) as exc:
            # BudgetExhausted: a long Retry-After on the history's endpoint (the watch reads
            # through the client, not through ClientExchange, which maps it).
            log.warning("%s: liquidation history not read: %s", acc.name, exc)
            return
        for liq in found:
            acc.liquidated[liq.scope] = now
            await self.events.publish(cycle_events.liquidated(liq, now))

    async def _journal_decisions(self, acc: AccountRuntime, ev: Evaluation, now: float) -> None:
        ended = frozenset(acc.liquidated)
        for event in cycle_events.from_evaluation(ev, now, dry_run=acc.dry_run, liquidated=ended):
            await self.events.publish(event)
        if self.metrics is not None:
            for (account, scope, rule), e in ev.state.items():
                self.metrics.set_rule_state(account, scope, rule, str(e.status))

    async def _write_status(
        self, global_paused: bool, owned: list[AccountRuntime] | None = None
    ) -> None:
        now = self.clock.now()
        rows = []
        for acc in self.accounts.values() if owned is None else owned:
            rows.extend(await status_rows(self, acc, now))
        await self.journal.write_status(rows, at=now)
        await self.journal.set_meta(
            "daemon",
            {
                "pid": os.getpid(),
                "started_at": self.started_at,
                "last_cycle_at": now,
                "global_paused": global_paused,
                **self.extra_status,
            },
            essential=False,
        )


__all__ = ["MAX_PASSES", "AccountRuntime", "CycleReport", "Daemon", "ScopeSnapshot"]
