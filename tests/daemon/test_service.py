"""The service shell: SIGTERM during an action lets it finish and journal, then stops."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.executor import AcceptedHook, ExecResult, Executor
from riskd.daemon.journal import ACCEPTED, Journal
from riskd.daemon.plans import ActionPlan
from riskd.daemon.service import Service
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier

from .harness import flash_only_rules, make_world

pytestmark = pytest.mark.slow


class Gated:
    """Waits at a gate before sending, so the test can stop the service mid-action."""

    dry_run = False

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        self.entered.set()
        await self.gate.wait()
        return await self.inner.execute(plan, accepted)


async def test_stop_during_action_finishes_and_journals_it(tmp_path: Path) -> None:
    """Stop requested while a flash repay is being sent: it is sent once, its acceptance and
    id are journaled (the next start follows it by id), and the journal records a clean
    stop (no crash on the next start)."""
    gated: list[Gated] = []

    def wrap(name: str, ex: Executor) -> Executor:
        gated.append(Gated(ex))
        return gated[0]

    world = await make_world(
        tmp_path,
        live=True,
        rules_dir=flash_only_rules(tmp_path),
        wrap_executor=wrap,
        top={"poll": {"fast_interval": "100ms", "interval": "100ms", "slow_interval": "100ms"}},
    )
    service = Service(
        world.built,
        config_path=None,
        clock=world.clock,
        metrics=Metrics(),
        systemd=SystemdNotifier({}),
        notifier=None,
        live_override=None,
    )
    task = asyncio.create_task(service.run())
    try:
        while service.health.last_tick is None:
            await asyncio.sleep(0.01)
        world.sim.control.set_price("BTCUSDT", D(21650))  # riskRate 0.92: escalate at once
        world.clock.advance(5)
        await asyncio.wait_for(gated[0].entered.wait(), 10)
        service.stop_event.set()
        await asyncio.sleep(0.2)  # the scheduler shuts down meanwhile; the cycle goes on
        assert not task.done()
        gated[0].gate.set()
        assert await asyncio.wait_for(task, 20) == 0
    finally:
        if not task.done():
            task.cancel()
        await world.http.aclose()
    assert world.mutating_calls() == {"isolated_flash_repay": 1}
    j = await Journal.open(world.settings.journal_path)
    try:
        intents = await j.intents()
        assert [(r.status, r.ref is not None) for r in intents] == [(ACCEPTED, True)]
        assert await j.get_meta("running") is False
    finally:
        await j.close()
