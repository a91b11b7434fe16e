"""How `riskd run` wires its parts: failure metrics, notifier health, health limit, stop grace."""

from __future__ import annotations

from pathlib import Path

import httpx

from riskd.clock import ManualClock
from riskd.daemon.alerts import JournalRecorder, route_of
from riskd.daemon.journal import Journal
from riskd.daemon.prices import NoPrices
from riskd.daemon.service import create_service, health_limit
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier

from .harness import make_settings, make_sim

ROUTES = {"routes": [{"name": "phone", "urls": ["json://127.0.0.1:9/hook"]}]}


def _failures(metrics: Metrics, route: str) -> float | None:
    return metrics.registry.get_sample_value("riskd_notification_failures_total", {"route": route})


async def test_failed_deliveries_count_in_the_metric(tmp_path: Path) -> None:
    """Failed and retried deliveries count per route name; delivered and dropped do not."""
    metrics = Metrics(process_collector=False)
    journal = await Journal.open(tmp_path / "j.sqlite3")
    try:
        recorder = JournalRecorder(journal, ManualClock(), metrics)
        await recorder.record("k1", "phone[0]", "delivered", "")
        await recorder.record("k1", "phone[1]", "dropped", "")
        assert not _failures(metrics, "phone")
        await recorder.record("k1", "phone[0]", "retrying", "HTTP 500; retry in 5s")
        await recorder.record("k2", "phone[1]", "failed", "not delivered before stop")
        assert _failures(metrics, "phone") == 2.0
    finally:
        await journal.close()
    assert route_of("ops-mail[12]") == "ops-mail"


async def test_run_notifier_health_follows_the_scheduler(tmp_path: Path) -> None:
    """The notifier `riskd run` builds (and so its heartbeat) is healthy only while the
    scheduler ticked within the health limit; its failures feed the metric."""
    sim = make_sim(tmp_path)
    sim.add_account("alice")
    settings = make_settings(tmp_path, sim, live=False, top={"notify": ROUTES})
    clock = ManualClock()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim"
    ) as http:
        service = await create_service(settings, clock=clock, http=http, prices=NoPrices(), env={})
        notifier = service.notifier
        assert notifier is not None
        await notifier.start()
        try:
            assert not notifier.healthy()  # never ticked
            service.health.tick(clock.now())
            assert notifier.healthy()
            clock.advance(service.health_limit + 1)
            assert not notifier.healthy()
        finally:
            await notifier.stop(timeout=0.5)
            await service.built.aclose()


def test_health_limit_is_the_watchdog() -> None:
    """/healthz uses WatchdogSec under systemd, else max(30 s, 2 x fast_interval) — never
    the slow interval."""
    sim_settings = make_settings(
        Path("/nonexistent"),
        _FakeSim(),  # type: ignore[arg-type]
        live=False,
        top={"poll": {"fast_interval": "2s", "interval": "10s", "slow_interval": "60s"}},
    )
    assert health_limit(sim_settings, SystemdNotifier({})) == 30.0
    watchdog = SystemdNotifier({"WATCHDOG_USEC": "45000000"})
    assert health_limit(sim_settings, watchdog) == 45.0
    slow = make_settings(
        Path("/nonexistent"),
        _FakeSim(),  # type: ignore[arg-type]
        live=False,
        top={"poll": {"fast_interval": "20s", "interval": "20s", "slow_interval": "60s"}},
    )
    assert health_limit(slow, SystemdNotifier({})) == 40.0


class _Keys:
    api_key = "bg_key"
    secret = "wiring-test-secret-0123456789"
    passphrase = "wiring-pass"


class _FakeSim:
    def keys(self, name: str) -> _Keys:
        return _Keys()


def test_actions_metric_help_lists_the_real_kinds_and_outcomes() -> None:
    """riskd_actions_total's help names every action kind the runner reports and every
    outcome status, and no kind that never reaches it (notify)."""
    from riskd.daemon import actions, journal
    from riskd.rules.model import ActionKind

    help_text = next(
        m.documentation
        for m in Metrics(process_collector=False).registry.collect()
        if m.name == "riskd_actions"
    )
    inner = help_text.split("(", 1)[1]
    kinds = [k.value for k in ActionKind if k is not ActionKind.NOTIFY]
    statuses = [
        journal.SUCCEEDED,
        journal.FAILED,
        journal.NOT_EXECUTED,
        journal.UNKNOWN,
        journal.DRY_RUN,
        actions.BLOCKED,
        actions.SKIPPED,
        actions.STALE,
        actions.PAUSED,
        actions.AWAITING,
        actions.OPEN,
    ]
    words = set(inner.replace("(", " ").replace(")", " ").replace(",", " ").split())
    assert set(kinds) | set(statuses) <= words
    assert ActionKind.NOTIFY.value not in words
