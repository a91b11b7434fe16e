"""Per-scope pipelines: scopes act side by side, and polling goes on while one acts."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any, TypeVar

import httpx

from riskd.clock import ManualClock
from riskd.daemon.executor import AcceptedHook, ExecResult, Executor
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.plans import ActionPlan
from riskd.sim import Simulator, load_scenario

from .harness import World, make_world

MARKETS = {
    "BTCUSDT": "30000",
    "ETHUSDT": "2000",
    "SOLUSDT": "100",
    "XRPUSDT": "0.5",
    "ADAUSDT": "0.4",
    "LTCUSDT": "70",
}
REDUCE_RULE = """
[[rule]]
name = "reduce"
scope = "isolated:*"
when = "riskRate >= 0.45"
for = "0s"
cooldown = "5s"
severity = "critical"
then = [{ action = "reduce", target_risk_rate = 0.3 }]
"""
#: Poll every 0.1 s: the watcher's pace while a pipeline runs (loop time, not the clock).
FAST = {"poll": {"fast_interval": "0.1s", "flash_repay_timeout": "4s"}}


def _sim(tmp_path: Path, symbols: list[str]) -> Simulator:
    lines = ['name = "many"', "[markets]"]
    lines += [f'{s} = "{MARKETS[s]}"' for s in symbols]
    lines += ["[[accounts]]", 'name = "alice"', "positions = ["]
    lines += [f'  {{ scope = "isolated:{s}", side = "long", leverage = "4" }},' for s in symbols]
    lines += ["]", "[accounts.funding.isolated]"]
    lines += [f'{s} = {{ USDT = "1000" }}' for s in symbols]
    path = tmp_path / "many.toml"
    path.write_text("\n".join(lines) + "\n")
    clock = ManualClock()
    return Simulator(
        clock=clock, scenario=load_scenario(path), seed=0, protocol_clock=clock, monotonic=clock.now
    )


def _rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "r.toml").write_text(REDUCE_RULE)
    return d


def _fall(sim: Simulator, symbol: str, fraction: str) -> None:
    sim.control.set_price(symbol, D(MARKETS[symbol]) * (1 - D(fraction)))


class ScopeExecutor:
    """Wraps an account's executor; subclasses treat the calls of one scope differently."""

    def __init__(self, inner: Executor, scope: str) -> None:
        self.inner, self.scope = inner, scope

    @property
    def dry_run(self) -> bool:
        return self.inner.dry_run


class HeldExecutor(ScopeExecutor):
    """Holds the calls of one scope until released; the others go through at once."""

    def __init__(self, inner: Executor, scope: str) -> None:
        super().__init__(inner, scope)
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        if plan.scope == self.scope:
            self.entered.set()
            await self.release.wait()
        return await self.inner.execute(plan, accepted)


E = TypeVar("E", bound="ScopeExecutor")


async def _world_wrapping(
    tmp_path: Path, sim: Simulator, kind: type[E], top: dict[str, Any]
) -> tuple[World, list[E]]:
    """A live world whose executors wrap isolated:BTCUSDT's calls in ``kind``; the wrappers
    made (one per account) are returned beside it."""
    made: list[E] = []

    def wrap(account: str, inner: Executor) -> Executor:
        made.append(kind(inner, "isolated:BTCUSDT"))
        return made[-1]

    world = await make_world(
        tmp_path, live=True, sim=sim, rules_dir=_rules(tmp_path), wrap_executor=wrap, top=top
    )
    return world, made


async def _until(check, what: str, limit_s: float = 10.0) -> None:
    """Wait (loop time, bounded so a broken daemon fails instead of hanging) until ``check``."""
    async with asyncio.timeout(limit_s):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


async def test_scopes_crossing_together_all_act_in_the_first_cycle(tmp_path: Path) -> None:
    """Six isolated scopes crossing in one tick each get their first order in that cycle,
    though the 5/s order limit makes some wait; they go nearest liquidation first."""
    symbols = list(MARKETS)
    sim = _sim(tmp_path, symbols)
    world = await make_world(tmp_path, live=True, sim=sim, rules_dir=_rules(tmp_path))
    try:
        assert world.daemon.accounts["alice"].runner.slots is not None  # sized after the wait
        await world.daemon.run_cycle()
        for i, symbol in enumerate(symbols):
            _fall(sim, symbol, str(D("0.23") + D("0.005") * i))  # later: nearer liquidation
        world.clock.advance(2)
        report = await world.daemon.run_cycle()
        firsts = {r.scope for r in report.reports if r.kind == "reduce" and r.status == SUCCEEDED}
        assert firsts == {f"isolated:{s}" for s in symbols}
        assert world.mutating_calls()["isolated_place_order"] >= len(symbols)
        intents = await world.daemon.journal.intents()
        # Each step's legs are sized on their own scope (the runner's step state is per task).
        assert all(f"/{r.intent.scope}#" in r.intent.action_id for r in intents)
        order = [r.intent.scope for r in intents]
        firsts_in_order = list(dict.fromkeys(order))
        assert firsts_in_order == [f"isolated:{s}" for s in reversed(symbols)]
    finally:
        await world.close()


