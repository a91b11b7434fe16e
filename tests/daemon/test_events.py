"""Typed daemon events: published once, every subscriber gets them, none can hurt an action."""

from __future__ import annotations

import logging
from decimal import Decimal as D
from pathlib import Path

import pytest
import structlog

from riskd.daemon.cycle_events import from_evaluation
from riskd.daemon.events import DaemonEvent, EventBroker, EventKind
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.subscribers import LogLine
from riskd.notify.alert import EVERY_ROUTE, AlertKind
from riskd.rules.decisions import Evaluation, Skipped
from riskd.rules.model import ActionKind
from riskd.rules.state import EngineState
from riskd.severity import Severity

from .harness import crash, make_world


async def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One subscriber raising never stops the event reaching the next, nor the publisher."""
    broker = EventBroker()
    heard: list[EventKind] = []

    async def broken(event: DaemonEvent) -> None:
        raise RuntimeError("subscriber bug")

    async def listener(event: DaemonEvent) -> None:
        heard.append(event.kind)

    broker.subscribe("broken", broken)
    broker.subscribe("listener", listener)
    with caplog.at_level(logging.ERROR):
        await broker.publish(DaemonEvent(EventKind.DECISION, 1.0, "x decided repay"))
    assert heard == [EventKind.DECISION]
    assert broker.failures == 1
    assert "event subscriber broken failed on a decision event" in caplog.text


@pytest.mark.slow
async def test_a_broken_subscriber_never_reaches_an_action(tmp_path: Path) -> None:
    """With a subscriber that raises on every event, the crash is still survived and every
    action still journaled."""
    world = await make_world(tmp_path, live=True)
    calls = 0

    async def broken(event: DaemonEvent) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("metrics backend down")

    world.daemon.events.subscribe("broken", broken)
    try:
        await crash(world, "BTCUSDT", D(30000), D(19000), D(100), 1.0)
        assert world.sim.stats.liquidations == 0
        assert calls > 0 and world.daemon.events.failures == calls
        done = [r for r in await world.daemon.journal.intents() if r.status == SUCCEEDED]
        assert done
        outcomes = [a for a in world.sink.alerts if a.kind is AlertKind.ACTION]
        assert outcomes, "alerts still flow"
    finally:
        await world.close()


async def test_pause_and_resume_are_announced_on_every_route(tmp_path: Path) -> None:
    """`riskd pause` (a journal write) is noticed at the next cycle: one PAUSED alert on
    every route; the resume gives RESUMED; nothing repeats while the state holds."""
    world = await make_world(tmp_path, live=False)
    journal = world.daemon.journal
    try:
        await world.daemon.run_cycle()
        await journal.set_paused("alice", True, at=world.clock.now(), reason="maintenance")
        for _ in range(3):
            world.clock.advance(1)
            await world.daemon.run_cycle()
        await journal.set_paused("alice", False, at=world.clock.now())
        world.clock.advance(1)
        await world.daemon.run_cycle()
        kinds = [
            a.kind for a in world.sink.alerts if a.kind in (AlertKind.PAUSED, AlertKind.RESUMED)
        ]
        assert kinds == [AlertKind.PAUSED, AlertKind.RESUMED]
        paused = next(a for a in world.sink.alerts if a.kind is AlertKind.PAUSED)
        assert EVERY_ROUTE in paused.tags and paused.account == "alice"
        assert "this account" in paused.title
    finally:
        await world.close()


@pytest.mark.parametrize(
    ("event", "level"),
    [
        (DaemonEvent(EventKind.OUTCOME, 1.0, "repay: succeeded", Severity.CRITICAL), "info"),
        (
            DaemonEvent(EventKind.OUTCOME, 1.0, "repay: failed", Severity.CRITICAL, failure=True),
            "error",
        ),
        (DaemonEvent(EventKind.NOTIFICATION, 1.0, "resolved", Severity.CRITICAL), "info"),
        (DaemonEvent(EventKind.STALE, 1.0, "data is old", Severity.CRITICAL), "error"),
        (DaemonEvent(EventKind.SKIPPED, 1.0, "nothing free", Severity.WARNING), "warning"),
    ],
)
async def test_log_levels_follow_success_and_failure(event: DaemonEvent, level: str) -> None:
    """Success at info, failure at error, one line per event, whatever the rule's severity."""
    with structlog.testing.capture_logs() as lines:
        await LogLine()(event)
    assert len(lines) == 1
    assert lines[0]["log_level"] == level
    assert lines[0]["event"] == event.summary


def test_a_skip_on_the_way_to_an_acting_step_is_info_and_says_so() -> None:
    """Skipped steps become events: a warning when no later step of the run acted, info
    (and "a later step acted") when one did."""
    skips = (
        Skipped("r", "main", "cross", 1, ActionKind.CANCEL_ORDERS, "no open orders", 5.0, True),
        Skipped("r", "main", "cross", 2, ActionKind.REPAY, "no available USDT", 5.0, False),
    )
    got = from_evaluation(Evaluation(EngineState(), skipped=skips), 5.0, dry_run=False)
    assert [(e.kind, e.severity, e.summary) for e in got] == [
        (
            EventKind.SKIPPED,
            Severity.INFO,
            "r step 1 (cancelOrders) skipped: no open orders; a later step acted",
        ),
        (EventKind.SKIPPED, Severity.WARNING, "r step 2 (repay) skipped: no available USDT"),
    ]
