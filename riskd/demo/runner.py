"""Run one scenario: the simulator and the real daemon in one process, on virtual time.

::

    summary = run_demo_virtual(DemoOptions(scenario=load_scenario("default")), view)

- The run is on a :class:`~riskd.virtual_time.VirtualTimeLoop`: time jumps to the next timer
  whenever the simulator, the daemon and their threads are idle, so a 3-minute scenario takes
  seconds of CPU and gives the same result on any machine, however loaded. ``opts.speed``
  paces it (at most that many market seconds per wall second) for watching the live view.
- One :class:`~riskd.clock.LoopClock` from :data:`DEMO_START` is the simulator's market clock,
  its protocol clock (server time, timestamp window), its rate-limit clock, and the daemon's
  clock: every interval, rate window and timeout is in market (virtual) seconds.
- The daemon is riskd's real one (:func:`riskd.daemon.wiring.build_daemon`), **live** against
  the simulator (the simulator is not an exchange: nothing real is traded), with the rules
  of ``rules_dir``. Its cycles are driven here exactly as ``riskd run``'s scheduler drives
  them: one :meth:`~riskd.daemon.app.Daemon.run_cycle` every ``poll.fast_interval`` (market
  seconds), never two at once, missed ticks coalesced.
- Client ↔ simulator through ``httpx.ASGITransport(app=sim.app)`` (no sockets), wrapped in
  :class:`~riskd.demo.observe.TimedTransport` for the client's read timeout.
- A recorder samples the simulator's true state every ``sample_s`` market seconds for the
  view, the plot and the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import httpx
from pydantic import SecretStr

from riskd.clock import LoopClock
from riskd.daemon.journal import IntentRecord
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.wiring import Built, build_daemon
from riskd.demo.observe import (
    CONSOLE_PLACEHOLDER_URL,
    CONSOLE_ROUTE,
    ConsoleChannel,
    DemoChannelFactory,
    DemoSink,
    TimedTransport,
)
from riskd.demo.options import DEFAULT_SPEED as DEFAULT_SPEED
from riskd.demo.options import DemoOptions as DemoOptions
from riskd.demo.results import RunRecord, build_summary
from riskd.demo.settings import demo_settings
from riskd.demo.summary import DemoSummary
from riskd.demo.timeline import Marker, Sample, scope_key
from riskd.demo.truth import Truth
from riskd.demo.view import Frame, NullView, Observer, ScopeView
from riskd.notify.alert import Alert
from riskd.notify.channel import Outgoing
from riskd.notify.notifier import Notifier
from riskd.notify.settings import NotifySettings, RouteSettings
from riskd.notify.status import NotifierStatus
from riskd.ops.server import OpsServer
from riskd.sim.simulator import SimKeys, Simulator
from riskd.sim.state import AccountState
from riskd.virtual_time import run_virtual

log = logging.getLogger(__name__)

#: Longest wait (market seconds) for the notifier to flush at the end.
NOTIFY_FLUSH_S = 2.0
#: The market clock's start (2026-01-01T00:00:00Z): fixed, so two runs read the same times.
DEMO_START = 1_767_225_600.0
SIM_BASE_URL = "http://sim.riskd.invalid"


class _Recorder:
    """Samples the simulator, feeds the view, and remembers what it saw."""

    def __init__(self, truth: Truth, view: Observer, opts: DemoOptions, keys: list[str]) -> None:
        self.truth = truth
        self.view = view
        self.opts = opts
        self.keys = keys
        self.samples: list[Sample] = []
        self.markers: list[Marker] = []
        self.max_risk: dict[str, Decimal] = {}
        self.min_distance: dict[str, Decimal] = {}
        self._seen_actions = 0
        self._seen_liqs = 0
        self.alerts = 0
        self.mode = "riskd LIVE against the simulator" if opts.daemon else "riskd OFF"

    def sample(self) -> float:
        t = self.truth.elapsed()
        states = self.truth.states()
        scopes = self.truth.scopes_now(states)
        risk: dict[str, Decimal] = {}
        views: list[ScopeView] = []
        for s in scopes:
            key = scope_key(s.account, s.scope)
            if key not in self.keys and not s.has_debt:
                continue
            if key not in self.keys:
                self.keys.append(key)
            risk[key] = s.risk_rate
            self.max_risk[key] = max(self.max_risk.get(key, Decimal(0)), s.risk_rate)
            if s.distance is not None:
                d = abs(s.distance)
                self.min_distance[key] = min(self.min_distance.get(key, d), d)
            views.append(
                ScopeView(key, s.risk_rate, self.truth.warning, self.truth.liquidation, s.distance)
            )
        prices = next(iter(states.values())).prices if states else {}
        self.samples.append(Sample(t, dict(prices), risk))
        self._events(states)
        stats = self.truth.sim.stats
        self.view.frame(
            Frame(
                self.opts.scenario.name,
                self.mode,
                t,
                self.opts.run_s,
                self.opts.speed,
                dict(prices),
                tuple(sorted(views, key=lambda v: v.key)),
                stats.total_requests,
                stats.rate_limited,
                self._seen_actions,
                self.alerts,
                self._seen_liqs > 0,
            )
        )
        return t

    def _events(self, states: Mapping[str, AccountState]) -> None:
        actions = self.truth.actions()
        for a in actions[self._seen_actions :]:
            self.markers.append(Marker(a.t, "action", a.detail, scope_key(a.account, a.scope)))
            self.view.event(a.t, "action", f"{a.account}/{a.scope}: {a.detail}")
        self._seen_actions = len(actions)
        liqs = self.truth.liquidations(states)
        for x in liqs[self._seen_liqs :]:
            key = scope_key(x.account, x.scope)
            self.markers.append(Marker(x.t, "liquidation", x.detail, key))
            self.view.event(x.t, "liquidation", f"{key} force-liquidated: {x.detail}")
            self.min_distance[key] = Decimal(0)
            self.max_risk[key] = max(self.max_risk.get(key, Decimal(0)), x.risk_rate)
        self._seen_liqs = len(liqs)

    def alert(self, alert: Alert) -> None:
        self.alerts += 1
        t = alert.at - self.truth.start_s
        where = f"{alert.account}/{alert.scope}: " if alert.account and alert.scope else ""
        self.markers.append(Marker(t, "alert", alert.title))
        self.view.event(t, "alert", f"[{alert.severity}] {where}{alert.title}")


async def _daemon_loop(
    built: Built, clock: LoopClock, interval: float, stop: asyncio.Event, errors: list[str]
) -> None:
    """``riskd run``'s scheduler, in market time: a cycle every ``interval``, coalesced."""
    daemon = built.daemon
    next_at = clock.now()
    while not stop.is_set():
        try:
            await daemon.run_cycle()
        except Exception as exc:  # recorded and shown, like the daemon service does
            log.exception("a riskd cycle failed")
            errors.append(f"{type(exc).__name__}: {exc}")
        next_at += interval
        now = clock.now()
        if next_at < now:  # missed ticks: coalesce into one, like APScheduler's coalesce=True
            next_at = now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), next_at - now)


