"""``riskd run``: the long-running process around :class:`~riskd.daemon.app.Daemon`.

- APScheduler 3 (``AsyncIOScheduler``; one job, ``max_instances=1``, ``coalesce=True``)
  ticks every ``poll.fast_interval``; each tick runs :meth:`Daemon.run_cycle`, which polls only
  the scopes that are due, so the scheduler is only the timing shell.
- The push path (:mod:`riskd.daemon.push`) does not wait for the next tick: when it sets
  ``Built.push.wake`` (an estimate crossed a line, the exchange pushed a change), a cycle
  runs at once — after the cycle in flight, if one is — and polls the scopes it asked for.
- After a healthy tick: ``WATCHDOG=1`` (systemd), the health state and the metrics.
- ``READY=1`` once the daemon has started (reconciliation done); ``STOPPING=1`` on SIGTERM /
  SIGINT; ``RELOADING=1`` then ``READY=1`` around a SIGHUP reload.
- SIGTERM / SIGINT (handled from the very start): start-up in progress stops at once; the
  cycle in flight gets :data:`STOP_GRACE_S` to end, then it is cancelled — an action whose
  answer has not come keeps its open intent (journaled before its call), reconciled at the
  next start. Then the journal records the stop and everything is closed. A second SIGTERM or
  SIGINT, or a stop that overruns :data:`STOP_DEADLINE_S`, exits at once (``os._exit``, code
  128 + signal number) after logging it: the journal then says riskd was running, so the next
  start reports a crash and reconciles.
- Every exit path (an error at start, a stop during start, a normal stop) stops the ops
  server, the notifier, the price feed and the clients and closes the journal.
- SIGHUP: reload config and rules atomically (:class:`riskd.daemon.reload.Reloader`);
  bad files keep the old set, raise an alert and are journaled as ``reload_failed`` with the
  reason (and the account whose rules were refused); only a full success is ``reload``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import httpx
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from riskd.bitget.endpoints import LimitScope
from riskd.clock import Clock
from riskd.daemon import alerts
from riskd.daemon.alerts import JournalRecorder
from riskd.daemon.app import Daemon
from riskd.daemon.prices import PriceSource
from riskd.daemon.reload import Reloader
from riskd.daemon.service_build import build_parts, health_limit
from riskd.daemon.wiring import Built
from riskd.notify.notifier import Notifier
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier
from riskd.ops.server import OpsServer, start_ops_server
from riskd.settings import Settings

if TYPE_CHECKING:
    from riskd.cluster.keeper import LeaseKeeper
    from riskd.dashboard.app import DashboardApp
    from riskd.telegram.service import TelegramService

log = logging.getLogger(__name__)

#: Longest wait for the cycle in flight at shutdown before it is cancelled. Short: an
#: exchange that accepts connections and never answers must not hold riskd up; the action cut
#: off keeps its open intent, reconciled at the next start.
STOP_GRACE_S = 2.5
#: Longest wait for a cancelled cycle to unwind.
CANCEL_WAIT_S = 0.5
#: The notifier's share of the stop (its clean-stop message, what is queued).
NOTIFIER_STOP_S = 1.0
#: The ops server's share of the stop.
OPS_STOP_S = 0.5
#: After a stop signal, the process is gone within this long whatever happens (os._exit).
STOP_DEADLINE_S = 4.5
JOB_ID = "riskd-cycle"
#: The lease keeper's share of the stop (releasing the leases, deregistering the node).
KEEPER_STOP_S = 1.0


class Service:
    """One running daemon with its scheduler, signals, notifier and ops endpoint."""

    def __init__(
        self,
        built: Built,
        *,
        config_path: Path | None,
        clock: Clock,
        metrics: Metrics,
        systemd: SystemdNotifier,
        notifier: Notifier | None,
        live_override: bool | None,
        health: HealthState | None = None,
        stop_grace: float = STOP_GRACE_S,
        hard_exit: Callable[[int], NoReturn] = os._exit,
        telegram: TelegramService | None = None,
        dashboard: DashboardApp | None = None,
        keeper: LeaseKeeper | None = None,
    ) -> None:
        self.built = built
        #: This node's lease keeper in a cluster: started before the daemon, stopped after.
        self.keeper = keeper
        self.daemon: Daemon = built.daemon
        self.config_path = config_path
        self.clock = clock
        self.metrics = metrics
        self.health = health if health is not None else HealthState()
        self.health_limit = health_limit(built.daemon.settings, systemd)
        self.systemd = systemd
        self.notifier = notifier
        self.telegram = telegram
        #: Served by the ops server under /dashboard (riskd.dashboard); None: off.
        self.dashboard = dashboard
        self.live_override = live_override
        self.stop_grace = stop_grace
        self._hard_exit = hard_exit
        self.stop_event = asyncio.Event()
        #: The signal that asked riskd to stop (journaled with the stop), if one did.
        self.stop_signal: str | None = None
        self.ops: OpsServer | None = None
        self._cycle: asyncio.Task[None] | None = None
        self._waker: asyncio.Task[None] | None = None
        self._reloads: set[asyncio.Task[None]] = set()
        self._reloader = Reloader(self.daemon, config_path, live_override)
        self._daemon_started = False
        self._keeper_started = False
        self._signals_installed = False
        self._seen_429: dict[str, int] = {}
        self.scheduler = AsyncIOScheduler()

    # --- ticks ------------------------------------------------------------------------------
    async def tick(self) -> None:
        """The scheduled job: run one cycle as its own task. Waiting for it never cancels
        it: only :meth:`shutdown` does, after :attr:`stop_grace`."""
        if self._cycle is not None and not self._cycle.done():
            return
        self._cycle = asyncio.create_task(self._one_cycle(), name="riskd-cycle")
        await asyncio.wait({self._cycle})

    async def _wake_loop(self, wake: asyncio.Event) -> None:
        """Run a cycle each time the push path sets ``wake`` (after the one in flight: the
        scopes it asked for are polled by the next cycle, never skipped)."""
        while True:
            await wake.wait()
            if self._cycle is not None and not self._cycle.done():
                await asyncio.wait({self._cycle})
            wake.clear()
            await self.tick()

    async def _one_cycle(self) -> None:
        try:
            await self._update_extra_status()
            await self.daemon.run_cycle()
        except Exception as exc:
            log.exception("cycle failed: %s", exc)
            self.daemon.sink.submit(
                alerts.error_alert("a riskd cycle failed", repr(exc), self.clock.now())
            )
            return
        now = self.clock.now()
        self.health.tick(now)
        self.metrics.tick_ok(now)
        self.systemd.watchdog()
        await self._budget_metrics()

    async def _update_extra_status(self) -> None:
        status = await self.built.budget.status()
        extra: dict[str, object] = {"budget": [k.line() for k in status.keys]}
        if self.notifier is not None:
            n = self.notifier.status()
            extra["notifier"] = {
                "healthy": n.healthy,
                "queued": n.queued,
                "delivered": n.delivered,
                "failed": n.failed,
                "dropped": n.dropped,
                "last_error": n.last_error,
            }
        self.daemon.extra_status = extra

    async def _budget_metrics(self) -> None:
        status = await self.built.budget.status()
        for k in status.keys:
            account = k.identity if k.scope == LimitScope.UID else ""
            self.metrics.set_budget_use(k.scope.value.lower(), k.rule, k.utilisation, account)
            seen = self._seen_429.get(k.label, 0)
            for _ in range(max(0, k.http_429 - seen)):
                self.metrics.rate_limited_answer(k.rule, account)
            self._seen_429[k.label] = k.http_429

    def _on_missed(self, event: JobEvent) -> None:
        self.metrics.missed_tick(JOB_ID)

    # --- signals ------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop_on, sig)
        loop.add_signal_handler(signal.SIGHUP, self._reload_on_hup)
        self._signals_installed = True

    def _stop_on(self, sig: signal.Signals) -> None:
        code = 128 + int(sig)
        if self.stop_event.is_set():
            log.critical(
                "%s received again: exiting at once (exit %d); open intents are reconciled "
                "at the next start",
                sig.name,
                code,
            )
            self._hard_exit(code)
        self.stop_signal = sig.name
        log.info("%s received: stopping", sig.name)
        self.stop_event.set()
        timer = threading.Timer(STOP_DEADLINE_S, self._overdue, args=(code,))
        timer.daemon = True
        timer.start()

    def _overdue(self, code: int) -> None:
        """Runs in a timer thread: the stop took longer than STOP_DEADLINE_S."""
        log.critical(
            "stop did not finish within %ss: exiting now (exit %d); open intents are "
            "reconciled at the next start",
            STOP_DEADLINE_S,
            code,
        )
        self._hard_exit(code)

    def _reload_on_hup(self) -> None:
        task = asyncio.create_task(self.reload(), name="riskd-reload")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    def _remove_signals(self) -> None:
        if not self._signals_installed:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        self._signals_installed = False

    async def reload(self) -> None:
        """SIGHUP: reload config and rules; on any error keep the old ones, alert, and
        journal ``reload_failed`` with the reason. Only a full success journals ``reload``."""
        self.systemd.reloading("reloading configuration and rules")
        try:
            await self._reloader.reload()
        except Exception:
            log.exception("reload: could not finish (previous configuration kept if unapplied)")
        finally:
            self.systemd.ready("watching")

    # --- run --------------------------------------------------------------------------------
    async def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT (or :attr:`stop_event`), stop. Whatever ends it
        — an error at start included — everything started is stopped and closed."""
        self._install_signals()
        try:
            if await self._unless_stopped(self._start()):
                await self.stop_event.wait()
        finally:
            await self.shutdown()
        return 0

    async def _unless_stopped(self, start: Awaitable[None]) -> bool:
        """Run ``start``; False (and ``start`` cancelled) if a stop is asked for first."""
        task = asyncio.ensure_future(start)
        stop = asyncio.ensure_future(self.stop_event.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task.cancelled():
            log.info("stopped during start-up")
            return False
        task.result()  # an error at start propagates (after shutdown, via run's finally)
        return not self.stop_event.is_set()

    async def _start(self) -> None:
        settings = self.daemon.settings
        # A shared budget's Redis that does not answer stops the start (one line, exit 69);
        # later, an outage only makes the node count its local share.
        await self.built.budget.check_storage()
        if self.keeper is not None:
            # This node's share of the accounts, before the daemon reconciles and acts (a
            # second node with this node id stops here, before anything else starts).
            await self.keeper.start()
            self._keeper_started = True
            log.info(
                "node %s in the cluster: owns %d of %d accounts",
                self.keeper.node_id,
                len(self.keeper.held),
                len(self.daemon.accounts),
            )
        if settings.metrics.enabled:
            self.ops = await start_ops_server(
                self.metrics,
                self.health,
                settings.metrics.host,
                settings.metrics.port,
                max_tick_age=self.health_limit,
                dashboard=self.dashboard,
            )
            log.info("metrics and health on %s", self.ops.url)
        if self.notifier is not None:
            await self.notifier.start()
        await self.built.start_feed()
        if self.built.feed is not None:
            log.info("index prices from %s", self.built.feed.url)
        log.info("journal %s open; reconciling open intents", self.daemon.journal.where)
        self._daemon_started = True
        await self.daemon.start()
        if self.notifier is not None:
            self.notifier.lifecycle_started(
                crashed_before=self.daemon.crashed_before, detail=self.daemon.crash_report
            )
        if self.telegram is not None:
            await self.telegram.start()  # returns at once: the bot polls in its own task
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=settings.poll.fast_interval,
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(settings.poll.fast_interval)),
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()
        modes = ", ".join(
            f"{a.name}: {'LIVE' if not a.dry_run else 'dry-run'}"
            for a in self.daemon.accounts.values()
        )
        log.info("first cycle (%s)", modes)
        await self.tick()  # first cycle at once
        if self.built.push is not None:
            self._waker = asyncio.create_task(
                self._wake_loop(self.built.push.wake), name="riskd-push-wake"
            )
        self.systemd.ready(f"watching ({modes})")
        log.info("riskd running (%s)", modes)
        freeze_startup_heap()

    async def shutdown(self) -> None:
        """Stop everything that was started, each step on its own (one failing never keeps
        the next from running): scheduler, cycle in flight, journal stop record, notifier,
        ops server, price feed, clients, journal."""
        self.systemd.stopping("stopping")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._waker is not None:
            self._waker.cancel()
            await asyncio.wait({self._waker}, timeout=CANCEL_WAIT_S)
        for task in list(self._reloads):
            task.cancel()
        if self._reloads:
            await asyncio.wait(set(self._reloads), timeout=CANCEL_WAIT_S)
        # The bot stops (≤ 0.5 s) while the cycle in flight gets its grace.
        bot = asyncio.ensure_future(self.telegram.stop()) if self.telegram is not None else None
        cut = await self._end_cycle()
        if bot is not None:
            await _step("stopping the Telegram bot", bot)
        journal = self.daemon.journal
        if cut:
            await _step("dropping the cancelled cycle's unfinished write", journal.rollback())
        if self._daemon_started:
            reason = self.stop_signal or "stop requested"
            if cut:
                reason += (
                    f"; the cycle in flight was cancelled after {self.stop_grace:g}s "
                    "(open intents are reconciled at the next start)"
                )
            await _step("journaling the stop", self.daemon.stop(reason))
        if self.keeper is not None and self._keeper_started:
            # Leases released at once: the other nodes take the accounts at their next round.
            await _step("leaving the cluster", asyncio.wait_for(self.keeper.stop(), KEEPER_STOP_S))
        if self.notifier is not None:
            await _step("stopping the notifier", self.notifier.stop(timeout=NOTIFIER_STOP_S))
        if self.ops is not None:
            await _step("stopping the ops endpoint", self.ops.stop(grace=OPS_STOP_S))
        await _step("closing feed, clients and journal", self.built.aclose())
        with contextlib.suppress(RuntimeError):
            self._remove_signals()

    async def _end_cycle(self) -> bool:
        """Give the cycle in flight (and any account's cycle still running in the background,
        :mod:`riskd.daemon.account_tasks`) :attr:`stop_grace` seconds, then cancel them; True
        when one had to be cancelled."""
        flight = {*self.daemon.account_tasks.running(), *([self._cycle] if self._cycle else [])}
        flight = {t for t in flight if not t.done()}
        if not flight:
            return False
        log.info("waiting up to %gs for the cycle in flight", self.stop_grace)
        _, left = await asyncio.wait(flight, timeout=self.stop_grace)
        if not left:
            return False
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=CANCEL_WAIT_S)
        log.warning(
            "the cycle in flight did not end within %gs and was cancelled; an action whose "
            "answer had not come keeps its open intent, reconciled at the next start",
            self.stop_grace,
        )
        return True


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, settings, rules, clients) out of the
    garbage collector's reach (:func:`gc.freeze`): a full collection then scans only what
    the cycles made since. Measured on the UTA push bench: full collections over the whole
    heap put 40–70 ms into one reaction in fifty; with the start-up heap frozen, p99 stays
    near the median."""
    gc.collect()
    gc.freeze()


async def _step(what: str, step: Awaitable[object]) -> None:
    """Await one shutdown step; an error is logged and the stop goes on."""
    try:
        await step
    except Exception:
        log.exception("shutdown: %s failed", what)


async def create_service(
    settings: Settings,
    *,
    config_path: Path | None = None,
    live_override: bool | None = None,
    clock: Clock | None = None,
    http: httpx.AsyncClient | None = None,
    prices: PriceSource | None = None,
    env: Mapping[str, str] | None = None,
    notifier_factory: Callable[[Settings, Clock, JournalRecorder], Notifier] | None = None,
) -> Service:
    """Build the service (:func:`riskd.daemon.service_build.build_parts`); nothing runs until
    :meth:`Service.run`."""
    parts = await build_parts(
        settings, clock=clock, http=http, prices=prices, env=env, notifier_factory=notifier_factory
    )
    return Service(
        parts.built,
        config_path=config_path,
        clock=parts.clock,
        metrics=parts.metrics,
        systemd=parts.systemd,
        notifier=parts.notifier,
        live_override=live_override,
        health=parts.health,
        telegram=parts.telegram,
        dashboard=parts.dashboard,
        keeper=parts.keeper,
    )
