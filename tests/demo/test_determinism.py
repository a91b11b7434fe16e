"""On virtual time a scenario gives the same JSON on every run, however loaded the machine
(issue 17): the second run of each scenario here has a busy loop on every core."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from riskd.demo.settings import find_rules_dir
from riskd.demo.suite import run_checked
from riskd.demo.summary import WALL_TIME_FIELDS, comparable_json
from riskd.sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
#: A 429 storm (retries, backoff), a whipsaw around thresholds (timing of for/clear), and a
#: multi-scope loss family (several scopes acted on in one cycle).
SUBSET = ("rate_limit_storm", "whipsaw_thresholds", "cross_two_debts")


@contextmanager
def busy_cores() -> Iterator[None]:
    """A busy-loop process on each core for the ``with`` block."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def test_wall_time_is_the_only_field_left_out(make_summary: object) -> None:
    """The comparison drops exactly the named wall-time fields, nothing of the outcome."""
    summary = make_summary()  # type: ignore[operator]
    full = summary.to_json()
    assert set(full) - set(comparable_json(summary)) == set(WALL_TIME_FIELDS) == {"wall_seconds"}


@pytest.mark.slow
@pytest.mark.parametrize("name", SUBSET)
def test_same_json_twice_the_second_time_under_load(name: str) -> None:
    """Two runs of the scenario, the second with every core busy, give identical JSON once
    the wall-time fields are left out."""
    rules = find_rules_dir(None, cwd=REPO)
    first = comparable_json(run_checked(load_scenario(name), rules, out_dir=None).summary)
    with busy_cores():
        second = comparable_json(run_checked(load_scenario(name), rules, out_dir=None).summary)
    differing = sorted(k for k in first if first[k] != second.get(k))
    assert first == second, f"{name}: fields differ between runs: {differing}"
