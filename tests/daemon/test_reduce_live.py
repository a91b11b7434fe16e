"""reduce to a target risk rate, live, end to end against the in-process simulator.

A rule fires at riskRate 0.7 and runs ``reduce`` with ``target_risk_rate = 0.5``: the daemon
reads the symbol's decimals from ``/public/currencies``, sizes a market autoRepay order and
sends it. The simulator refuses more decimals than the symbol's quantityScale (40020) and
orders below its minimums, so an accepted order proves the rounding.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.clock import ManualClock
from riskd.daemon.journal import SUCCEEDED
from riskd.sim import Simulator, load_scenario

from .harness import World, make_world

pytestmark = pytest.mark.slow

TARGET = D("0.5")
RULE = """
[[rule]]
name = "reduce-to-target"
scope = "{scope}"
when = "riskRate >= 0.7"
for = "0s"
severity = "critical"
then = [{{ action = "reduce", target_risk_rate = 0.5{extra} }}]
"""
SCENARIO = """
name = "reduce"
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"
[[accounts]]
name = "alice"
funding = {{ {funding} }}
positions = [{{ {position} }}]
"""


async def _world(
    tmp_path: Path, *, scope: str, funding: str, position: str, extra: str = ""
) -> World:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "reduce.toml").write_text(RULE.format(scope=scope, extra=extra))
    path = tmp_path / "reduce.toml"
    path.write_text(SCENARIO.format(funding=funding, position=position))
    clock = ManualClock()
    sim = Simulator(
        clock=clock,
        scenario=load_scenario(path),
        seed=0,
        protocol_clock=clock,
        monotonic=clock.now,
    )
    return await make_world(tmp_path, live=True, sim=sim, rules_dir=rules)


async def _move_until_reduce(
    world: World, symbol: str, scope: str, start: D, step: D
) -> tuple[D, D]:
    """Move the price by ``step`` per cycle until the daemon sends a reduce; returns the
    simulator's riskRate just before the action and just after it."""
    price = start
    for _ in range(200):
        world.sim.control.set_price(symbol, price)
        world.clock.advance(2)
        before = world.sim.control.state("alice").risk_rate(scope)
        report = await world.daemon.run_cycle()
        reduces = [r for r in report.reports if r.kind == "reduce"]
        if reduces:
            assert len(reduces) == 1
            assert reduces[0].status == SUCCEEDED, reduces[0].detail
            return before, world.sim.control.state("alice").risk_rate(scope)
        price += step
    raise AssertionError("the reduce rule never acted")


def _debt(world: World, scope: str, coin: str) -> D:
    return world.sim.control.state("alice").scope(scope).balances[coin].liability


async def test_isolated_long_reduce_lands_on_target(tmp_path: Path) -> None:
    """An isolated long sells BTC with a 6-decimal quantity; the USDT debt falls and the
    riskRate lands near 0.5."""
    scope = "isolated:BTCUSDT"
    world = await _world(
        tmp_path,
        scope=scope,
        funding='isolated.BTCUSDT = { BTC = "0.1" }',
        position='scope = "isolated:BTCUSDT", side = "long", leverage = "5"',
    )
    try:
        debt_before = _debt(world, scope, "USDT")
        before, after = await _move_until_reduce(world, "BTCUSDT", scope, D(27000), D(-100))
        assert before >= D("0.7")
        assert _debt(world, scope, "USDT") < debt_before
        assert abs(after - TARGET) <= D("0.05") and after <= TARGET + D("0.005"), after
        rule = world.daemon.accounts["alice"].poller.snapshots[scope].trade_rules["BTCUSDT"]
        assert rule.quantity_scale == 6
        assert world.sim.stats.liquidations == 0
    finally:
        await world.close()


async def test_isolated_short_reduce_buys_back_to_target(tmp_path: Path) -> None:
    """An isolated short buys BTC back with a 2-decimal USDT amount; the BTC debt falls and
    the riskRate lands near 0.5."""
    scope = "isolated:BTCUSDT"
    world = await _world(
        tmp_path,
        scope=scope,
        funding='isolated.BTCUSDT = { USDT = "3000" }',
        position='scope = "isolated:BTCUSDT", side = "short", leverage = "5"',
    )
    try:
        debt_before = _debt(world, scope, "BTC")
        before, after = await _move_until_reduce(world, "BTCUSDT", scope, D(33000), D(100))
        assert before >= D("0.7")
        assert _debt(world, scope, "BTC") < debt_before
        assert abs(after - TARGET) <= D("0.05") and after <= TARGET + D("0.005"), after
    finally:
        await world.close()


async def test_cross_long_reduce_lands_on_target(tmp_path: Path) -> None:
    """A cross long in ETH sells ETH (4-decimal quantity) on ETHUSDT; the riskRate lands
    near 0.5."""
    world = await _world(
        tmp_path,
        scope="cross",
        funding='cross = { ETH = "1.5" }',
        position='scope = "cross", symbol = "ETHUSDT", side = "long", leverage = "2.9"',
        extra=', symbol = "ETHUSDT"',
    )
    try:
        debt_before = _debt(world, "cross", "USDT")
        before, after = await _move_until_reduce(world, "ETHUSDT", "cross", D(2000), D(-10))
        assert before >= D("0.7")
        assert _debt(world, "cross", "USDT") < debt_before
        assert abs(after - TARGET) <= D("0.05") and after <= TARGET + D("0.005"), after
    finally:
        await world.close()