def _notifier(opts: DemoOptions, clock: LoopClock, console: ConsoleChannel) -> Notifier:
    routes = [RouteSettings(name=CONSOLE_ROUTE, urls=(SecretStr(CONSOLE_PLACEHOLDER_URL),))]
    if opts.notify_urls:
        routes.append(
            RouteSettings(name="notify", urls=tuple(SecretStr(u) for u in opts.notify_urls))
        )
    settings = NotifySettings(
        routes=tuple(routes), group_wait=1.0, retry_initial=1.0, retry_max=30.0, send_timeout=5.0
    )
    return Notifier(settings, clock, channel_factory=DemoChannelFactory(console))


def _retry_rng(seed: int) -> Callable[[str], random.Random]:
    """Each client's retry jitter from a seeded RNG: two runs retry at the same instants."""
    return lambda name: random.Random(f"demo-retry:{seed}:{name}")


def _open_accounts(sim: Simulator) -> dict[str, SimKeys]:
    keys = sim.add_scenario_accounts()
    if not keys:
        keys = {"main": sim.add_account("main")}
    return keys


async def run_demo(
    opts: DemoOptions,
    view: Observer | None = None,
    *,
    on_console: Callable[[Outgoing], None] | None = None,
    on_ready: Callable[[Simulator], None] | None = None,
) -> DemoSummary:
    """Run ``opts.scenario`` to its end and return the summary (plots written if asked).

    Meant for a :class:`~riskd.virtual_time.VirtualTimeLoop` (:func:`run_demo_virtual`); on
    another loop it runs in real time. ``on_console`` receives every message the console
    route delivers; ``on_ready`` is called with the simulator once its accounts are set up
    (tests: inject faults, read keys).
    """
    view = view if view is not None else NullView()
    wall0 = time.monotonic()
    clock = LoopClock(DEMO_START)
    sim = Simulator(
        clock=clock,
        scenario=opts.scenario,
        seed=opts.seed,
        protocol_clock=clock,
        monotonic=clock.now,
    )
    keys = _open_accounts(sim)
    if on_ready is not None:
        on_ready(sim)
    truth = Truth(sim)
    starts = truth.scope_starts()
    rec = _Recorder(truth, view, opts, [scope_key(s.account, s.scope) for s in starts])
    sink = DemoSink(rec.alert)
    console = ConsoleChannel(on_console if on_console is not None else lambda m: None)
    transport = TimedTransport(httpx.ASGITransport(app=sim.app))
    http = httpx.AsyncClient(transport=transport, base_url=SIM_BASE_URL)
    built: Built | None = None
    notifier: Notifier | None = None
    board: OpsServer | None = None
    stop = asyncio.Event()
    errors: list[str] = []
    loop_task: asyncio.Task[None] | None = None
    intents: list[IntentRecord] = []
    health: NotifierStatus | None = None
    tmp = (
        tempfile.TemporaryDirectory(prefix="riskd-demo-", dir=_scratch_dir())
        if opts.out_dir is None
        else None
    )
    view.start()
    try:
        rec.sample()  # the starting point, before the daemon takes its first look
        if opts.daemon:
            assert opts.rules_dir is not None
            journal = _journal_path(opts, Path(tmp.name) if tmp is not None else None)
            settings = demo_settings(
                keys, opts.rules_dir, journal, SIM_BASE_URL, opts.poll, opts.api
            )
            prices = SimPriceSource(sim.index_price, lambda: sim.exchange.market.symbols, clock)
            built = await build_daemon(
                settings,
                clock=clock,
                http=http,
                prices=prices,
                sink=sink,
                rng_for=_retry_rng(opts.seed),
            )
            notifier = _notifier(opts, clock, console)
            sink.notifier = notifier
            await notifier.start()
            await built.decide_modes()  # classic or Unified Trading Account, per account
            await built.daemon.start()
            notifier.lifecycle_started(
                crashed_before=built.daemon.crashed_before, detail="demo against the simulator"
            )
            loop_task = asyncio.create_task(
                _daemon_loop(built, clock, opts.poll.fast_interval, stop, errors),
                name="riskd-demo-daemon",
            )
            if opts.dashboard_port is not None:
                from riskd.dashboard.demo import serve_for_demo

                board = await serve_for_demo(built.daemon, clock=clock, port=opts.dashboard_port)
        tick = 1
        while True:
            target = min(tick * opts.sample_s, opts.run_s)
            await clock.sleep(max(0.0, target - truth.elapsed()))
            t = rec.sample()
            if t >= opts.run_s:
                break
            if loop_task is not None and loop_task.done():
                loop_task.result()  # the loop only ends on stop: raise what ended it
            tick = max(tick + 1, int(t / opts.sample_s) + 1)
    finally:
        stop.set()
        if board is not None:
            await board.stop()
        if loop_task is not None:
            await loop_task
        if built is not None:
            intents = await built.daemon.journal.intents()
            await built.daemon.stop("demo finished")
        if notifier is not None:
            health = notifier.status()  # route health while it runs (stopping ends workers)
            await notifier.stop(timeout=NOTIFY_FLUSH_S)
        if built is not None:
            await built.aclose()
        await http.aclose()
        view.stop()
        if tmp is not None:
            tmp.cleanup()
    record = RunRecord(
        opts=opts,
        truth=truth,
        starts=starts,
        samples=tuple(rec.samples),
        markers=tuple(rec.markers),
        max_risk=rec.max_risk,
        min_distance=rec.min_distance,
        alerts=tuple(sink.alerts),
        notifier=notifier.status() if notifier is not None else None,
        notifier_health=health,
        intents=tuple(intents),
        loop_errors=tuple(errors),
        timeouts=transport.timeouts,
        wall_s=time.monotonic() - wall0,
    )
    return build_summary(record)


def run_demo_virtual(
    opts: DemoOptions,
    view: Observer | None = None,
    *,
    on_console: Callable[[Outgoing], None] | None = None,
    on_ready: Callable[[Simulator], None] | None = None,
) -> DemoSummary:
    """:func:`run_demo` on a fresh virtual-time loop paced at ``opts.speed`` (``None``: as
    fast as possible)."""
    return run_virtual(
        run_demo(opts, view, on_console=on_console, on_ready=on_ready), speed=opts.speed
    )


def _scratch_dir() -> str | None:
    """Where a journal nobody keeps goes: a RAM filesystem when there is one (the journal's
    fsyncs then cost nothing: on virtual time the loop waits for each), else the default."""
    shm = Path("/dev/shm")  # noqa: S108 - a private TemporaryDirectory is made inside it
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _journal_path(opts: DemoOptions, tmp: Path | None) -> Path:
    """A fresh journal for this run: in the output directory (so ``riskd journal`` can read
    it afterwards), or in a temporary directory when nothing is to be kept."""
    if tmp is not None or opts.out_dir is None:
        return (tmp or Path(tempfile.gettempdir())) / "journal.sqlite3"
    path = opts.out_dir / f"{opts.label}.journal.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path
