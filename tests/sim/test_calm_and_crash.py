"""Issue 16: `riskd sim serve` holds prices until asked; a crash starts on request (control API,
`Control.crash`, `riskd sim crash`)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from riskd.cli.main import cli
from riskd.cli.sim import banner, crash_body, prepare
from riskd.clock import ManualClock
from riskd.sim import Simulator, load_scenario
from riskd.sim.crash import CrashRequest, crash_from_mapping
from riskd.sim.scenario import calm_scenario

ENV = {"RISKD_API_KEY": "k", "RISKD_API_SECRET": "s-secret", "RISKD_API_PASSPHRASE": "p"}


def _calm() -> tuple[Simulator, ManualClock]:
    clock = ManualClock(1_700_000_000.0)
    sim = Simulator(clock=clock, scenario=calm_scenario(), rate_limits=False)
    sim.add_scenario_accounts()
    return sim, clock


def test_calm_scenario_has_the_default_accounts_and_no_path() -> None:
    """The calm scenario funds and leverages the default's accounts, with no price path."""
    calm, default = calm_scenario(), load_scenario("default")
    assert calm.name == "calm" and not calm.paths
    assert calm.accounts == default.accounts and calm.markets == default.markets


def test_calm_holds_prices_and_risk_over_ten_minutes() -> None:
    """Ten minutes of market time: prices and the leveraged scopes' risk rates do not move."""
    sim, _ = _calm()
    before = sim.control.state("main")
    assert before.scope("isolated:BTCUSDT").liabilities_usdt > 0
    for _ in range(10):
        sim.control.advance(60)
    after = sim.control.state("main")
    assert after.prices == before.prices == {"BTCUSDT": D(30000), "ETHUSDT": D(2000)}
    for scope in ("cross", "isolated:BTCUSDT"):
        assert after.risk_rate(scope) == pytest.approx(before.risk_rate(scope), abs=D("0.002"))
    assert after.liquidations == ()


def test_serve_without_scenario_is_calm_and_says_so() -> None:
    """`prepare(None)` builds the calm simulator; the banner names the crash command."""
    prepared = prepare(None, None, ENV)
    assert prepared.sim.scenario.name == "calm"
    assert "main" in prepared.accounts
    text = banner(prepared, "127.0.0.1", 8765)
    assert "prices hold until asked: riskd sim crash --url http://127.0.0.1:8765" in text


def test_named_scenario_still_crashes_on_its_own() -> None:
    """`--scenario default` follows its own path: BTC is 25 % lower at 120 s, unasked."""
    prepared = prepare("default", None, ENV)
    assert prepared.sim.scenario.paths and "prices hold" not in banner(prepared, "h", 1)
    clock = ManualClock(1_700_000_000.0)
    sim = Simulator(clock=clock, scenario="default")
    sim.control.advance(120)
    assert sim.index_price("BTCUSDT") == D(22500)


def test_serve_help_says_prices_hold() -> None:
    """`riskd sim serve --help` says that without a scenario prices hold."""
    result = CliRunner().invoke(cli, ["sim", "serve", "--help"])
    assert result.exit_code == 0
    assert "Without --scenario prices hold" in " ".join(result.output.split())


def test_control_crash_by_change_starts_now() -> None:
    """A -30 % change over 60 s starts at the request: half-way after 30 s, -30 % after 60 s."""
    sim, _ = _calm()
    sim.control.advance(300)
    started = sim.control.crash(CrashRequest(change=D("-0.3"), over_s=60))
    assert started.symbols == ("BTCUSDT", "ETHUSDT")
    assert started.ends_at_s - started.starts_at_s == 60
    sim.control.advance(30)
    assert sim.index_price("BTCUSDT") == D(25500)
    sim.control.advance(30)
    assert sim.control.prices() == {"BTCUSDT": D(21000), "ETHUSDT": D(1400)}
    sim.control.advance(60)
    assert sim.index_price("BTCUSDT") == D(21000)
    liquidated = {x.scope for x in sim.control.state("main").liquidations}
    assert liquidated == {"isolated:BTCUSDT", "cross"}


def test_control_crash_by_scenario_skips_leading_holds() -> None:
    """A crash from the default scenario starts its fall at once, from the current price."""
    sim, _ = _calm()
    sim.control.set_price("BTCUSDT", D(32000))
    started = sim.control.crash(CrashRequest(scenario="default"))
    assert started.source == "scenario 'default'" and started.skipped == ()
    sim.control.advance(60)
    assert sim.index_price("BTCUSDT") == D(24000)
    assert sim.index_price("ETHUSDT") == D(1360)


def test_control_crash_as_written_keeps_the_holds() -> None:
    """`as_written` keeps the default scenario's calm minute before the fall."""
    sim, _ = _calm()
    sim.control.crash(CrashRequest(scenario="default", as_written=True))
    sim.control.advance(60)
    assert sim.index_price("BTCUSDT") == D(30000)
    sim.control.advance(60)
    assert sim.index_price("BTCUSDT") == D(22500)


