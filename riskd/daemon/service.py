"""``riskd run``: the long-running process around :class:`~riskd.daemon.app.Daemon`.

- APScheduler 3 (``AsyncIOScheduler``; one job, ``max_instances=1``, ``coalesce=True``)
  ticks every ``poll.fast_interval``; each tick runs :meth:`Daemon.run_cycle`, which polls only
  the scopes that are due, so the scheduler is only the timing shell.
- After a healthy tick: ``WATCHDOG=1`` (systemd), the health state and the metrics.
- ``READY=1`` once the daemon has started (reconciliation done); ``STOPPING=1`` on SIGTERM /
  SIGINT; ``RELOADING=1`` then ``READY=1`` around a SIGHUP reload.
- SIGTERM: the cycle in flight (and so the action in flight) runs to its end — every action's
  intent is journaled before its call anyway — then the process exits cleanly.
- SIGHUP: reload config and rules atomically (:func:`riskd.daemon.reload.apply_settings`);
  bad files keep the old set and raise an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from riskd.bitget.endpoints import LimitScope
from riskd.clock import Clock, WallClock
from riskd.daemon import alerts
from riskd.daemon.alerts import AlertSink, JournalRecorder, LoggingSink
from riskd.daemon.app import Daemon
from riskd.daemon.prices import PriceSource
from riskd.daemon.reload import apply_settings
from riskd.daemon.wiring import Built, build_daemon
from riskd.notify.alert import Alert
from riskd.notify.notifier import Notifier
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier
from riskd.ops.server import DEFAULT_MAX_TICK_AGE, OpsServer, start_ops_server
from riskd.settings import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)

#: Longest wait for the cycle in flight at shutdown: clearly shorter than the unit's
#: ``TimeoutStopSec=60``, so that riskd stops the notifier, closes the journal and exits
#: before systemd sends SIGKILL.
STOP_GRACE_S = 45.0
JOB_ID = "riskd-cycle"


def health_limit(settings: Settings, systemd: SystemdNotifier) -> float:
    """Seconds without a healthy tick after which ``/healthz`` (and the heartbeat) say
    unhealthy: ``WatchdogSec`` when systemd's watchdog is on for this process (the same limit
    after which systemd kills it), else ``max(30 s, 2 × poll.fast_interval)`` (the scheduler
    ticks every ``fast_interval``; 30 s is the unit's ``WatchdogSec``)."""
    watchdog = systemd.watchdog_interval()
    if watchdog is not None:
        return watchdog
    return max(DEFAULT_MAX_TICK_AGE, 2 * settings.poll.fast_interval)


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
    ) -> None:
        self.built = built
        self.daemon: Daemon = built.daemon
        self.config_path = config_path
        self.clock = clock
        self.metrics = metrics
        self.health = health if health is not None else HealthState()
        self.health_limit = health_limit(built.daemon.settings, systemd)
        self.systemd = systemd
        self.notifier = notifier
        self.live_override = live_override
        self.stop_event = asyncio.Event()
        #: The signal that asked riskd to stop (journaled with the stop), if one did.
        self.stop_signal: str | None = None
        self.ops: OpsServer | None = None
        self._cycle: asyncio.Task[None] | None = None
        self._seen_429: dict[str, int] = {}
        self.scheduler = AsyncIOScheduler()

    # --- ticks ------------------------------------------------------------------------------
    async def tick(self) -> None:
        """The scheduled job: run one cycle, shielded so that shutdown never cuts it short."""
        if self._cycle is not None and not self._cycle.done():
            return
        self._cycle = asyncio.create_task(self._one_cycle(), name="riskd-cycle")
        await asyncio.shield(self._cycle)

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
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))

    def _stop_on(self, sig: signal.Signals) -> None:
        self.stop_signal = sig.name
        log.info("%s received: stopping", sig.name)
        self.stop_event.set()

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    async def reload(self) -> None:
        """SIGHUP: reload config and rules; on any error keep the old ones and alert."""
        self.systemd.reloading("reloading configuration and rules")
        try:
            new = load_settings(self.config_path, live=self.live_override)
        except ConfigError as exc:
            log.error("reload refused, previous configuration kept: %s", exc)
            self.daemon.sink.submit(
                alerts.error_alert(
                    "configuration not reloaded (previous one kept)", str(exc), self.clock.now()
                )
            )
        else:
            notes = apply_settings(self.daemon, new)
            for note in notes:
                log.warning("reload: %s", note)
            await self.daemon.journal.record(
                "reload",
                "configuration and rules reloaded",
                at=self.clock.now(),
                data={"notes": notes},
            )
        self.systemd.ready("watching")

    # --- run --------------------------------------------------------------------------------
    async def run(self) -> int:
        settings = self.daemon.settings
        if settings.metrics.enabled:
            self.ops = await start_ops_server(
                self.metrics,
                self.health,
                settings.metrics.host,
                settings.metrics.port,
                max_tick_age=self.health_limit,
            )
            log.info("metrics and health on %s", self.ops.url)
        if self.notifier is not None:
            await self.notifier.start()
        await self.built.start_feed()
        if self.built.feed is not None:
            log.info("index prices from %s", self.built.feed.url)
        await self.daemon.start()
        if self.notifier is not None:
            self.notifier.lifecycle_started(crashed_before=self.daemon.crashed_before)
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
        self._install_signals()
        modes = ", ".join(
            f"{a.name}: {'LIVE' if not a.dry_run else 'dry-run'}"
            for a in self.daemon.accounts.values()
        )
        await self.tick()  # first cycle at once
        self.systemd.ready(f"watching ({modes})")
        log.info("riskd running (%s)", modes)
        try:
            await self.stop_event.wait()
        finally:
            await self.shutdown()
        return 0

    async def shutdown(self) -> None:
        self.systemd.stopping("stopping")
        with contextlib.suppress(Exception):
            self._remove_signals()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._cycle is not None and not self._cycle.done():
            log.info("waiting for the cycle in flight to finish")
            try:
                await asyncio.wait_for(asyncio.shield(self._cycle), STOP_GRACE_S)
            except TimeoutError:
                log.error("cycle in flight did not finish within %ss", STOP_GRACE_S)
        await self.daemon.stop(self.stop_signal or "stop requested")
        if self.notifier is not None:
            await self.notifier.stop(timeout=5.0)
        if self.ops is not None:
            await self.ops.stop()
        await self.built.aclose()


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
    """Build the service; nothing runs until :meth:`Service.run`."""
    import os

    clock = clock if clock is not None else WallClock()
    metrics = Metrics()
    sink: AlertSink = LoggingSink()
    systemd = SystemdNotifier(env if env is not None else os.environ)
    health = HealthState()
    limit = health_limit(settings, systemd)
    built = await build_daemon(
        settings, clock=clock, http=http, prices=prices, sink=sink, metrics=metrics
    )
    notifier: Notifier | None = None
    if settings.notify.routes:
        recorder = JournalRecorder(built.daemon.journal, clock, metrics)
        if notifier_factory is not None:
            notifier = notifier_factory(settings, clock, recorder)
        else:
            notifier = Notifier(
                settings.notify,
                clock,
                recorder=recorder,
                health_check=scheduler_health(health, clock, limit),
            )
        built.daemon.sink = _Both(notifier, sink)
    return Service(
        built,
        config_path=config_path,
        clock=clock,
        metrics=metrics,
        systemd=systemd,
        notifier=notifier,
        live_override=live_override,
        health=health,
    )


def scheduler_health(health: HealthState, clock: Clock, limit: float) -> Callable[[], bool]:
    """The notifier's ``health_check``: the scheduler ticked within ``limit`` seconds."""

    def check() -> bool:
        return health.is_healthy(clock.now(), limit)

    return check


class _Both:
    """Log every alert and hand it to the notifier."""

    def __init__(self, notifier: Notifier, log_sink: AlertSink) -> None:
        self._notifier = notifier
        self._log = log_sink

    def submit(self, alert: Alert) -> None:
        self._log.submit(alert)
        self._notifier.submit(alert)
