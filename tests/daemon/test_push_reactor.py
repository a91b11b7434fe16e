"""The push path end to end over the simulator (ASGI, ManualClock): a crossing index-price
push or an account push polls its scope at once, and the cycle acts on the fresh answer."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from riskd.bitget.gate import Priority
from riskd.daemon.push import PushReactor
from riskd.daemon.service import Service
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier

from .harness import World, make_world

ISO = "isolated:BTCUSDT"
#: The moved-price trigger off: only the push path can make a calm scope due before its time.
NO_MOVE = {"poll": {"price_move": "0"}}


async def _world(tmp_path: Path, **poll: str) -> tuple[World, PushReactor]:
    world = await make_world(tmp_path, live=True, top={"poll": {"price_move": "0", **poll}})
    await world.daemon.run_cycle()
    push = world.built.push
    assert push is not None
    return world, push


async def test_a_crossing_price_push_polls_the_scope_at_once_and_acts(tmp_path: Path) -> None:
    """BTC falls to 22000 (riskRate 0.15 → 0.76): without a push the calm scope is not due;
    the push's estimate crosses 0.7, so the next cycle polls it and de-leverages."""
    world, push = await _world(tmp_path)
    try:
        world.clock.advance(0.5)
        world.sim.control.set_price("BTCUSDT", D(22000))
        quiet = await world.daemon.run_cycle()
        assert ISO not in quiet.polled["alice"] and quiet.reports == []
        push.on_prices({"BTC": D(22000)})
        assert push.wake.is_set()
        (trig,) = [t for t in push.triggers if t.scope == ISO]
        assert trig.estimate is not None and trig.estimate > D("0.7")
        assert "crosses" in trig.reason
        assert trig.priority is Priority.PROTECTIVE  # at an acting line: the deciding read
        assert world.daemon.accounts["alice"].poller.wanted == {ISO: Priority.PROTECTIVE}
        report = await world.daemon.run_cycle()
        assert ISO in report.polled["alice"]
        assert {r.scope for r in report.reports} == {ISO}
        assert world.mutating_calls()
    finally:
        await world.close()


async def test_a_small_move_or_a_fall_of_the_rate_does_not_poll(tmp_path: Path) -> None:
    """BTC at 29000 (no line crossed, rise < 0.05) or rising: no trigger, nothing asked; a
    rise to the near line (0.4) asks an URGENT poll, not a protective one."""
    world, push = await _world(tmp_path)
    try:
        push.on_prices({"BTC": D(29000)})
        push.on_prices({"BTC": D(40000)})
        assert not push.wake.is_set() and not push.triggers
        assert not world.daemon.accounts["alice"].poller.wanted
        push.on_prices({"BTC": D(24000)})  # about 0.38: a rise of 0.23, below 0.5
        (trig,) = push.triggers
        assert trig.priority is Priority.URGENT
    finally:
        await world.close()


async def test_an_estimate_above_a_line_triggers_once_until_polled(tmp_path: Path) -> None:
    """A second push at the same crossing price asks nothing more while the poll is pending;
    after the poll the baseline is the fresh answer."""
    world, push = await _world(tmp_path)
    try:
        world.sim.control.set_price("BTCUSDT", D(23000))
        push.on_prices({"BTC": D(23000)})
        push.on_prices({"BTC": D(23000)})
        assert [t.scope for t in push.triggers] == [ISO]
        await world.daemon.run_cycle()
        push.wake.clear()
        push.on_prices({"BTC": D(23000)})
        assert not push.wake.is_set()
    finally:
        await world.close()


async def test_account_pushes_poll_at_most_once_per_gap(tmp_path: Path) -> None:
    """An account push polls its scope (URGENT); another within push.account_min_gap of that
    poll does not."""
    world = await make_world(
        tmp_path, live=True, top={**NO_MOVE, "push": {"account_min_gap": "2s"}}
    )
    try:
        await world.daemon.run_cycle()
        push = world.built.push
        assert push is not None
        push.on_account_push("alice", {ISO})  # just polled: the push has nothing new
        assert not push.triggers
        world.clock.advance(2.5)
        push.on_account_push("alice", {ISO})
        report = await world.daemon.run_cycle()
        assert ISO in report.polled["alice"]
        push.on_account_push("alice", {ISO})
        world.clock.advance(1)
        assert ISO not in (await world.daemon.run_cycle()).polled["alice"]
        world.clock.advance(1.5)
        push.on_account_push("alice", {ISO, "cross"})  # 2.5 s after both polls
        assert {ISO, "cross"} <= (await world.daemon.run_cycle()).polled["alice"]
        assert [t.scope for t in push.triggers].count(ISO) == 2
        assert {t.priority for t in push.triggers} == {Priority.URGENT}
    finally:
        await world.close()


async def test_push_disabled_builds_no_reactor(tmp_path: Path) -> None:
    """[push] enabled = false: no reactor, polling alone decides."""
    world = await make_world(tmp_path, live=False, top={"push": {"enabled": False}})
    try:
        assert world.built.push is None
    finally:
        await world.close()


async def test_the_service_runs_a_cycle_when_the_push_path_wakes_it(tmp_path: Path) -> None:
    """With 30 s poll intervals, a crossing push makes the running service poll and act
    within moments, not at the next tick."""
    slow = {"fast_interval": "30s", "interval": "30s", "slow_interval": "30s"}
    world, push = await _world(tmp_path, **slow)
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
        world.sim.control.set_price("BTCUSDT", D(22000))
        assert not world.mutating_calls()
        push.on_prices({"BTC": D(22000)})
        for _ in range(300):
            if world.mutating_calls():
                break
            await asyncio.sleep(0.01)
        assert world.mutating_calls()
    finally:
        service.stop_event.set()
        await asyncio.wait_for(task, 10)
        await world.http.aclose()
