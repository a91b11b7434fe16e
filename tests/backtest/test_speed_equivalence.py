"""The run's speed-ups (cached snapshot skeletons) change nothing: identical results to the
reference run that builds every snapshot afresh from the ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import riskd
from riskd.backtest.engine import RunResult, run_path
from riskd.backtest.snapshot import AccountSnapshot, load_snapshot
from riskd.backtest.synthetic import Crash, synthetic
from riskd.candles.read import CandleSeries, read_candles
from riskd.rules import RuleSet, load

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "scenarios/candles/synthetic-btcusdt-1m.csv"
SAMPLE_SNAPSHOT = ROOT / "scenarios/candles/sample-snapshot.toml"

#: The speed bench's account: a 3x isolated long and a cross long.
BENCH_ACCOUNT = """account = "bench"
symbol = "BTCUSDT"
[scopes."isolated:BTCUSDT"]
balances.BTC = { available = "0.5" }
balances.USDT = { borrow = "10000" }
[scopes.cross]
balances.BTC = { available = "0.1" }
balances.USDT = { available = "200", borrow = "2000" }
"""


def shipped() -> RuleSet:
    loaded = load([Path(riskd.__file__).parent / "shipped_rules"])
    assert loaded.ruleset is not None
    return loaded.ruleset


def falling(n: int) -> CandleSeries:
    """A falling market (crashes that do not recover): the account parks near the ladder's
    lines and is polled every second, the bench's worst case in small."""
    crashes = [Crash(n // 4, 0.3, 30), Crash(n // 2, 0.2, 120), Crash(3 * n // 4, 0.35, 20)]
    return CandleSeries("falling", 60_000, tuple(synthetic(n, volatility=0.0004, crashes=crashes)))


def assert_same(fast: RunResult, ref: RunResult) -> None:
    assert fast.actions == ref.actions
    assert fast.liquidations == ref.liquidations
    assert fast.rules == ref.rules
    assert fast.polls == ref.polls
    assert (fast.end_equity, fast.end_price, fast.max_rate) == (
        ref.end_equity,
        ref.end_price,
        ref.max_rate,
    )
    assert fast.timeline == ref.timeline


def bench_account(tmp_path: Path) -> AccountSnapshot:
    p = tmp_path / "bench.toml"
    p.write_text(BENCH_ACCOUNT)
    return load_snapshot(p)


def test_sample_file_gives_the_reference_results() -> None:
    """On the shipped sample crash, the cached run gives the reference run's actions,
    amounts, liquidations and per-rule figures."""
    series = read_candles(SAMPLE, granularity="1m")
    snap = load_snapshot(SAMPLE_SNAPSHOT)
    fast = run_path(series, snap, shipped())
    ref = run_path(series, snap, shipped(), reference=True)
    assert ref.actions, "the sample must make riskd act, or the comparison proves little"
    assert_same(fast, ref)


@pytest.mark.slow
def test_sample_file_every_candle_polled_gives_the_reference_results() -> None:
    """With the quiet-candle skip off (every candle polled), caching changes nothing."""
    series = read_candles(SAMPLE, granularity="1m")
    snap = load_snapshot(SAMPLE_SNAPSHOT)
    fast = run_path(series, snap, shipped(), quiet_below=Decimal(0))
    ref = run_path(series, snap, shipped(), quiet_below=Decimal(0), reference=True)
    assert_same(fast, ref)


def test_falling_market_gives_the_reference_results(tmp_path: Path) -> None:
    """On a falling path (dense 1 s polls, many de-leveraging runs), the cached run gives
    the reference run's results, action by action."""
    series = falling(1200)
    snap = bench_account(tmp_path)
    fast = run_path(series, snap, shipped())
    ref = run_path(series, snap, shipped(), reference=True)
    assert len(ref.actions) >= 5 and ref.polls > 1000
    assert_same(fast, ref)


def test_no_riskd_run_gives_the_reference_results(tmp_path: Path) -> None:
    """With no rules (liquidations only), the cached run gives the reference run's."""
    series = falling(1200)
    snap = bench_account(tmp_path)
    fast = run_path(series, snap, None)
    ref = run_path(series, snap, None, reference=True)
    assert ref.liquidations
    assert_same(fast, ref)
