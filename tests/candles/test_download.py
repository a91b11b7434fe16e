"""`riskd candles download` against the simulator: paging, formats, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from riskd.bitget.endpoints_v2 import CANDLE_GRANULARITIES
from riskd.candles.read import read_candles
from riskd.sim import Simulator
from riskd.sim.candles import candle_rows

from .conftest import DAY_S, MARKET_START_MS, WALK_DAYS, SimCli

FROM = "2023-11-14"
TO = "2023-11-16"  # exclusive: the two walked days
MIN_MS = 60_000


def truth(sim: Simulator, gran: str, start_ms: int, end_ms: int) -> list[list[str]]:
    """Every closed candle of the simulated history opening in [start_ms, end_ms)."""
    g = CANDLE_GRANULARITIES[gran]
    rows = candle_rows(
        sim.exchange.market,
        "BTCUSDT",
        g,
        start_ms=start_ms,
        end_ms=end_ms - 1,
        limit=10**7,
        now_s=sim.clock.now(),
    )
    now_ms = sim.clock.now() * 1000
    return [r[:6] for r in rows if int(r[0]) + g.ms <= now_ms]


def written(path: Path) -> list[list[str]]:
    """The rows of a file the command wrote, as text fields."""
    text = path.read_text()
    if path.suffix == ".json":
        return [r[:6] for r in json.loads(text)]
    lines = text.splitlines()
    assert lines[0] == "ts,open,high,low,close,volume"
    return [line.split(",") for line in lines[1:]]


@pytest.mark.parametrize("endpoint", ["history", "candles"])
@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_download_is_the_simulated_history_without_gap_or_duplicate(
    sim_cli: SimCli, tmp_path: Path, endpoint: str, suffix: str
) -> None:
    """Two days of 1m candles over many pages equal the simulator's history, row for row."""
    out = tmp_path / f"btc.{suffix}"
    result = sim_cli.download(
        "BTCUSDT", "-g", "1m", "--from", FROM, "--to", TO, "--endpoint", endpoint, out=out
    )
    assert result.exit_code == 0, result.output
    rows = written(out)
    expected = truth(sim_cli.sim, "1min", MARKET_START_MS, MARKET_START_MS + 2 * DAY_S * 1000)
    assert len(expected) == WALK_DAYS * 1440  # the walk ends now: every minute has closed
    assert rows == expected
    pages = 15 if endpoint == "history" else 3
    assert f"in {pages} page(s)" in result.output
    series = read_candles(out, granularity="1m")
    assert len(series.candles) == len(expected) and not series.gaps


def test_an_unaligned_range_keeps_candles_opening_inside_it(
    sim_cli: SimCli, tmp_path: Path
) -> None:
    """--from rounds up to the next candle start; --to is exclusive."""
    out = tmp_path / "h.csv"
    result = sim_cli.download(
        "BTCUSDT", "-g", "1h", "--from", "2023-11-14T00:30", "--to", "2023-11-14T05:00", out=out
    )
    assert result.exit_code == 0, result.output
    hour = 3_600_000
    assert [int(r[0]) for r in written(out)] == [MARKET_START_MS + k * hour for k in (1, 2, 3, 4)]


def test_a_range_reaching_past_now_stops_at_the_last_closed_candle(
    sim_cli: SimCli, tmp_path: Path
) -> None:
    """With the exchange's clock at the market's now, the candle in progress is left out."""
    sim_cli.sim.protocol_clock = sim_cli.market
    out = tmp_path / "now.csv"
    result = sim_cli.download("BTCUSDT", "-g", "4h", "--from", FROM, "--to", "2030-01-01", out=out)
    assert result.exit_code == 0, result.output
    assert "stopping at" in result.output
    stamps = [int(r[0]) for r in written(out)]
    assert len(stamps) == WALK_DAYS * 6 and stamps[-1] + 4 * 3_600_000 <= sim_cli.market.now_ms()


def _cut(path: Path, nbytes: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-nbytes])


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_a_download_killed_mid_line_resumes_without_duplicating(
    sim_cli: SimCli, tmp_path: Path, suffix: str
) -> None:
    """A file cut mid-line (a kill) is repaired and completed; it equals a fresh download."""
    out = tmp_path / f"resumed.{suffix}"
    first = sim_cli.download(
        "BTCUSDT", "-g", "5m", "--from", FROM, "--to", "2023-11-15T07:00", out=out
    )
    assert first.exit_code == 0, first.output
    half = written(out)
    _cut(out, 25 if suffix == "csv" else 40)  # into the last row (json: also its ']')
    again = sim_cli.download("BTCUSDT", "-g", "5m", "--from", FROM, "--to", TO, out=out)
    assert again.exit_code == 0, again.output
    assert "interrupted last line" in again.output and "resuming after them" in again.output
    fresh = tmp_path / f"fresh.{suffix}"
    assert (
        sim_cli.download("BTCUSDT", "-g", "5m", "--from", FROM, "--to", TO, out=fresh).exit_code
        == 0
    )
    assert written(out) == written(fresh)
    assert len(written(out)) > len(half)
    stamps = [int(r[0]) for r in written(out)]
    assert (
        len(set(stamps))
        == len(stamps)
        == len(truth(sim_cli.sim, "5min", MARKET_START_MS, MARKET_START_MS + 2 * DAY_S * 1000))
    )