async def test_polling_goes_on_while_a_scope_acts(tmp_path: Path) -> None:
    """While one scope's order is held at the exchange, another scope that crosses its line
    meanwhile is polled, decided and acted on in the same cycle, before the first ends."""
    sim = _sim(tmp_path, ["BTCUSDT", "ETHUSDT"])
    world, held = await _world_wrapping(tmp_path, sim, HeldExecutor, FAST)
    try:
        await world.daemon.run_cycle()
        _fall(sim, "BTCUSDT", "0.24")
        world.clock.advance(2)
        cycle = asyncio.create_task(world.daemon.run_cycle())
        gate = held[-1]
        await _until(gate.entered.is_set, "BTCUSDT's order reached the executor")
        _fall(sim, "ETHUSDT", "0.24")
        world.clock.advance(2)
        await _until(
            lambda: world.mutating_calls().get("isolated_place_order", 0) >= 1,
            "ETHUSDT's order went out while BTCUSDT's was held",
        )
        assert not cycle.done()
        placed = [r.intent.scope for r in await world.daemon.journal.intents()]
        assert "isolated:ETHUSDT" in placed
        gate.release.set()
        report = await cycle
        acted = [r.scope for r in report.reports if r.status == SUCCEEDED]
        assert acted.index("isolated:ETHUSDT") < acted.index("isolated:BTCUSDT")
        assert world.mutating_calls()["isolated_place_order"] >= 2
    finally:
        for g in held:
            g.release.set()
        await world.close()


async def test_a_poll_asked_for_while_a_scope_acts_is_made_at_once(tmp_path: Path) -> None:
    """With a slow watcher pace (fast_interval 5 s of loop time), a poll the push path asks
    for while one scope's order is held is made at once, and that scope is acted on."""
    sim = _sim(tmp_path, ["BTCUSDT", "ETHUSDT"])
    slow = {"poll": {"fast_interval": "5s", "interval": "5s", "flash_repay_timeout": "4s"}}
    world, held = await _world_wrapping(tmp_path, sim, HeldExecutor, slow)
    try:
        await world.daemon.run_cycle()
        _fall(sim, "BTCUSDT", "0.24")
        world.clock.advance(2)
        cycle = asyncio.create_task(world.daemon.run_cycle())
        gate = held[-1]
        await _until(gate.entered.is_set, "BTCUSDT's order reached the executor")
        _fall(sim, "ETHUSDT", "0.24")
        world.daemon.accounts["alice"].poller.request_poll(["isolated:ETHUSDT"])
        await _until(
            lambda: world.mutating_calls().get("isolated_place_order", 0) >= 1,
            "ETHUSDT's order went out while BTCUSDT's was held",
            limit_s=3.0,
        )
        assert not cycle.done()
        gate.release.set()
        await cycle
    finally:
        for g in held:
            g.release.set()
        await world.close()


async def test_a_poll_asked_for_during_a_watcher_round_is_made_right_after_it(
    tmp_path: Path,
) -> None:
    """A poll the push path asks for while the watcher's reads are out is made as soon as
    that round is done, not one fast_interval (5 s of loop time here) later."""
    sim = _sim(tmp_path, ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    slow = {"poll": {"fast_interval": "5s", "interval": "5s", "flash_repay_timeout": "4s"}}
    world, held = await _world_wrapping(tmp_path, sim, HeldExecutor, slow)
    reads_open, read_held = asyncio.Event(), asyncio.Event()
    reads_open.set()

    async def hold_reads(request: httpx.Request) -> None:
        if request.url.path.endswith("/isolated/account/assets") and not reads_open.is_set():
            read_held.set()
            await reads_open.wait()

    world.http.event_hooks["request"].append(hold_reads)
    poller = world.daemon.accounts["alice"].poller
    try:
        await world.daemon.run_cycle()
        _fall(sim, "BTCUSDT", "0.24")
        world.clock.advance(2)
        cycle = asyncio.create_task(world.daemon.run_cycle())
        await _until(held[-1].entered.is_set, "BTCUSDT's order reached the executor")
        reads_open.clear()
        poller.request_poll(["isolated:ETHUSDT"])  # the watcher's round: its read is held
        await _until(read_held.is_set, "the watcher's read went out")
        _fall(sim, "SOLUSDT", "0.24")
        poller.request_poll(["isolated:SOLUSDT"])  # asked for while that round is out
        reads_open.set()
        await _until(
            lambda: world.mutating_calls().get("isolated_place_order", 0) >= 1,
            "SOLUSDT's order went out right after the round",
            limit_s=3.0,
        )
        assert not cycle.done()
        held[-1].release.set()
        await cycle
    finally:
        reads_open.set()
        for g in held:
            g.release.set()
        await world.close()


class RefusingExecutor(ScopeExecutor):
    """Answers every call of one scope as a 429 would: not executed, for a passing reason."""

    def __init__(self, inner: Executor, scope: str) -> None:
        super().__init__(inner, scope)
        self.refused = 0

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        if plan.scope == self.scope:
            self.refused += 1
            return ExecResult("failed", "[429] Too Many Requests", code="429", transient=True)
        return await self.inner.execute(plan, accepted)


async def test_a_step_refused_for_a_passing_reason_has_its_scope_read_again_at_once(
    tmp_path: Path,
) -> None:
    """A step still refused with 429 after its retries asks an urgent poll of its scope for
    the next round (its rule acts again on fresh data), not one poll interval later."""
    sim = _sim(tmp_path, ["BTCUSDT"])
    world, refusing = await _world_wrapping(tmp_path, sim, RefusingExecutor, FAST)
    try:
        await world.daemon.run_cycle()
        _fall(sim, "BTCUSDT", "0.24")
        world.clock.advance(2)
        await world.daemon.run_cycle()
        assert refusing[-1].refused >= 1
        poller = world.daemon.accounts["alice"].poller
        assert "isolated:BTCUSDT" in poller.wanted
        assert "isolated:BTCUSDT" in poller.urgent
        assert "isolated:BTCUSDT" in poller.due(world.clock.now())
    finally:
        await world.close()
