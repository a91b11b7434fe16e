#!/usr/bin/env python3
"""Determinism and speed of the scenario suite on virtual time (issue 17).

    .venv/bin/python bench/determinism.py [--rules DIR] [--no-load] [NAME ...]

Runs every scenario of the suite (or the NAMEs) twice with the real daemon on virtual time:
first on the machine as it is, then with a busy-loop process on every core. Prints, per
scenario, the wall seconds of each run, the market seconds, whether the checks held and
whether the two JSON summaries are identical once the wall-time fields
(:data:`riskd.demo.summary.WALL_TIME_FIELDS`) are left out; then the totals, the slowdown
under load as a ratio (baseline: the unloaded run, measured here) and the goals: identical
JSON for every scenario, the whole suite under 60 s of wall time in CI.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from riskd.demo.settings import find_rules_dir
from riskd.demo.suite import run_checked, suite_names
from riskd.demo.summary import comparable_json
from riskd.ops.logging import configure_logging
from riskd.sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def busy_cores(on: bool) -> Iterator[int]:
    """A busy-loop process on each core for the ``with`` block (none when ``on`` is false)."""
    n = (os.cpu_count() or 1) if on else 0
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield n
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def run_all(names: list[str], rules: Path) -> tuple[dict[str, Any], dict[str, float], bool]:
    out: dict[str, Any] = {}
    walls: dict[str, float] = {}
    ok = True
    for name in names:
        api = "v1" if name.endswith("@v1") else "v2"
        scenario = load_scenario(name.removesuffix("@v1"))
        t0 = time.perf_counter()
        result = run_checked(scenario, rules, out_dir=None, api=api)  # type: ignore[arg-type]
        walls[name] = time.perf_counter() - t0
        out[name] = comparable_json(result.summary)
        ok = ok and result.ok
    return out, walls, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios (default: the suite, + default@v1)")
    parser.add_argument("--rules", type=Path, default=None, help="rules directory")
    parser.add_argument("--no-load", action="store_true", help="second run unloaded too")
    args = parser.parse_args()
    # The daemon's log lines (429s, actions, …) are not the figures.
    configure_logging(level="CRITICAL")
    logging.disable(logging.CRITICAL)
    rules = find_rules_dir(args.rules, cwd=REPO)
    names = args.names or [*suite_names(), "default@v1"]
    first, walls1, ok1 = run_all(names, rules)
    with busy_cores(not args.no_load) as busy:
        second, walls2, ok2 = run_all(names, rules)
    print(f"{'scenario':22} {'market s':>8} {'wall 1':>7} {'wall 2':>7} {'checks':>6}  same JSON")
    same_all = True
    for name in names:
        same = first[name] == second[name]
        same_all = same_all and same
        differing = (
            ""
            if same
            else " " + ",".join(k for k in first[name] if first[name][k] != second[name].get(k))
        )
        print(
            f"{name:22} {first[name]['market_seconds']:>8.0f} {walls1[name]:>7.2f} "
            f"{walls2[name]:>7.2f} {'ok' if ok1 and ok2 else 'FAIL':>6}  {same}{differing}"
        )
    t1, t2 = sum(walls1.values()), sum(walls2.values())
    market = sum(first[n]["market_seconds"] for n in names)
    print(
        f"suite: {len(names)} runs, {market:.0f} market seconds; wall {t1:.1f} s unloaded "
        f"(baseline), {t2:.1f} s with {busy} busy core(s): ratio {t2 / t1:.2f}"
    )
    print(f"identical JSON on both runs (goal: all): {same_all}")
    print(f"suite wall time unloaded {t1:.1f} s (goal: under 60 s in CI)")
    if not same_all:
        sys.exit(1)


if __name__ == "__main__":
    main()
