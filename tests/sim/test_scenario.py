"""Scenarios: loading by name or path, clear errors, price paths, and the shipped scenarios."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.clock import ManualClock
from riskd.sim import ScenarioError, Simulator, load_scenario, scenario_names
from riskd.sim.market import PricePath, Segment
from riskd.sim.scenario import parse_scenario

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["default", "flash_crash", "slow_bleed", "whipsaw", "flaky"]


def test_shipped_scenarios_are_listed_and_load() -> None:
    """Every shipped scenario loads by bare name and keeps its expect table."""
    assert set(SHIPPED) <= set(scenario_names())
    for name in SHIPPED:
        sc = load_scenario(name)
        assert sc.name == name and sc.description
        assert sc.expect["no_liquidation"] is True
        assert sc.duration_s > 0


def test_packaged_copies_match_the_repository() -> None:
    """The packaged copies (riskd/sim/scenarios_builtin) equal their scenarios/ originals."""
    builtin = REPO / "riskd" / "sim" / "scenarios_builtin"
    copies = sorted(builtin.glob("*.toml"))
    assert {p.stem for p in copies} >= set(SHIPPED)
    for copy in copies:
        assert copy.read_text() == (REPO / "scenarios" / copy.name).read_text(), copy.name


def test_load_by_path(tmp_path: Path) -> None:
    """A file path loads that file."""
    path = tmp_path / "mine.toml"
    path.write_text('[markets]\nBTCUSDT = "100"\n')
    sc = load_scenario(path)
    assert sc.name == "mine" and sc.markets == {"BTCUSDT": D(100)}
    assert load_scenario(str(path)).source == str(path)


def test_unknown_name_lists_the_known_ones() -> None:
    """A bare name that matches nothing says which names exist."""
    with pytest.raises(ScenarioError, match=r"no scenario of that name.*default"):
        load_scenario("no_such_scenario")


def test_bad_file_reports_file_key_and_problem() -> None:
    """Every problem is reported at once with its key and what is wrong."""
    text = """
name = "bad"
colour = "blue"
[markets]
BTCUSDT = "-5"
btcusdt = "1"
[paths]
BTCUSDT = [ { kind = "linear", duration = 10 }, { kind = "zigzag" } ]
ETHUSDT = []
[[accounts]]
name = "main"
positions = [ { scope = "isolated:XRPUSDT", side = "long", leverage = "3" },
              { scope = "cross", symbol = "BTCUSDT", side = "sideways", leverage = "2" } ]
[[faults]]
error_rate = 2
"""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    message = str(info.value)
    assert message.startswith("scenario bad.toml:")
    for expected in (
        "colour: unknown key",
        "markets.BTCUSDT: '-5' must be a number > 0",
        "markets.btcusdt:",
        "paths.BTCUSDT[0]: a linear segment needs exactly one of 'to' or 'change'",
        "paths.BTCUSDT[1].kind: expected one of",
        "paths.ETHUSDT: symbol is not in [markets]",
        "accounts[0].positions[0].scope: symbol XRPUSDT is not in [markets]",
        "accounts[0].positions[1].side: expected 'long' or 'short'",
        "faults[0]: FaultSpec.error_rate must be within 0..1",
    ):
        assert expected in message, expected


def test_invalid_toml_is_reported() -> None:
    """Broken TOML names the file and the parser's complaint."""
    with pytest.raises(ScenarioError, match=r"(?s)broken\.toml.*not valid TOML"):
        parse_scenario("markets = [", "broken.toml")


def test_floats_in_toml_are_read_as_exact_decimals() -> None:
    """TOML floats become exact Decimals (0.1 stays 0.1)."""
    sc = parse_scenario("[markets]\nBTCUSDT = 0.1\n")
    assert sc.markets["BTCUSDT"] == D("0.1")