def test_control_crash_gap_and_symbol_choice() -> None:
    """`over_s = 0` is an instant gap; `symbols` limits the move to the named ones."""
    sim, _ = _calm()
    sim.control.crash(CrashRequest(change=D("-0.1"), over_s=0, symbols=("ETHUSDT",)))
    assert sim.control.prices() == {"BTCUSDT": D(30000), "ETHUSDT": D(1800)}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give either 'scenario' or 'change'"),
        ({"scenario": "default", "change": "-0.1"}, "give either 'scenario' or 'change'"),
        ({"change": "-1"}, "change: -1 must be > -1"),
        ({"change": "0"}, "change: 0 moves nothing"),
        ({"change": "lots"}, "change: 'lots' is not a decimal number"),
        ({"change": "-0.1", "over_s": -5}, "over_s: -5 must be within"),
        ({"change": "-0.1", "over_s": True}, "over_s: expected a number of seconds"),
        ({"change": "-0.1", "symbols": "BTCUSDT"}, "symbols: expected a list"),
        ({"change": "-0.1", "colour": 1}, "unknown field(s) ['colour']"),
        ({"scenario": ""}, "scenario: expected a name or a path"),
        ({"scenario": "default", "as_written": "yes"}, "as_written: expected true or false"),
    ],
)
def test_crash_request_errors_name_the_field(body: dict[str, Any], message: str) -> None:
    """Each bad crash request is refused with a message naming the field and the value."""
    with pytest.raises(ValueError) as info:
        crash_from_mapping(body)
    assert message in str(info.value)


async def test_http_crash_and_its_refusals(api: Any, sim: Simulator, tmp_path: Path) -> None:
    """POST /_sim/crash starts a crash; unknown symbols, scenarios and bodies answer 400."""
    sol = tmp_path / "sol.toml"
    sol.write_text('[markets]\nSOLUSDT = "100"\n[paths]\nSOLUSDT = [{kind = "step", to = "50"}]\n')
    resp = await api.client.post("/_sim/crash", json={"change": "-0.2", "over_s": 10})
    body = resp.json()
    assert resp.status_code == 200 and body["ok"] is True
    assert body["symbols"] == ["BTCUSDT", "ETHUSDT"] and body["seconds"] == 10
    assert body["endsAtMs"] - body["startsAtMs"] == 10_000
    sim.control.advance(10)
    assert sim.index_price("BTCUSDT") == D(24000)
    gap = b'{"change": -0.25, "over_s": 0, "symbols": ["BTCUSDT"]}'  # JSON numbers: exact
    assert (await api.client.post("/_sim/crash", content=gap)).status_code == 200
    assert sim.index_price("BTCUSDT") == D(18000)
    for bad, text in (
        ({"change": "-0.2", "symbols": ["XRPUSDT"]}, "XRPUSDT not in this market"),
        ({"scenario": "no_such_one"}, "no scenario of that name"),
        ({"scenario": str(sol)}, "moves none of this market's symbols"),
        ({"nope": 1}, "unknown field(s) ['nope']"),
    ):
        resp = await api.client.post("/_sim/crash", json=bad)
        assert resp.status_code == 400 and text in resp.json()["error"], bad
    resp = await api.client.post("/_sim/crash", content=b"[1]")
    assert resp.status_code == 400 and "JSON object" in resp.json()["error"]


def _invoke(sim: Simulator, *args: str) -> Any:
    transport = httpx.ASGITransport(app=sim.app)
    return CliRunner().invoke(cli, ["sim", "crash", "--url", "http://sim", *args], obj=transport)


def test_cli_crash_against_an_in_process_simulator() -> None:
    """`riskd sim crash --drop 30% --over 60s` starts the crash and prints what moves."""
    sim, _ = _calm()
    result = _invoke(sim, "--drop", "30%", "--over", "60s")
    assert result.exit_code == 0, result.output
    assert "crash started (-0.3 over 60 s): BTCUSDT, ETHUSDT, over 60 s" in result.output
    sim.control.advance(60)
    assert sim.index_price("ETHUSDT") == D(1400)


def test_cli_crash_with_a_scenario_and_a_symbol() -> None:
    """`--scenario default --symbol BTCUSDT` moves BTC only and reports ETH as left out."""
    sim, _ = _calm()
    result = _invoke(sim, "--scenario", "default", "--symbol", "BTCUSDT")
    assert result.exit_code == 0, result.output
    assert "scenario 'default'" in result.output and "not in this market: ETHUSDT" in result.output
    sim.control.advance(60)
    assert sim.control.prices() == {"BTCUSDT": D(22500), "ETHUSDT": D(2000)}


def test_cli_rise_and_defaults() -> None:
    """`--rise 20%` moves prices up; no option at all is a 30 % drop over 60 s."""
    assert crash_body(None, None, "20%", "2m", (), False) == {
        "change": "0.2",
        "over_s": 120.0,
        "symbols": [],
    }
    assert crash_body(None, None, None, "60s", (), False)["change"] == "-0.3"
    sim, _ = _calm()
    assert _invoke(sim, "--rise", "0.5", "--over", "0").exit_code == 0
    assert sim.index_price("BTCUSDT") == D(45000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--drop", "lots"], "'lots' is not a percentage"),
        (["--drop", "100%"], "must be below 100%"),
        (["--drop", "-5%"], "must be above 0"),
        (["--over", "soon"], "'soon' is not a duration"),
        (["--drop", "10%", "--rise", "10%"], "at most one of --scenario, --drop and --rise"),
        (["--scenario", "no_such_one"], "refused the crash: scenario no_such_one"),
        (["--scenario", "default", "--over", "10s"], "a scenario has its own"),
        (["--as-written"], "--as-written applies to --scenario only"),
    ],
)
def test_cli_crash_errors(args: list[str], message: str) -> None:
    """Bad options and refused crashes exit non-zero with the reason."""
    sim, _ = _calm()
    result = _invoke(sim, *args)
    assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output


def test_cli_crash_unreachable_and_not_a_simulator() -> None:
    """A connection failure and a non-simulator answer are clear errors."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>")

    for handler, text in ((refuse, "cannot reach the simulator"), (html, "without JSON")):
        result = CliRunner().invoke(
            cli, ["sim", "crash", "--url", "http://x"], obj=httpx.MockTransport(handler)
        )
        assert result.exit_code == 1 and text in result.output
