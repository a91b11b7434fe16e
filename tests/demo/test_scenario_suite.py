"""The scenario suite: every shipped scenario, run with the real daemon and the shipped
rules, meets every line of its [expect] table."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskd.demo.settings import find_rules_dir
from riskd.demo.suite import run_checked, suite_names
from riskd.sim.scenario import family_scenario_names, load_scenario

REPO = Path(__file__).resolve().parents[2]

#: Scenarios riskd does not yet survive, and why. strict: the day one passes, this fails and
#: the entry must go. Tracked in the issue notes; the expectations themselves are not relaxed.
#: Empty: every scenario of the suite survives.
KNOWN_LOSSES: dict[str, str] = {}


def _cases() -> list[object]:
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_LOSSES[n], strict=True))
        if n in KNOWN_LOSSES
        else n
        for n in suite_names()
    ]


def test_the_suite_holds_every_loss_family() -> None:
    """The suite runs the loss-family scenarios (fifteen of issue 15; uta_crash and
    mixed_uta_classic of issue 18) beside the shipped ones."""
    names = suite_names()
    assert set(family_scenario_names()) <= set(names)
    assert len(family_scenario_names()) == 17
    assert len(names) == len(set(names))


@pytest.mark.slow
@pytest.mark.parametrize("name", _cases())
def test_scenario_meets_its_expectations(name: str) -> None:
    """The scenario runs to its end and each [expect] check holds (all are reported).

    On virtual time: the result does not depend on the machine's speed or load, so one run
    decides."""
    scenario = load_scenario(name)
    result = run_checked(scenario, find_rules_dir(None, cwd=REPO), out_dir=None)
    assert result.checks, f"{name} has no [expect] table"
    assert result.ok, result.report()


@pytest.mark.slow
def test_default_scenario_on_the_legacy_v1_api() -> None:
    """The default scenario also meets its expectations with the daemon speaking API v1."""
    scenario = load_scenario("default")
    result = run_checked(scenario, find_rules_dir(None, cwd=REPO), out_dir=None, api="v1")
    assert result.checks and result.ok, result.report()
