"""End to end over ASGI with a virtual clock: a crash, the shipped rules, no liquidation."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.journal import DRY_RUN, SUCCEEDED

from .harness import crash, make_world

pytestmark = pytest.mark.slow


async def test_isolated_crash_is_survived_live(tmp_path: Path) -> None:
    """BTC falls 30 %: the daemon repays / flash-repays before 1.0; no liquidation."""
    world = await make_world(tmp_path, live=True)
    try:
        await crash(world, "BTCUSDT", D(30000), D(19000), D(50), 2.0)
        state = world.sim.control.state("alice")
        assert world.sim.stats.liquidations == 0
        assert state.scope("isolated:BTCUSDT").risk_rate < D("0.9")
        done = [r for r in await world.daemon.journal.intents() if r.status == SUCCEEDED]
        assert done, "some protective action succeeded"
        assert {r.intent.scope for r in done} == {"isolated:BTCUSDT"}
    finally:
        await world.close()


async def test_cross_crash_is_survived_live(tmp_path: Path) -> None:
    """ETH falls 50 % in the cross account: flash repay before 1.0; no liquidation."""
    world = await make_world(tmp_path, live=True)
    try:
        await crash(world, "ETHUSDT", D(2000), D(1000), D(5), 2.0)
        assert world.sim.stats.liquidations == 0
        assert world.sim.control.state("alice").scope("cross").risk_rate < D("0.9")
        done = [r for r in await world.daemon.journal.intents() if r.status == SUCCEEDED]
        assert {r.intent.scope for r in done} == {"cross"}
        assert sum(world.mutating_calls().values()) == len(done)
    finally:
        await world.close()


async def test_dry_run_sends_nothing_and_says_what_it_would_do(tmp_path: Path) -> None:
    """Dry-run: the same crash, no mutating request reaches the simulator; alerts and the
    journal say what would have been done, and the shadow ledger kept the de-leveraging it
    would have done (cleared once the real scope, unprotected, is liquidated)."""
    world = await make_world(tmp_path, live=False)
    try:
        await crash(world, "BTCUSDT", D(30000), D(21000), D(50), 2.0)
        assert world.mutating_calls() == {}
        intents = await world.daemon.journal.intents()
        assert intents and all(r.status == DRY_RUN and r.intent.dry_run for r in intents)
        titles = [a.title for a in world.sink.alerts if a.dry_run]
        assert any(t.startswith("DRY-RUN: would repay") for t in titles), titles
        shadow = await world.daemon.journal.events(kinds=["shadow"])
        assert any(e.data.get("what") == "applied" for e in shadow)
        if world.sim.stats.liquidations:  # nothing was sent: the real scope was liquidated
            assert any(e.data.get("what") == "cleared" for e in shadow)
        summaries = [e.summary for e in await world.daemon.journal.events(kinds=["intent"])]
        assert all(s.startswith("DRY-RUN: would ") for s in summaries)
    finally:
        await world.close()
