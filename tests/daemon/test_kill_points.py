"""kill -9 at every instant of an action, restart at once, the crash goes on: riskd keeps
protecting (no liquidation), sends nothing twice, and leaves no rule × scope waiting.

A "kill" is :class:`Killed` raised at a chosen point of the journal or the executor; from
that instant the dead process writes nothing more and sends nothing more (every later
journal write or call raises too), as with ``kill -9``. A new daemon is then started on the
same journal file, as systemd does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.clock import ManualClock
from riskd.daemon.executor import AcceptedHook, ExecResult, Executor
from riskd.daemon.journal import NOT_EXECUTED, Intent, Journal
from riskd.daemon.plans import ActionPlan
from riskd.daemon.wiring import ExecutorWrapper, JournalOpener
from riskd.sim import Simulator, load_scenario

from .harness import REPO_RULES, World, make_world

pytestmark = pytest.mark.slow

#: A 4x isolated BTC long and a 2.9x cross BTC long: both are liquidated by the ramp below
#: without riskd (checked by the control test).
SCENARIO = """
name = "kill-points"
[markets]
BTCUSDT = "30000"
[[accounts]]
name = "alice"
funding = { cross = { USDT = "3000" }, isolated.BTCUSDT = { USDT = "3000" } }
positions = [
  { scope = "isolated:BTCUSDT", side = "long", leverage = "4" },
  { scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "2.9" },
]
"""
START, BOTTOM, STEP = D(30000), D(16000), D(150)


class Killed(BaseException):
    """Stands for kill -9 (the daemon never catches BaseException)."""


@dataclass
class KillSwitch:
    """Dies at the ``nth`` time ``point`` is reached; dead, every later hit dies too."""

    point: str | None = None
    nth: int = 1
    seen: int = 0
    dead: bool = False
    hits: list[str] = field(default_factory=list)

    def hit(self, name: str) -> None:
        if self.dead:
            raise Killed(f"already dead, at {name}")
        self.hits.append(name)
        if name == self.point:
            self.seen += 1
            if self.seen == self.nth:
                self.dead = True
                raise Killed(name)


class KillingJournal(Journal):
    """The real journal, with kill points before and after its writes."""

    switch: KillSwitch

    async def record(self, kind: str, summary: str, **kw: object) -> None:  # type: ignore[override]
        self.switch.hit(f"record:{kind}:before")
        await super().record(kind, summary, **kw)  # type: ignore[arg-type]
        self.switch.hit(f"record:{kind}")

    async def begin_intent(self, intent: Intent, summary: str) -> None:
        self.switch.hit("intent:before")
        await super().begin_intent(intent, summary)
        self.switch.hit("intent")

    async def mark_accepted(self, intent_id: str, ref: str, *, at: float, summary: str) -> None:
        self.switch.hit("accepted:before")
        await super().mark_accepted(intent_id, ref, at=at, summary=summary)
        self.switch.hit("accepted")

    async def finish_intent(self, intent_id: str, status: str, **kw: object) -> None:  # type: ignore[override]
        kind = str(kw.get("kind", "outcome"))
        self.switch.hit(f"{kind}:before")
        await super().finish_intent(intent_id, status, **kw)  # type: ignore[arg-type]
        self.switch.hit(kind)

    async def save_rule_state(self, account: str, state_json: str, *, at: float) -> None:
        self.switch.hit("rule_state:before")
        await super().save_rule_state(account, state_json, at=at)
        self.switch.hit("rule_state")


def opener(switch: KillSwitch) -> JournalOpener:
    async def open_journal(path: Path) -> Journal:
        journal = await KillingJournal.open(path)
        assert isinstance(journal, KillingJournal)
        journal.switch = switch
        return journal

    return open_journal


class KillingExecutor:
    """The real executor; ``call`` is hit before the request, ``answer`` once the exchange
    answered (a kill there loses an executed call's answer)."""

    def __init__(self, inner: Executor, switch: KillSwitch) -> None:
        self.inner = inner
        self.switch = switch

    @property
    def dry_run(self) -> bool:
        return self.inner.dry_run

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        self.switch.hit("call")
        result = await self.inner.execute(plan, accepted)
        self.switch.hit("answer")
        return result


def executor_for(switch: KillSwitch) -> ExecutorWrapper:
    def wrap(account: str, inner: Executor) -> Executor:
        return KillingExecutor(inner, switch)

    return wrap


def flash_rules(tmp_path: Path) -> Path:
    """A flash repay as the only protection, in both scopes (early enough for the 2 s it
    takes to settle)."""
    d = tmp_path / "flash-rules"
    d.mkdir()
    rule = """
[[rule]]
name = "flash-{name}"
scope = "{scope}"
when = "riskRate >= 0.7"
for = "0s"
cooldown = "10s"
severity = "critical"
then = ["flashRepay"]
"""
    text = rule.format(name="iso", scope="isolated:*") + rule.format(name="cross", scope="cross")
    (d / "flash.toml").write_text(text)
    return d


def make_sim(tmp_path: Path) -> Simulator:
    path = tmp_path / "kill-points.toml"
    path.write_text(SCENARIO)
    clock = ManualClock()
    return Simulator(
        clock=clock, scenario=load_scenario(path), seed=0, protocol_clock=clock, monotonic=clock.now
    )


class Trial:
    """One ramp with kills: each kill is followed at once by a restart on the same journal."""

    def __init__(self, world: World, kills: list[KillSwitch]) -> None:
        self.world = world
        self.kills = kills
        self.switch = KillSwitch()
        self.restarts = 0

    @classmethod
    async def start(cls, tmp_path: Path, kills: list[KillSwitch], rules: Path) -> Trial:
        first = kills.pop(0) if kills else KillSwitch()
        world = await make_world(
            tmp_path,
            live=True,
            sim=make_sim(tmp_path),
            rules_dir=rules,
            wrap_executor=executor_for(first),
            open_journal=opener(first),
        )
        trial = cls(world, kills)
        trial.switch = first
        return trial

    async def cycle(self) -> None:
        try:
            await self.world.daemon.run_cycle()
        except Killed:
            await self._restart()

    async def _restart(self) -> None:
        # Let the dead process's other tasks meet their end (each dies at its next step).
        for _ in range(20):
            await asyncio.sleep(0)
        self.switch = self.kills.pop(0) if self.kills else KillSwitch()
        self.restarts += 1
        while True:
            try:
                await self.world.restart(
                    wrap_executor=executor_for(self.switch), open_journal=opener(self.switch)
                )
                break
            except Killed:  # killed again while starting (during reconciliation)
                for _ in range(20):
                    await asyncio.sleep(0)
                self.switch = self.kills.pop(0) if self.kills else KillSwitch()
                self.restarts += 1
        assert self.world.daemon.crashed_before, "the journal tells the previous run crashed"

    async def ramp(self) -> None:
        """BTC falls from START to BOTTOM by STEP a second, then holds for a minute."""
        sim = self.world.sim
        price = START
        while price >= BOTTOM:
            sim.control.set_price("BTCUSDT", price)
            self.world.clock.advance(1)
            await self.cycle()
            price -= STEP
        for _ in range(60):
            self.world.clock.advance(1)
            await self.cycle()


async def check_outcome(trial: Trial) -> Mapping[str, object]:
    """0 liquidations, 0 duplicates, no rule × scope left waiting, nothing left open."""
    world = trial.world
    journal = world.daemon.journal
    assert world.sim.stats.liquidations == 0, "no liquidation"
    intents = [r for r in await journal.intents() if not r.intent.dry_run]
    reached = [r for r in intents if r.status != NOT_EXECUTED]
    sent = sum(world.mutating_calls().values())
    assert sent == len(reached), (
        f"each protective call is one intent: {sent} calls, {len(reached)} intents "
        f"({[(r.intent.kind, r.status) for r in intents]})"
    )
    assert await journal.open_intents() == []
    for acc in world.daemon.accounts.values():
        assert acc.state.outstanding() == (), f"{acc.name}: a rule × scope still waits"
    assert intents, "the ladder acted"
    return {"restarts": trial.restarts, "intents": len(intents), "sent": sent}


async def run_trial(tmp_path: Path, kills: list[KillSwitch], rules: Path = REPO_RULES) -> Trial:
    trial = await Trial.start(tmp_path, list(kills), rules)
    try:
        await trial.ramp()
        await check_outcome(trial)
        assert trial.restarts == len(kills), f"every kill happened ({trial.restarts})"
    finally:
        await trial.world.close()
    return trial


KILL_POINTS = {
    "after the decision": "record:decision",
    "between rule state and intent": "intent:before",
    "at the intent (journaled, not sent)": "intent",
    "an executed call's answer lost": "answer",
    "at the outcome": "outcome",
    "after the outcome, before the rule state": "record:verified:before",
    "at the verify": "record:verified",
    "after the rule state was saved": "rule_state",
}


@pytest.mark.parametrize("point", list(KILL_POINTS.values()), ids=list(KILL_POINTS))
async def test_killed_at_a_point_of_the_first_action(tmp_path: Path, point: str) -> None:
    """Killed at one instant of the ladder's first action and restarted: the crash goes on
    and riskd keeps protecting both scopes."""
    await run_trial(tmp_path, [KillSwitch(point)])


@pytest.mark.parametrize("nth", [2, 3])
async def test_killed_at_a_later_action(tmp_path: Path, nth: int) -> None:
    """Killed at a later action's outcome (mid-ladder): the run goes on after the restart."""
    await run_trial(tmp_path, [KillSwitch("outcome", nth=nth)])


async def test_killed_twice_in_a_row(tmp_path: Path) -> None:
    """Killed at an intent, restarted, killed again at the next intent, restarted."""
    await run_trial(tmp_path, [KillSwitch("intent"), KillSwitch("intent")])


async def test_killed_during_reconciliation(tmp_path: Path) -> None:
    """Killed with an executed call's answer lost, then again while reconciliation journals
    what it found: the second restart settles it, nothing is sent twice."""
    await run_trial(tmp_path, [KillSwitch("answer"), KillSwitch("reconciled")])


async def test_killed_at_an_accepted_flash_repay(tmp_path: Path) -> None:
    """Killed once a flash repay was accepted and its id journaled: followed by id after
    the restart, the rule acts again if needed."""
    await run_trial(tmp_path, [KillSwitch("accepted")], rules=flash_rules(tmp_path))


async def test_killed_as_a_flash_repay_was_answered(tmp_path: Path) -> None:
    """Killed as the flash repay's answer arrived, before its id was journaled."""
    await run_trial(tmp_path, [KillSwitch("accepted:before")], rules=flash_rules(tmp_path))


async def test_the_ramp_liquidates_without_riskd(tmp_path: Path) -> None:
    """Control: with actions paused, the same ramp liquidates (the trials can fail)."""
    trial = await Trial.start(tmp_path, [], REPO_RULES)
    try:
        await trial.world.daemon.journal.set_paused(None, True, at=0.0, reason="control")
        await trial.ramp()
        assert trial.world.sim.stats.liquidations >= 2
    finally:
        await trial.world.close()


async def test_flash_rules_protect_without_a_kill(tmp_path: Path) -> None:
    """Baseline of the flash repay trials: the same ramp with no kill is survived."""
    await run_trial(tmp_path, [], rules=flash_rules(tmp_path))