def test_segments_step_linear_hold() -> None:
    """hold keeps, step jumps, linear interpolates, the end holds."""
    path = PricePath(
        D(100),
        [
            Segment("hold", 10),
            Segment("linear", 10, change=D("-0.2")),
            Segment("step", 5, to=D(120)),
        ],
        seed=0,
        symbol="X",
    )
    assert path.price_at(5) == D(100)
    assert path.price_at(15) == D(90)
    assert path.price_at(20) == D(120)
    assert path.price_at(1000) == D(120)
    assert path.moves_between(11, 12) and not path.moves_between(1, 9)
    assert not path.moves_between(30, 40)


def test_random_walk_is_seeded() -> None:
    """The same seed walks the same way; another seed differs; prices stay positive."""
    seg = [Segment("random_walk", 100, volatility=D("0.01"))]
    a = [PricePath(D(100), seg, 1, "X").price_at(t) for t in range(100)]
    b = [PricePath(D(100), seg, 1, "X").price_at(t) for t in range(100)]
    c = [PricePath(D(100), seg, 2, "X").price_at(t) for t in range(100)]
    assert a == b and a != c and min(a) > 0 and len(set(a)) > 50


def test_default_scenario_liquidates_without_intervention() -> None:
    """Left alone, the default scenario's crash liquidates both leveraged scopes."""
    sim = Simulator(ManualClock(), "default")
    sim.add_scenario_accounts()
    before = sim.control.state("main")
    assert before.risk_rate("isolated:BTCUSDT") > D("0.15")
    assert before.risk_rate("cross") > D("0.15")
    sim.control.advance(60)
    assert sim.control.state("main").liquidations == ()
    sim.control.advance(120)
    scopes = {liq.scope for liq in sim.control.state("main").liquidations}
    assert scopes == {"isolated:BTCUSDT", "cross"}
    assert sim.index_price("BTCUSDT") == D(22500)
    assert sim.index_price("ETHUSDT") == D(1360)


def test_scenario_account_positions_reach_their_leverage() -> None:
    """A long at leverage 5 ends with assets / net assets ≈ 5 (fees aside)."""
    sim = Simulator(ManualClock(), "default")
    sim.add_account("main")
    scope = sim.control.state("main").scope("isolated:BTCUSDT")
    leverage = scope.assets_usdt / scope.equity_usdt
    assert D("4.9") < leverage < D("5.1")


def test_other_accounts_get_the_default_funding() -> None:
    """Accounts the scenario does not set up get [funding]."""
    sim = Simulator(ManualClock(), "default")
    sim.add_account("guest")
    scope = sim.control.state("guest").scope("isolated:ETHUSDT")
    assert scope.balance("ETH").available == D(1)
    assert scope.liabilities_usdt == 0


def test_scenario_faults_are_active() -> None:
    """Faults declared in the scenario are injected at start."""
    sim = Simulator(ManualClock(), "flaky")
    assert len(sim.faults.specs()) == 5


def test_explicit_funding_overrides_scenario() -> None:
    """add_account(funding=...) replaces the scenario's funding."""
    sim = Simulator(ManualClock())
    sim.add_account("x", funding={"cross": {"USDT": D(7)}})
    state = sim.control.state("x")
    assert list(state.scopes) == ["cross"]
    assert state.scope("cross").balance("USDT").available == D(7)


def test_impossible_position_is_a_clear_error() -> None:
    """A position beyond the borrowing limits fails set-up naming the account; nothing stays."""
    text = """
[markets]
BTCUSDT = "30000"
[[accounts]]
name = "greedy"
funding = { isolated.BTCUSDT = { USDT = "1000" } }
positions = [ { scope = "isolated:BTCUSDT", side = "long", leverage = "50" } ]
"""
    sim = Simulator(ManualClock(), parse_scenario(text, "greedy.toml"))
    with pytest.raises(ValueError, match=r"cannot set up account 'greedy'.*50035"):
        sim.add_account("greedy")
    assert sim.control.accounts() == []
