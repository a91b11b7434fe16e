"""``riskd backtest``: summary, plot, JSON, sweep table, refusals."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from riskd.backtest.sweep import SweepError, combinations, parse_spec
from riskd.cli.backtest import BacktestDeps, backtest
from riskd.clock import ManualClock
from riskd.sim import Simulator

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "scenarios/candles/synthetic-btcusdt-1m.csv")
SNAPSHOT = str(ROOT / "scenarios/candles/sample-snapshot.toml")

ISOLATED_RULE = """
[[rule]]
name = "de-leverage-isolated"
scope = "isolated:*"
when = "riskRate >= {{threshold}}"
cooldown = "1s"
then = [{ action = "reduce", target_risk_rate = "{{threshold}} - 0.1" }]
"""
SWEEP_RULES = (
    ISOLATED_RULE
    + """
[[rule]]
name = "de-leverage-cross"
scope = "cross"
when = "riskRate >= {{threshold}}"
cooldown = "1s"
then = [
  { action = "repay", coin = "USDT", target_risk_rate = "{{threshold}} - 0.1" },
  { action = "reduce", symbol = "*", target_risk_rate = "{{threshold}} - 0.1" },
]
"""
)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(backtest, list(args))
    return result.exit_code, result.output


def test_summary_is_printed() -> None:
    """The summary shows riskd against no riskd and the per-rule figures."""
    code, out = invoke(SAMPLE, "--snapshot", SNAPSHOT)
    assert code == 0, out
    assert "liquidated: false with riskd; true (1 liquidation) with no riskd" in out
    assert "liquidations_avoided: 1" in out
    assert "de-leverage-isolated" in out and "capital_moved" in out


def test_plot_is_written_and_json_is_valid(tmp_path: Path) -> None:
    """--plot writes a PNG; --json prints JSON with both runs and the rules."""
    png = tmp_path / "bt.png"
    code, out = invoke(SAMPLE, "--snapshot", SNAPSHOT, "--json", "--plot", str(png))
    assert code == 0, out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(out)
    assert doc["riskd"]["liquidated"] is False and doc["no_riskd"]["liquidated"] is True
    assert doc["liquidations_avoided"] == 1 and doc["plot"] == str(png)
    moved = sum(Decimal(r["capital_moved"]) for r in doc["rules"].values())
    assert moved == Decimal(doc["riskd"]["capital_moved"])


def test_sweep_table_is_sorted(tmp_path: Path) -> None:
    """Sweep runs are ordered: no liquidation first, then by capital moved."""
    rules = tmp_path / "sweep.toml"
    rules.write_text(SWEEP_RULES)
    args = [SAMPLE, "--snapshot", SNAPSHOT, "--rules", str(rules)]
    code, out = invoke(*args, "--sweep", "threshold=0.4:0.9:0.25", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert sorted(r["values"]["threshold"] for r in rows) == ["0.40", "0.65", "0.90"]
    keys = [(r["liquidated"], Decimal(r["capital_moved"])) for r in rows]
    assert keys == sorted(keys)
    code, text = invoke(*args, "--sweep", "threshold=0.4:0.9:0.25")
    assert code == 0 and "sweep: runs without a liquidation first" in text


def test_sweep_placeholder_errors(tmp_path: Path) -> None:
    """Unknown and missing placeholders are errors naming them."""
    rules = tmp_path / "sweep.toml"
    rules.write_text(SWEEP_RULES)
    args = [SAMPLE, "--snapshot", SNAPSHOT, "--rules", str(rules)]
    code, out = invoke(*args, "--sweep", "thresold=0.4:0.9:0.25")
    assert code != 0 and "thresold" in out and "{{threshold}}" in out


def test_sweep_spec_values() -> None:
    """Decimal steps with the end included; bad specs are refused."""
    assert parse_spec("t=0.6:0.8:0.05").values == tuple(
        Decimal(x) for x in ("0.6", "0.65", "0.70", "0.75", "0.80")
    )
    for bad in ("t=0.6:0.8", "t=0.8:0.6:0.1", "t=a:b:c", "=1:2:1", "t=1:2:0"):
        with pytest.raises(SweepError):
            parse_spec(bad)
    with pytest.raises(SweepError, match="given twice"):
        combinations("{{t}}", [parse_spec("t=1:2:1"), parse_spec("t=1:2:1")])


def test_bad_snapshot_is_refused(tmp_path: Path) -> None:
    """A snapshot with a float amount is refused, naming the file and the field."""
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(SNAPSHOT).read_text().replace('"0.5"', "0.5"))
    code, out = invoke(SAMPLE, "--snapshot", str(bad))
    assert code != 0 and str(bad) in out and "balances.BTC.available" in out


def test_scope_the_rules_cannot_see_is_refused(tmp_path: Path) -> None:
    """Rules for isolated scopes only: the sample's cross scope is refused before the run."""
    rules = tmp_path / "iso.toml"
    rules.write_text(ISOLATED_RULE.replace("{{threshold}}", "0.7"))
    code, out = invoke(SAMPLE, "--snapshot", SNAPSHOT, "--rules", str(rules))
    assert code != 0 and "cross" in out and "no rule" in out


def test_bad_candle_file_is_named() -> None:
    """A missing candle file is named in the error."""
    code, out = invoke("/nonexistent.csv", "--snapshot", SNAPSHOT)
    assert code != 0 and "/nonexistent.csv" in out


class Recording(httpx.AsyncBaseTransport):
    """An ASGI transport to the simulator that records each request's method."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.methods: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        return await self.inner.handle_async_request(request)


def test_from_account_reads_the_live_account_read_only(tmp_path: Path) -> None:
    """--from-account builds the snapshot from the account's assets with GETs only."""
    sim = Simulator(clock=ManualClock())
    keys = sim.add_account("alice")  # default funding: cross and isolated:BTCUSDT, some ETH
    config = tmp_path / "riskd.toml"
    config.write_text(
        f'base_url = "http://sim"\n[accounts.alice]\napi_key = "{keys.api_key}"\n'
        f'api_secret = "{keys.secret}"\napi_passphrase = "{keys.passphrase}"\n'
    )
    transport = Recording(httpx.ASGITransport(app=sim.app))
    args = [SAMPLE, "--from-account", "alice", "--symbol", "BTCUSDT", "--config", str(config)]
    result = CliRunner().invoke(backtest, [*args, "--json"], obj=BacktestDeps(transport))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["account"] == "alice" and doc["scopes"] == ["cross", "isolated:BTCUSDT"]
    assert "left out (no price in the candle file): ETH" in result.stderr
    assert transport.methods and set(transport.methods) == {"GET"}
    assert keys.secret not in result.output


def test_from_account_errors() -> None:
    """--from-account needs --symbol, and excludes --snapshot."""
    code, out = invoke(SAMPLE, "--from-account", "main")
    assert code != 0 and "--symbol" in out
    code, out = invoke(SAMPLE, "--from-account", "main", "--snapshot", SNAPSHOT)
    assert code != 0 and "one of --snapshot" in out