def test_a_complete_file_is_left_alone(sim_cli: SimCli, tmp_path: Path) -> None:
    """Running the same command twice downloads nothing the second time."""
    out = tmp_path / "done.csv"
    args = ("BTCUSDT", "-g", "1h", "--from", FROM, "--to", TO)
    assert sim_cli.download(*args, out=out).exit_code == 0
    before = out.read_bytes()
    again = sim_cli.download(*args, out=out)
    assert again.exit_code == 0 and "nothing to download" in again.output
    assert out.read_bytes() == before


def test_a_damaged_file_is_refused_naming_the_line(sim_cli: SimCli, tmp_path: Path) -> None:
    """A bad line before the end is not repaired: exit 65 with file and line."""
    out = tmp_path / "bad.csv"
    assert (
        sim_cli.download("BTCUSDT", "-g", "1h", "--from", FROM, "--to", TO, out=out).exit_code == 0
    )
    lines = out.read_text().splitlines(keepends=True)
    lines[3] = "17000,oops\n"
    out.write_text("".join(lines))
    result = sim_cli.download("BTCUSDT", "-g", "1h", "--from", FROM, "--to", TO, out=out)
    assert result.exit_code == 65
    assert f"{out}:4:" in result.output and "cannot be resumed" in result.output


def test_a_file_of_another_granularity_is_refused(sim_cli: SimCli, tmp_path: Path) -> None:
    """Resuming a 1m file as 5m is refused (its steps are not multiples of 5 minutes)."""
    out = tmp_path / "one-minute.csv"
    assert (
        sim_cli.download(
            "BTCUSDT", "-g", "1m", "--from", FROM, "--to", "2023-11-14T01:00", out=out
        ).exit_code
        == 0
    )
    result = sim_cli.download("BTCUSDT", "-g", "5m", "--from", FROM, "--to", TO, out=out)
    assert result.exit_code == 65 and "granularity" in result.output


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("--from", "2023-13-01", "--to", TO), "is not a date"),
        (("--from", TO, "--to", FROM), "is not before --to"),
        (("--from", FROM, "--to", FROM), "is not before --to"),
        (("--from", FROM, "--to", TO, "-g", "2m"), "is not one of Bitget's"),
        (("--from", FROM, "--to", TO, "-g", "1M"), "month line"),
        (("--from", FROM, "--to", TO, "--format", "json", "--out", "x.csv"), "--format json"),
    ],
)
def test_bad_command_lines_exit_2_with_the_reason(
    sim_cli: SimCli, args: tuple[str, ...], text: str
) -> None:
    """Bad dates, an empty range, an unknown granularity, conflicting formats: exit 2."""
    result = sim_cli.download("BTCUSDT", *args)
    assert result.exit_code == 2 and text in result.output


def test_an_unknown_symbol_is_one_clear_line(sim_cli: SimCli, tmp_path: Path) -> None:
    """The exchange's 40034 becomes 'unknown symbol' and exit 1, no traceback."""
    result = sim_cli.download("NOPEUSDT", "--from", FROM, "--to", TO, out=tmp_path / "n.csv")
    assert result.exit_code == 1
    assert "unknown symbol NOPEUSDT" in result.output and "40034" in result.output
    assert "Traceback" not in result.output


def test_a_network_failure_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """No answer at all (connection refused) ends with exit 1 and the reason."""
    from click.testing import CliRunner

    from riskd.cli.candles import CandlesDeps
    from riskd.cli.main import cli
    from riskd.clock import ManualClock

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    deps = CandlesDeps(transport=httpx.MockTransport(refuse), clock=ManualClock())
    argv = ["candles", "download", "BTCUSDT", "--from", FROM, "--to", TO, "--no-progress"]
    result = CliRunner().invoke(cli, [*argv, "--out", str(tmp_path / "x.csv")], obj=deps)
    assert result.exit_code == 1 and "connection refused" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_progress_bar_runs_and_the_config_gives_the_base_url(
    sim_cli: SimCli, tmp_path: Path
) -> None:
    """--progress draws on stderr; --config supplies base_url (and its [budget])."""
    from click.testing import CliRunner

    from riskd.cli.main import cli

    config = tmp_path / "riskd.toml"
    config.write_text('base_url = "http://from-config.test"\n[budget]\nsafety_margin = 0.2\n')
    out = tmp_path / "p.csv"
    argv = ["candles", "download", "BTCUSDT", "-g", "1h", "--from", FROM, "--to", TO]
    argv += ["--config", str(config), "--out", str(out), "--progress"]
    result = CliRunner().invoke(cli, argv, obj=sim_cli.deps())
    assert result.exit_code == 0, result.output
    assert "from http://from-config.test" in result.output
    assert "100%" in result.output and "48 candles" in result.output
    assert len(written(out)) == 48


def test_an_output_that_cannot_be_written_exits_74(sim_cli: SimCli, tmp_path: Path) -> None:
    """A file in a directory that does not exist: exit 74 naming it, nothing downloaded."""
    out = tmp_path / "no-such-dir" / "x.csv"
    result = sim_cli.download("BTCUSDT", "--from", FROM, "--to", TO, out=out)
    assert result.exit_code == 74 and f"{out}: cannot write" in result.output
    assert sim_cli.sim.counters.requests["history_candles"] == 0
