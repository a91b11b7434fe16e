#!/usr/bin/env python3
"""``riskd backtest`` speed: one year of 1-minute candles for one account, shipped ladder.

Generates 525,600 synthetic 1-minute candles (a seeded walk, 0.08 % per minute — about 58 %
a year, like BTC — pulled back toward its start over about a month, with three crashes of 20
to 35 % that recover), then times,
in the same run and on one core:

1. the bare candle loop: every candle's four path points visited, nothing else (baseline);
2. reading the year from a CSV file (``read_candles``);
3. the engine with no riskd (path + liquidation checks only);
4. the engine with the shipped rules (``riskd/shipped_rules``) on a 3x isolated long and a
   cross long, at the default poll settings, over a year whose three crashes recover;
5. the worst case, on ``--worst-candles`` (a tenth of a year by default): a falling market
   (no pull back, crashes that do not recover), where the account ends up parked between the
   ladder's early warning (0.65) and its de-leverage line (0.7) — polled every second, as the
   daemon would poll it (see docs/backtest.md, "Poll cadence"); its per-candle cost is
   extrapolated to a year.

Prints seconds and each run's ratio to the bare loop. Goal: (4) under 60 s.
Run: ``.venv/bin/python bench/backtest_speed.py [--candles 525600] [--worst-candles 52560]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import riskd
from riskd.backtest.engine import backtest, run_path
from riskd.backtest.snapshot import AccountSnapshot, load_snapshot
from riskd.backtest.synthetic import Crash, synthetic, to_csv
from riskd.candles.read import CandleSeries, read_candles
from riskd.rules import RuleSet, load

SNAPSHOT = """account = "bench"
symbol = "BTCUSDT"
[scopes."isolated:BTCUSDT"]
balances.BTC = { available = "0.5" }
balances.USDT = { borrow = "10000" }
[scopes.cross]
balances.BTC = { available = "0.1" }
balances.USDT = { available = "200", borrow = "2000" }
"""

#: Per quarter of a candle: 0.08 % per minute.
VOLATILITY = 0.0004
#: The year wanders around its start price (log price pulled back over about a month).
REVERSION = 1 / 43_200


def bare_loop(series: CandleSeries) -> int:
    """Visit each candle's conservative path points: the floor any backtest pays."""
    n = 0
    last = series.candles[0].open
    for c in series.candles:
        for p in (c.open, c.low, c.high, c.close):
            if p < last:
                n += 1
            last = p
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candles", type=int, default=525_600)
    ap.add_argument("--worst-candles", type=int, default=52_560)
    args = ap.parse_args()
    n = args.candles
    crashes = [
        Crash(n // 4, 0.3, 30, rebound=1.0),
        Crash(n // 2, 0.2, 120, rebound=1.0),
        Crash(3 * n // 4, 0.35, 20, rebound=1.0),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "synthetic-year-1m.csv"
        t = time.perf_counter()
        candles = synthetic(n, volatility=VOLATILITY, crashes=crashes, reversion=REVERSION)
        csv.write_text(to_csv(candles, "SYNTHETIC bench candles"))
        gen_s = time.perf_counter() - t
        snap_path = Path(tmp) / "snap.toml"
        snap_path.write_text(SNAPSHOT)
        snap = load_snapshot(snap_path)
        read_s, series = timed(lambda: read_candles(csv, granularity="1m"))
    rules = load([Path(riskd.__file__).parent / "shipped_rules"]).ruleset
    assert rules is not None
    bare_s, _ = timed(lambda: bare_loop(series))
    none_s, base = timed(lambda: run_path(series, snap, None))
    riskd_s, bt = timed(lambda: backtest(series, snap, rules, baseline=base))
    r = bt.riskd
    print(f"candles: {len(series.candles)} x 1m (synthetic, generated in {gen_s:.1f} s)")
    print("times are CPU seconds of this process (one core; the wall is longer on a busy host)")
    print(f"bare candle loop: {bare_s:.2f} s (baseline)")
    print(f"read_candles (CSV): {read_s:.2f} s (x{read_s / bare_s:.0f} the bare loop)")
    print(f"engine, no riskd: {none_s:.2f} s (x{none_s / bare_s:.0f} the bare loop)")
    print(
        f"engine, shipped ladder: {riskd_s:.2f} s (x{riskd_s / bare_s:.0f} the bare loop;"
        f" goal < 60 s: {'met' if riskd_s < 60 else 'NOT met'})"
    )
    print(
        f"run: {r.polls} polls, {sum(f.actions for f in r.rules.values())} actions, "
        f"liquidations {len(r.liquidations)} with riskd / {len(base.liquidations)} without"
    )
    worst(args.worst_candles, snap, rules, bare_s / len(series.candles))


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(CPU seconds, result) of ``fn``."""
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def worst(n: int, snap: AccountSnapshot, rules: RuleSet, bare_per_candle: float) -> None:
    """Crashes that do not recover: the account stays on the ladder's line, polled densely."""
    if n <= 0:
        return
    crashes = [Crash(n // 4, 0.3, 30), Crash(n // 2, 0.2, 120), Crash(3 * n // 4, 0.35, 20)]
    candles = synthetic(n, volatility=VOLATILITY, crashes=crashes)
    series = CandleSeries("worst", 60_000, tuple(candles))
    s, bt = timed(lambda: backtest(series, snap, rules))
    per = s / n
    print(
        f"worst case (falling market, {n} candles): {s:.2f} s, {bt.riskd.polls} polls;"
        f" a year at this pace: {per * 525_600:.0f} s (x{per / bare_per_candle:.0f} the bare loop)"
    )


if __name__ == "__main__":
    main()
