#!/usr/bin/env python3
"""``riskd backtest`` speed: one year of 1-minute candles for one account, shipped ladder.

Two synthetic years of 525,600 1-minute candles each (a seeded walk, 0.08 % per minute —
about 58 % a year, like BTC — with three crashes of 20 to 35 %), timed in the same run and on
one core:

- a **wandering year**: the walk is pulled back toward its start over about a month and the
  crashes recover;
- a **falling year**: no pull back, crashes that do not recover; the account ends up parked
  between the ladder's early warning (0.65) and its de-leverage line (0.7) for weeks,
  polled every second as the daemon would poll it (docs/backtest.md, "Poll cadence").

For each: the bare candle loop (every candle's four path points visited, nothing else: the
baseline), the engine with no riskd (path + liquidation checks only), and the engine with the
shipped rules (``riskd/shipped_rules``) on a 3x isolated long and a cross long at the default
poll settings; the wandering year also times reading its CSV (``read_candles``).

Prints CPU seconds and each run's ratio to its bare loop. Goal: the ladder under 60 s a year.
Run: ``.venv/bin/python bench/backtest_speed.py [--candles 525600] [--falling-candles N]``
(``--falling-candles`` defaults to ``--candles``; 0 skips the falling year).
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
    ap.add_argument("--falling-candles", type=int, default=None)
    args = ap.parse_args()
    n = args.candles
    falling_n = n if args.falling_candles is None else args.falling_candles
    rules = load([Path(riskd.__file__).parent / "shipped_rules"]).ruleset
    assert rules is not None
    print("times are CPU seconds of this process (one core; the wall is longer on a busy host)")
    with tempfile.TemporaryDirectory() as tmp:
        snap_path = Path(tmp) / "snap.toml"
        snap_path.write_text(SNAPSHOT)
        snap = load_snapshot(snap_path)
        crashes = [
            Crash(n // 4, 0.3, 30, rebound=1.0),
            Crash(n // 2, 0.2, 120, rebound=1.0),
            Crash(3 * n // 4, 0.35, 20, rebound=1.0),
        ]
        csv = Path(tmp) / "synthetic-year-1m.csv"
        t = time.perf_counter()
        candles = synthetic(n, volatility=VOLATILITY, crashes=crashes, reversion=REVERSION)
        csv.write_text(to_csv(candles, "SYNTHETIC bench candles"))
        gen_s = time.perf_counter() - t
        read_s, series = timed(lambda: read_candles(csv, granularity="1m"))
    print(f"wandering year: {n} candles x 1m (synthetic, generated in {gen_s:.1f} s)")
    bare_s = year(series, snap, rules)
    print(f"  read_candles (CSV): {read_s:.2f} s (x{read_s / bare_s:.0f} the bare loop)")
    if falling_n > 0:
        fc = [
            Crash(falling_n // 4, 0.3, 30),
            Crash(falling_n // 2, 0.2, 120),
            Crash(3 * falling_n // 4, 0.35, 20),
        ]
        falling = synthetic(falling_n, volatility=VOLATILITY, crashes=fc)
        series = CandleSeries("falling", 60_000, tuple(falling))
        print(f"falling year: {falling_n} candles x 1m (synthetic: crashes that do not recover)")
        year(series, snap, rules)


def year(series: CandleSeries, snap: AccountSnapshot, rules: RuleSet) -> float:
    """Time one year: bare loop, no riskd, the shipped ladder; returns the bare loop's s."""
    bare_s, _ = timed(lambda: bare_loop(series))
    none_s, base = timed(lambda: run_path(series, snap, None))
    riskd_s, bt = timed(lambda: backtest(series, snap, rules, baseline=base))
    r = bt.riskd
    scale = 525_600 / len(series.candles)
    goal = "met" if riskd_s * scale < 60 else "NOT met"
    print(f"  bare candle loop: {bare_s:.2f} s (baseline)")
    print(f"  engine, no riskd: {none_s:.2f} s (x{none_s / bare_s:.0f} the bare loop)")
    print(
        f"  engine, shipped ladder: {riskd_s:.2f} s (x{riskd_s / bare_s:.0f} the bare loop;"
        f" goal < 60 s a year: {goal})"
    )
    print(
        f"  run: {r.polls} polls, {sum(f.actions for f in r.rules.values())} actions, "
        f"liquidations {len(r.liquidations)} with riskd / {len(base.liquidations)} without"
    )
    return bare_s


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(CPU seconds, result) of ``fn``."""
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


if __name__ == "__main__":
    main()
