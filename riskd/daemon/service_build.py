"""What ``riskd run`` builds before anything runs: the parts of a
:class:`~riskd.daemon.service.Service` (:func:`build_parts`, used by
:func:`riskd.daemon.service.create_service`).

- the daemon and its clients, journal, budget and price feed
  (:func:`riskd.daemon.wiring.build_daemon`), with metrics, the systemd notifier and the
  health state;
- the notifier when ``notify.routes`` are set: alerts are journaled before delivery (the
  outbox, sent after a restart) and silences live in the journal too (``riskd silence``);
  every alert is also logged;
- the Telegram bot and the dashboard when configured (a bad setting is a ``ConfigError``).

If building fails half way, the connections already open are closed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from riskd.clock import Clock, WallClock
from riskd.daemon import cluster_node
from riskd.daemon.alerts import AlertSink, JournalRecorder, LoggingSink
from riskd.daemon.prices import PriceSource
from riskd.daemon.wiring import Built, build_daemon
from riskd.dashboard.settings import DashboardSetupError
from riskd.dashboard.wiring import daemon_dashboard
from riskd.notify.alert import Alert
from riskd.notify.notifier import Notifier
from riskd.notify.outbox_store import OutboxStore
from riskd.notify.silence_store import SilenceStore
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier
from riskd.ops.server import DEFAULT_MAX_TICK_AGE
from riskd.settings import ConfigError, Settings
from riskd.telegram.setup import TelegramSetupError, make_telegram_service

if TYPE_CHECKING:
    from riskd.cluster.keeper import LeaseKeeper
    from riskd.dashboard.app import DashboardApp
    from riskd.telegram.service import TelegramService


@dataclass(frozen=True)
class ServiceParts:
    """Everything a :class:`~riskd.daemon.service.Service` is made of; nothing runs yet."""

    built: Built
    clock: Clock
    metrics: Metrics
    systemd: SystemdNotifier
    health: HealthState
    notifier: Notifier | None
    telegram: TelegramService | None
    dashboard: DashboardApp | None
    #: This node's lease keeper in a cluster (``journal_url`` set); None alone.
    keeper: LeaseKeeper | None = None


def health_limit(settings: Settings, systemd: SystemdNotifier) -> float:
    """Seconds without a healthy tick after which ``/healthz`` (and the heartbeat) say
    unhealthy: ``WatchdogSec`` when systemd's watchdog is on for this process (the same limit
    after which systemd kills it), else ``max(30 s, 2 × poll.fast_interval)`` (the scheduler
    ticks every ``fast_interval``; 30 s is the unit's ``WatchdogSec``)."""
    watchdog = systemd.watchdog_interval()
    if watchdog is not None:
        return watchdog
    return max(DEFAULT_MAX_TICK_AGE, 2 * settings.poll.fast_interval)


async def build_parts(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http: httpx.AsyncClient | None = None,
    prices: PriceSource | None = None,
    env: Mapping[str, str] | None = None,
    notifier_factory: Callable[[Settings, Clock, JournalRecorder], Notifier] | None = None,
) -> ServiceParts:
    """Build the parts of the service (see the module docstring); nothing runs yet."""
    clock = clock if clock is not None else WallClock()
    metrics = Metrics()
    sink: AlertSink = LoggingSink()
    systemd = SystemdNotifier(env if env is not None else os.environ)
    health = HealthState()
    limit = health_limit(settings, systemd)
    built = await build_daemon(
        settings, clock=clock, http=http, prices=prices, sink=sink, metrics=metrics
    )
    keeper = cluster_node.join(settings, built.daemon)
    notifier: Notifier | None = None
    telegram: TelegramService | None = None
    dashboard: DashboardApp | None = None
    closers = built.closers
    made = False
    try:
        if settings.notify.routes:
            recorder = JournalRecorder(built.daemon.journal, clock, metrics)
            if notifier_factory is not None:
                notifier = notifier_factory(settings, clock, recorder)
            else:
                # Alerts are written to this node's journal file before delivery (sent
                # after a restart); silences live in the journal too (`riskd silence`), the
                # shared one on PostgreSQL, so a silence holds on every node.
                outbox = await OutboxStore.open(settings.journal_path)
                closers.append(("the alert outbox", outbox.close))
                silences = await SilenceStore.open(settings.journal_target)
                closers.append(("the silence store", silences.close))
                notifier = Notifier(
                    settings.notify,
                    clock,
                    recorder=recorder,
                    health_check=scheduler_health(health, clock, limit),
                    outbox_store=outbox,
                    silence_store=silences,
                )
            built.daemon.sink = _Both(notifier, sink)
        try:
            telegram = make_telegram_service(
                settings.telegram,
                journal=settings.journal_target,
                accounts=lambda: tuple(built.daemon.accounts),
                clock=clock,
                stale_after=limit,
            )
        except TelegramSetupError as exc:
            raise ConfigError(str(exc), path=exc.path, hint=exc.hint) from None
        try:
            dashboard = daemon_dashboard(
                settings, built.daemon, clock=clock, stale_after=limit, env=env
            )
        except DashboardSetupError as exc:
            raise ConfigError(str(exc), hint="see docs/dashboard.md#pause-and-resume") from None
        made = True
    finally:
        if not made:  # nothing runs yet, but connections are open: close them
            await built.aclose()
    return ServiceParts(
        built,
        clock=clock,
        metrics=metrics,
        systemd=systemd,
        health=health,
        notifier=notifier,
        telegram=telegram,
        dashboard=dashboard,
        keeper=keeper,
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
