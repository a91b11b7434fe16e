"""The loss-family scenarios of issue 15 (scenarios/families/) are real threats: the simulator
alone, with nobody acting, liquidates each one."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.clock import ManualClock
from riskd.sim import AccountState, Simulator, load_scenario
from riskd.sim.scenario import family_scenario_names, scenario_names

REPO = Path(__file__).resolve().parents[2]
FAMILIES = [
    "bleed_then_gaps",  # a slow bleed, then widening gaps
    "calm_crash_resting_order",  # -63.5 % in 10 s after calm, a resting sell, 429s
    "cross_long_and_short",  # one cross account long one coin and short another
    "cross_short",
    "cross_two_debts",
    "cross_unnamed_coin",
    "gap_steps",
    "iso_short_gaps",  # an isolated short squeezed in gaps
    "many_isolated",
    "many_isolated_fast",  # twenty 5x scopes falling 33-37 % in 20 s
    "many_isolated_gaps_slow",  # twelve scopes in gaps, 1.5 s latency, 429s
    "many_isolated_shorts_slow",  # eight shorts, 1.2 s latency, orders fill 1 s late
    "mixed_uta_classic",  # issue 18: a classic and a UTA account side by side
    "slow_settlement",  # repays, orders and flash repays settle seconds late
    "storm_gaps",  # gaps while 70 % of calls answer 429
    "tiny_scopes",  # positions near the minimum order sizes
    "uta_crash",  # issue 18: a Unified Trading Account
]


def _run(name: str, seconds: float | None = None) -> tuple[Simulator, AccountState]:
    """Open the scenario's accounts and let its market run (to its end) with nobody acting."""
    scenario = load_scenario(name)
    sim = Simulator(clock=ManualClock(1_700_000_000.0), scenario=scenario)
    sim.add_scenario_accounts()
    sim.control.advance(scenario.duration_s if seconds is None else seconds)
    return sim, sim.control.state("main")


def test_families_are_listed_loadable_and_kept_out_of_the_suite() -> None:
    """Each family loads by bare name, carries an [expect] table, and is not in the suite list."""
    assert family_scenario_names() == FAMILIES
    assert not set(FAMILIES) & set(scenario_names())
    for name in FAMILIES:
        scenario = load_scenario(name)
        assert scenario.name == name and scenario.description
        assert scenario.expect["no_liquidation"] is True


def test_packaged_family_copies_match_the_repository() -> None:
    """riskd/sim/scenarios_builtin/families holds the same files as scenarios/families."""
    builtin = REPO / "riskd" / "sim" / "scenarios_builtin" / "families"
    assert sorted(p.stem for p in builtin.glob("*.toml")) == FAMILIES
    for copy in builtin.glob("*.toml"):
        assert copy.read_text() == (REPO / "scenarios" / "families" / copy.name).read_text()


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_is_liquidated_without_riskd(name: str) -> None:
    """Run to its end with nobody acting, the scenario's account is liquidated."""
    _, state = _run(name)
    assert state.liquidations, f"{name}: no liquidation without riskd"
    assert all(x.risk_rate >= 1 for x in state.liquidations)


def test_mixed_uta_classic_loses_both_accounts() -> None:
    """The classic account is liquidated too, not only the UTA one ("main")."""
    sim, main = _run("mixed_uta_classic")
    classic = sim.control.state("classic")
    assert main.liquidations and classic.liquidations
    assert {x.scope for x in classic.liquidations} == {"cross"}


def test_gap_steps_jumps_over_every_line() -> None:
    """Just before the last step the rate is below 0.5 (no line crossed); the step liquidates."""
    sim, before = _run("gap_steps", 74)
    rate = before.risk_rate("isolated:BTCUSDT")
    assert D("0.4") < rate < D("0.5") and before.liquidations == ()
    sim.control.advance(1)
    (liq,) = sim.control.state("main").liquidations
    assert liq.scope == "isolated:BTCUSDT" and liq.risk_rate > 2


def test_cross_short_owes_btc_only() -> None:
    """At the start the cross account owes BTC (borrowed and sold), not USDT."""
    _, state = _run("cross_short", 0)
    cross = state.scope("cross")
    assert cross.balance("BTC").borrow > 0 and cross.balance("USDT").borrow == 0
    assert cross.balance("ETH").available == 1


def test_cross_two_debts_owes_two_coins() -> None:
    """At the start the cross account owes both BTC and ETH."""
    _, state = _run("cross_two_debts", 0)
    owed = {c for c, b in state.scope("cross").balances.items() if b.borrow > 0}
    assert owed == {"BTC", "ETH"}


def test_cross_unnamed_coin_is_outside_the_shipped_ladder() -> None:
    """The account holds SOL, a symbol the shipped ladder never names."""
    _, state = _run("cross_unnamed_coin", 0)
    assert state.scope("cross").balance("SOL").available > 0
    assert "SOLUSDT" not in (REPO / "rules" / "ladder.toml").read_text()


def test_many_isolated_loses_all_twelve_scopes() -> None:
    """Twelve isolated scopes on twelve symbols, and every one is liquidated."""
    _, state = _run("many_isolated")
    isolated = [s for s in state.scopes if s.startswith("isolated:")]
    assert len(isolated) == 12
    assert {x.scope for x in state.liquidations} == set(isolated)
