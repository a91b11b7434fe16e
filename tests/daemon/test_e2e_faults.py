"""Fault storms during a crash, and stale data: no liquidation, no duplicate, no blind act."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.journal import OPEN_STATUSES
from riskd.notify.alert import AlertKind
from riskd.severity import Severity
from riskd.sim import FaultSpec

from .harness import MUTATING_ENDPOINTS, crash, flash_only_rules, make_sim, make_world

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_storm_of_5xx_timeouts_and_429_during_crash(tmp_path: Path, seed: int) -> None:
    """5xx, lost answers and 429 storms on every endpoint while BTC crashes: the account is
    saved, every mutating request belongs to its own journaled intent, and the simulator's
    real rate limits are never hit."""
    sim = make_sim(tmp_path, seed=seed)
    world = await make_world(tmp_path, live=True, sim=sim)
    sim.control.inject_fault(
        FaultSpec(error_rate=0.15, timeout_rate=0.1, timeout_s=0.0, rate_limit_rate=0.15)
    )
    try:
        await crash(world, "BTCUSDT", D(30000), D(19000), D(50), 2.0)
        stats = sim.stats
        assert stats.faults > 0
        assert stats.liquidations == 0
        intents = [r for r in await world.daemon.journal.intents() if not r.intent.dry_run]
        sent = sum(stats.requests.get(name, 0) for name in MUTATING_ENDPOINTS)
        assert sent <= len(intents), "one mutating request per intent at most"
        assert not [r for r in intents if r.status in OPEN_STATUSES]
        assert sim.limiter.refused == 0, "the budget kept us under the real limits"
    finally:
        await world.close()


async def test_stale_scope_alerts_and_takes_no_action(tmp_path: Path) -> None:
    """The cross account's data stops coming (maintenance): critical stale alert, and no
    protective action on it even though its risk crosses every threshold."""
    sim = make_sim(tmp_path)
    world = await make_world(tmp_path, live=True, sim=sim)
    try:
        world.clock.advance(2)
        await world.daemon.run_cycle()
        sim.control.inject_fault(
            FaultSpec(maintenance=True, endpoints=("cross_assets", "cross_risk_rate"))
        )
        await crash(world, "ETHUSDT", D(2000), D(1300), D(10), 2.0)
        stale = [a for a in world.sink.alerts if a.kind == AlertKind.STALE]
        assert stale and stale[0].severity == Severity.CRITICAL and stale[0].scope == "cross"
        assert world.mutating_calls() == {}
        cross_intents = [
            r for r in await world.daemon.journal.intents() if r.intent.scope == "cross"
        ]
        assert cross_intents == []
        assert "cross" in world.daemon.accounts["alice"].stale
    finally:
        await world.close()


async def test_unanswered_flash_repay_held_then_run_again_once(tmp_path: Path) -> None:
    """A flash repay answered by a 503 may or may not have happened: the scope is held (no
    second flash repay) until reconciliation shows it never happened, then it runs again —
    once — and the account is saved."""
    sim = make_sim(tmp_path)
    world = await make_world(tmp_path, live=True, sim=sim, rules_dir=flash_only_rules(tmp_path))
    fault = sim.control.inject_fault(FaultSpec(error_rate=1.0, endpoints=("isolated_flash_repay",)))
    try:
        price = D(30000)
        while not sim.stats.requests.get("isolated_flash_repay"):
            sim.control.set_price("BTCUSDT", price)
            world.clock.advance(2)
            await world.daemon.run_cycle()
            price -= 50
        sim.control.remove_fault(fault)
        held = await world.daemon.journal.open_intents()
        assert [r.intent.kind for r in held] == ["flashRepay"]
        # The fall slows down once the exchange answers again (the flash repay, sent a
        # second time only after it was proven not executed, needs 2 s of market time).
        await crash(world, "BTCUSDT", price, price - 100, D(10), 2.0)
        intents = await world.daemon.journal.intents()
        assert [(r.intent.kind, r.status) for r in intents if r.intent.kind == "flashRepay"] == [
            ("flashRepay", "not_executed"),
            ("flashRepay", "succeeded"),
        ]
        assert sim.stats.requests["isolated_flash_repay"] == 2
        assert sim.stats.liquidations == 0
    finally:
        await world.close()
