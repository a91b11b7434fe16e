"""Killed between intent and outcome, restarted: reconciliation finds it, nothing twice."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.executor import AcceptedHook, ExecResult, Executor
from riskd.daemon.journal import PENDING, SUCCEEDED
from riskd.daemon.plans import ActionPlan

from .harness import make_sim, make_world

pytestmark = pytest.mark.slow

RULES = """
[[rule]]
name = "act-at-half"
scope = "isolated:BTCUSDT"
when = "riskRate >= 0.5"
for = "0s"
cooldown = "10m"
severity = "critical"
then = [{action}]
"""


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (the daemon never catches BaseException)."""


class KillAfterCall:
    """Runs the real executor, then 'dies' before the outcome can be journaled.

    ``before_accepted``: die as soon as the exchange answered, before even the flash
    repay id is journaled.
    """

    dry_run = False

    def __init__(self, inner: Executor, *, before_accepted: bool = False) -> None:
        self.inner = inner
        self.before_accepted = before_accepted

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        async def hook(ref: str, summary: str) -> None:
            if self.before_accepted:
                raise Killed
            await accepted(ref, summary)

        await self.inner.execute(plan, hook)
        raise Killed


def _rules(tmp_path: Path, action: str) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "act.toml").write_text(RULES.format(action=action))
    return d


async def _kill_and_restart(tmp_path: Path, action: str, *, before_accepted: bool) -> None:
    sim = make_sim(tmp_path)
    world = await make_world(
        tmp_path,
        live=True,
        sim=sim,
        rules_dir=_rules(tmp_path, action),
        wrap_executor=lambda name, ex: KillAfterCall(ex, before_accepted=before_accepted),
    )
    try:
        sim.control.set_price("BTCUSDT", D(23000))  # riskRate ≈ 0.50
        world.clock.advance(2)
        with pytest.raises(Killed):
            await world.daemon.run_cycle()
        sent = dict(world.mutating_calls())
        assert sum(sent.values()) == 1
        open_intents = await world.daemon.journal.open_intents()
        assert [r.status for r in open_intents] == [
            "accepted" if "flash" in action and not before_accepted else PENDING
        ]
        # A new process on the same journal: it reconciles before acting again.
        await world.restart()
        assert world.daemon.crashed_before, "the journal tells the previous run crashed"
        for _ in range(10):
            world.clock.advance(2)
            await world.daemon.run_cycle()
        assert await world.daemon.journal.open_intents() == []
        rec = (await world.daemon.journal.intents())[0]
        assert rec.status == SUCCEEDED, rec
        assert rec.outcome.get("reconciled") is True
        assert world.mutating_calls() == sent, "no protective action sent twice"
        assert any("reconciled: was executed" in a.title for a in world.sink.alerts)
    finally:
        await world.close()


async def test_killed_after_repay_call(tmp_path: Path) -> None:
    """Repay sent, process killed before its outcome: found in the repay records."""
    await _kill_and_restart(
        tmp_path, '{ action = "repay", coin = "USDT", amount = "1000" }', before_accepted=False
    )


async def test_killed_after_flash_repay_accepted(tmp_path: Path) -> None:
    """Flash repay id journaled, killed while waiting: its status is followed by id."""
    await _kill_and_restart(tmp_path, '"flashRepay"', before_accepted=False)


async def test_killed_before_flash_repay_id_journaled(tmp_path: Path) -> None:
    """Killed as the flash repay answer arrived: the vanished debt tells it happened."""
    await _kill_and_restart(tmp_path, '"flashRepay"', before_accepted=True)
