"""End to end over a real socket: `riskd candles download` from a served simulator writes a
file that `riskd backtest` reads (issue 17's acceptance)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from riskd.candles.read import read_candles
from riskd.cli.main import cli
from riskd.clock import WallClock
from riskd.sim.serve import serve_in_thread

from .conftest import walking_sim

SNAPSHOT = Path(__file__).resolve().parents[2] / "scenarios" / "candles" / "sample-snapshot.toml"


@pytest.mark.slow
def test_download_from_a_served_simulator_feeds_backtest(tmp_path: Path) -> None:
    """Real HTTP on 127.0.0.1: one walked day of 1m candles, then a backtest over them."""
    sim, _ = walking_sim(days=1, protocol_clock=WallClock(), rate_limits=True)
    out = tmp_path / "served.csv"
    with serve_in_thread(sim) as server:
        result = CliRunner().invoke(
            cli,
            [
                "candles",
                "download",
                "BTCUSDT",
                "--granularity",
                "1m",
                "--from",
                "2023-11-14",
                "--to",
                "2023-11-15",
                "--base-url",
                server.url,
                "--out",
                str(out),
                "--no-progress",
            ],
        )
    assert result.exit_code == 0, result.output
    assert "wrote 1440 candle(s)" in result.output and "pages/s" in result.output
    assert sim.counters.rate_limited == 0
    series = read_candles(out, granularity="1m")
    assert len(series.candles) == 1440 and not series.gaps
    bt = CliRunner().invoke(cli, ["backtest", str(out), "--snapshot", str(SNAPSHOT), "--json"])
    assert bt.exit_code == 0, bt.output
    assert isinstance(json.loads(bt.output), dict)
