"""The [expect] table: each check against summaries, run options, and bad tables."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from riskd.demo.suite import ExpectError, check_expect, demo_hints
from riskd.demo.summary import Delivery, DemoSummary, Liquidation
from riskd.sim.scenario import Scenario, parse_scenario

HEAD = """
name = "t"
duration_s = 300
[markets]
BTCUSDT = "30000"
"""


def scenario(expect: str) -> Scenario:
    return parse_scenario(HEAD + "[expect]\n" + expect, "t.toml")


@pytest.fixture
def results(make_summary: Callable[..., DemoSummary]) -> Callable[..., dict[str, bool]]:
    """Check an [expect] body against the builder's run with some fields replaced."""

    def run(expect: str, **changes: object) -> dict[str, bool]:
        sc = scenario(expect)
        return {c.key: c.ok for c in check_expect(sc, make_summary(**changes))}

    return run


Results = Callable[..., dict[str, bool]]


def test_a_protected_run_passes_every_check(results: Results) -> None:
    """The builder's run (no liquidation, one action, 2× oracle) passes a typical table."""
    got = results(
        """
        no_liquidation = true
        max_risk_rate = "1.0"
        no_duplicate_action = true
        min_actions = 1
        max_actions = 2
        max_over_oracle = "2.5"
        max_capital_moved = "2500"
        max_reaction_ms = 2000
        max_rate_limited = 0
        alerts_delivered = true
        max_firing_per_rule = 1
        max_cycle_errors = 0
        """
    )
    assert all(got.values()), got


def test_each_check_can_fail(results: Results, liquidation: Liquidation) -> None:
    """Every check fails on a run that breaks it."""
    assert not results("no_liquidation = true", liquidated=True, liquidations=(liquidation,))[
        "no_liquidation"
    ]
    assert not results("liquidated = true")["liquidated"]
    assert not results('max_risk_rate = "0.9"')["max_risk_rate"]
    assert not results("no_duplicate_action = true", duplicates=1)["no_duplicate_action"]
    assert not results("min_actions = 2")["min_actions"]
    assert not results("max_actions = 0")["max_actions"]
    assert not results('max_over_oracle = "1.5"')["max_over_oracle"]
    assert not results('max_capital_moved = "1999"')["max_capital_moved"]
    assert not results("max_reaction_ms = 1000")["max_reaction_ms"]
    assert not results("max_reaction_ms = 5000", reaction_ms=None)["max_reaction_ms"]
    assert not results("max_rate_limited = 0", rate_limited=3)["max_rate_limited"]
    assert not results("alerts_delivered = true", delivery=Delivery())["alerts_delivered"]
    assert not results("alerts_retried = true")["alerts_retried"]
    assert not results("max_firing_per_rule = 0")["max_firing_per_rule"]
    assert not results("max_cycle_errors = 0", facts={"cycle_errors": 2})["max_cycle_errors"]


def test_over_oracle_with_a_zero_oracle_allows_nothing_moved(results: Results) -> None:
    """When nothing was needed, any capital moved is over the oracle."""
    assert not results('max_over_oracle = "3"', oracle_min=Decimal(0))["max_over_oracle"]
    assert results('max_over_oracle = "3"', oracle_min=Decimal(0), capital_moved=Decimal(0))[
        "max_over_oracle"
    ]


def test_unknown_keys_and_bad_values_are_named(results: Results) -> None:
    """A typo or a wrong type is an error naming the scenario and the key."""
    with pytest.raises(ExpectError, match=r"unknown expect key\(s\) \['no_liquidaton'\]"):
        results("no_liquidaton = true")
    with pytest.raises(ExpectError, match=r"expect\.min_actions: .lots. is not a number"):
        results('min_actions = "lots"')
    with pytest.raises(ExpectError, match=r"expect\.no_liquidation must be true or false"):
        results("no_liquidation = 1")


def test_demo_hints_are_read_and_checked() -> None:
    """[expect.demo] gives the run options; unknown keys are refused."""
    sc = scenario('[expect.demo]\nspeed = 5\nnotify = ["json://localhost/x"]')
    hints = demo_hints(sc)
    assert (hints.speed, hints.notify) == (5.0, ("json://localhost/x",))
    with pytest.raises(ExpectError, match="unknown key"):
        demo_hints(scenario("[expect.demo]\nsped = 5"))
    with pytest.raises(ExpectError, match="must be > 0"):
        demo_hints(scenario("[expect.demo]\nspeed = 0"))
