"""A whole demo run in-process: the simulator, the real daemon, the summary and the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from riskd.cli.main import cli
from riskd.demo.runner import DemoOptions, run_demo_virtual
from riskd.sim.scenario import parse_scenario
from riskd.sim.simulator import SimKeys, Simulator

SCENARIO = """
name = "gentle"
description = "a 4x isolated long in a slow fall"
duration_s = 120
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"
[[accounts]]
name = "main"
funding = { isolated.BTCUSDT = { USDT = "2500" } }
positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "4" }]
[paths]
BTCUSDT = [
  { kind = "hold", duration = 10 },
  { kind = "linear", change = "-0.25", duration = 100 },
  { kind = "hold", duration = 10 },
]
"""

RULES = """
[[rule]]
name = "repay-early"
scope = "isolated:*"
when = "riskRate >= 0.35"
for = "0s"
severity = "critical"
then = ["notify", { action = "repay", coin = "quote", target_risk_rate = 0.3 }]
message = "riskRate {riskRate:.2f} on {scope}: repaying"
"""


@pytest.mark.slow
def test_daemon_acts_and_the_summary_says_so(tmp_path: Path) -> None:
    """The real daemon repays in time; the summary, journal and plots agree with the sim."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "early.toml").write_text(RULES, encoding="utf-8")
    keys: list[SimKeys] = []

    def ready(sim: Simulator) -> None:
        keys.append(sim.keys("main"))

    opts = DemoOptions(
        scenario=parse_scenario(SCENARIO, "gentle.toml"),
        rules_dir=rules,
        out_dir=tmp_path / "out",
    )
    summary = run_demo_virtual(opts, on_ready=ready)
    assert not summary.liquidated
    assert summary.actions and summary.actions[0].kind == "repay"
    assert summary.actions[0].scope == "isolated:BTCUSDT"
    assert summary.capital_moved > 0
    assert summary.duplicates == 0
    assert summary.intents >= len(summary.actions)
    assert summary.api_calls > 0
    assert summary.oracle_min == 0  # this fall never reaches liquidation
    assert any(a.kind == "firing" for a in summary.alerts)
    assert summary.delivery.delivered > 0
    scope = summary.scopes[0]
    assert scope.first_action_at is not None and scope.first_action_at > 10
    for kind in ("png", "html"):
        assert Path(summary.plots[kind]).is_file()
    journal = tmp_path / "out" / "gentle.journal.sqlite3"
    assert journal.is_file()
    text = json.dumps(summary.to_json())
    files = b"".join(p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file())
    for secret in (keys[0].secret, keys[0].passphrase):
        assert secret not in text
        assert secret.encode() not in files


def test_cli_no_daemon_shows_the_liquidation(tmp_path: Path) -> None:
    """`riskd demo --no-daemon --json` on the default scenario reports liquidated: true."""
    result = CliRunner().invoke(
        cli,
        ["demo", "--no-daemon", "--json", "--out", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "default"
    assert data["liquidated"] is True
    assert data["actions"] == 0
    assert data["capital_moved"] == "0"
    assert float(data["oracle_min"]) > 0
    assert Path(data["plots"]["png"]).is_file()


def test_cli_reports_an_unknown_scenario() -> None:
    """A scenario that does not exist is a clear error naming it, not a traceback."""
    result = CliRunner().invoke(cli, ["demo", "--scenario", "no_such_scenario", "--json"])
    assert result.exit_code != 0
    assert "no_such_scenario" in result.output
    assert "Traceback" not in result.output
