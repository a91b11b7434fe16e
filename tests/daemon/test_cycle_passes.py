"""One cycle runs a ladder's steps one after the other (each on re-polled data), but a rule
starts at most one run per tick; a flash repay decided beside an executed step is re-decided."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx

from .harness import make_sim, make_world

TWO_STEPS = """
[[rule]]
name = "two-steps"
scope = "isolated:*"
when = "riskRate >= 0.45"
for = "0s"
cooldown = "0s"
severity = "critical"
then = [
  { action = "repay", coin = "USDT", amount = "1" },
  { action = "repay", coin = "USDT", amount = "2" },
]
"""
BESIDE = """
[[rule]]
name = "small-repay"
scope = "isolated:*"
when = "riskRate >= 0.45"
for = "0s"
severity = "critical"
then = [{ action = "reduce", target_risk_rate = 0.3 }]

[[rule]]
name = "flash"
scope = "isolated:*"
when = "riskRate >= 0.45"
for = "0s"
severity = "critical"
then = ["flashRepay"]
"""


def _rules(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "r.toml").write_text(text)
    return d


async def test_a_runs_steps_follow_each_other_within_one_cycle(tmp_path: Path) -> None:
    """Both steps of a run go out in the same cycle; a rule with cooldown 0s still starts
    only one run per tick (no third repay in that cycle, the next run at the next tick)."""
    sim = make_sim(tmp_path)
    world = await make_world(tmp_path, live=True, sim=sim, rules_dir=_rules(tmp_path, TWO_STEPS))
    try:
        sim.control.set_price("BTCUSDT", D(23000))
        world.clock.advance(2)
        report = await world.daemon.run_cycle()
        amounts = [r.description for r in report.reports if r.kind == "repay"]
        assert amounts == [
            "repay 1 USDT in alice/isolated:BTCUSDT",
            "repay 2 USDT in alice/isolated:BTCUSDT",
        ]
        world.clock.advance(1)
        report = await world.daemon.run_cycle()
        assert [r.description for r in report.reports] == [
            "repay 1 USDT in alice/isolated:BTCUSDT",
            "repay 2 USDT in alice/isolated:BTCUSDT",
        ]
    finally:
        await world.close()


async def test_a_flash_repay_decided_beside_an_executed_step_is_decided_again(
    tmp_path: Path,
) -> None:
    """The reduce listed first brings the rate down; the flash repay decided in the same
    evaluation is withdrawn, decided again on the re-polled data, and not sent."""
    sim = make_sim(tmp_path)
    world = await make_world(tmp_path, live=True, sim=sim, rules_dir=_rules(tmp_path, BESIDE))
    try:
        sim.control.set_price("BTCUSDT", D(23000))
        world.clock.advance(2)
        report = await world.daemon.run_cycle()
        assert [(r.kind, r.status) for r in report.reports] == [("reduce", "succeeded")]
        assert "isolated_flash_repay" not in world.mutating_calls()
        kinds = [e.kind for e in await world.daemon.journal.events()]
        assert "deferred" in kinds
    finally:
        await world.close()


REPAY_THEN_REDUCE = """
[[rule]]
name = "deleverage"
scope = "isolated:*"
when = "riskRate >= 0.3"
for = "0s"
severity = "critical"
then = [
  { action = "repay", coin = "quote", target_risk_rate = "0.2" },
  { action = "reduce", target_risk_rate = "0.2" },
]
"""


async def test_a_confirmed_repay_is_followed_by_the_next_step_without_a_read(
    tmp_path: Path,
) -> None:
    """The reduce after a repay is sized on the repay's answer applied to the scope, not on a
    read in between (one call's latency sooner); its own re-poll shows the target met."""
    sim = make_sim(tmp_path)
    rules = _rules(tmp_path, REPAY_THEN_REDUCE)
    world = await make_world(tmp_path, live=True, sim=sim, rules_dir=rules)
    paths: list[str] = []

    async def log(request: httpx.Request) -> None:
        paths.append(request.url.path)

    world.http.event_hooks["request"].append(log)
    try:
        sim.control.set_price("BTCUSDT", D(23000))
        world.clock.advance(2)
        report = await world.daemon.run_cycle()
        assert [(r.kind, r.status) for r in report.reports] == [
            ("repay", "succeeded"),
            ("reduce", "succeeded"),
        ]
        repay = next(i for i, p in enumerate(paths) if p.endswith("/repay"))
        order = next(i for i, p in enumerate(paths) if p.endswith("/place-order"))
        assert repay < order
        assert not [p for p in paths[repay + 1 : order] if "/account/" in p]
        snap = world.daemon.accounts["alice"].poller.snapshots["isolated:BTCUSDT"]
        assert snap.adjusted_at is None and D("0.15") <= snap.risk_rate <= D("0.2")
        verified = [e.summary for e in await world.daemon.journal.events() if e.kind == "verified"]
        assert len(verified) == 2
        assert "from the exchange's answer" in verified[0]
        assert "answer" not in verified[1]
    finally:
        await world.close()
