#!/usr/bin/env python3
"""Capital riskd moves against the hindsight minimum (``oracle_min``), per suite scenario.

    .venv/bin/python bench/capital_vs_oracle.py [--rules DIR] [--actions] [NAME ...]

Runs each scenario of the suite (the shipped ones and the loss families of issue 15) with the
real daemon and the given rules, on virtual time (the result does not depend on the machine's
speed), and prints one line per scenario — liquidated, capital moved, oracle_min, their
ratio — then the median and the worst ratio over the scenarios where both are above 0;
``--actions`` also prints each protective call with the USDT value it moved. The figures
are the demo's own (:mod:`riskd.demo.summary`); docs/benchmarks.md keeps a run of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from decimal import Decimal
from pathlib import Path

from riskd.demo.options import DemoOptions
from riskd.demo.runner import run_demo_virtual
from riskd.demo.settings import find_rules_dir
from riskd.demo.suite import suite_names
from riskd.ops.logging import configure_logging
from riskd.sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios (default: the whole suite)")
    parser.add_argument("--rules", type=Path, default=None, help="rules directory")
    parser.add_argument("--actions", action="store_true", help="print every protective call")
    args = parser.parse_args()
    # The daemon's log lines go to stderr at WARNING, as with `riskd demo --json`.
    configure_logging(fmt="console", level="WARNING", stream=sys.stderr, colors=False)
    rules = find_rules_dir(args.rules, cwd=REPO)
    ratios: list[Decimal] = []
    print(f"{'scenario':22} {'liquidated':>10} {'moved':>10} {'oracle_min':>10} {'ratio':>7}")
    for name in args.names or suite_names():
        scenario = load_scenario(name)
        opts = DemoOptions(scenario=scenario, rules_dir=rules, speed=None, out_dir=None)
        s = run_demo_virtual(opts)
        ratio = s.moved_over_oracle
        if ratio is not None and s.oracle_min and s.capital_moved:
            ratios.append(ratio)
        shown = "-" if ratio is None or not s.capital_moved else f"{ratio:.2f}"
        print(
            f"{name:22} {s.liquidated!s:>10} {s.capital_moved:>10.2f}"
            f" {s.oracle_min:>10.2f} {shown:>7}"
        )
        if args.actions:
            for a in s.actions:
                print(
                    f"    t={a.t:7.2f} {a.scope:18} {a.kind:11} {a.value_usdt:>10.2f}  {a.detail}"
                )
    if ratios:
        print(f"median {statistics.median(ratios):.2f}  worst {max(ratios):.2f}  (n={len(ratios)})")


if __name__ == "__main__":
    main()
