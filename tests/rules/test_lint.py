"""Lints: rules that load but will not do what their author meant."""

from __future__ import annotations

import pytest

from riskd.rules.lint import lint
from riskd.rules.model import Level

from .helpers import rule_text, ruleset


def _warnings(text: str, interval: float = 10.0) -> list[str]:
    problems = lint(ruleset(text), interval)
    assert all(p.level == Level.WARNING and p.rule == "r" for p in problems)
    return [p.message for p in problems]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("riskRate > 5", "past the liquidation ratio"),
        ("riskRate >= 1.2 and openOrders > 0", "past the liquidation ratio"),
        ("riskRate > 1", "past the liquidation ratio"),
        ("1 > 2", "always false"),
        ("riskRate > 0.9 and riskRate < 0.5", "can never be true"),
        ("riskRate < 0", "can never be true"),
        ("dataAge < 0 or riskRate < -1", "can never be true"),
        ('borrow["USDT"] < 0', "can never be true"),
        ("0.9 < riskRate < 0.8", "can never be true"),
        ("2 > 1", "always true"),
    ],
)
def test_conditions_that_never_or_always_fire(when: str, message: str) -> None:
    """Contradictions, impossible bounds and constants are flagged."""
    assert any(message in m for m in _warnings(rule_text(when=when)))


@pytest.mark.parametrize(
    "when",
    [
        "riskRate >= 1",
        "riskRate > 0.8",
        "riskRate > 0.5 or riskRate < 0",
        'net["USDT"] < 0',
        "equity < 0",
        "-riskRate < -0.5",
    ],
)
def test_plausible_conditions_are_not_flagged(when: str) -> None:
    """Conditions that can hold in time raise no warning."""
    assert _warnings(rule_text(when=when)) == []


def test_scope_naming_no_symbol() -> None:
    """A symbol that cannot exist (lower case, separators) will match nothing."""
    msgs = _warnings(rule_text(scope="isolated:btc-usdt"))
    assert any("names no symbol" in m for m in msgs)


def test_for_longer_than_keep_firing_for() -> None:
    """keep_firing_for does not protect a pending rule: say so when for is longer."""
    msgs = _warnings(rule_text(for_="5m", keep_firing_for="1m"))
    assert any("only holds a rule that is already firing" in m for m in msgs)


def test_durations_below_the_evaluation_interval() -> None:
    """for, keep_firing_for, cooldown and windows shorter than the interval are pointless."""
    text = rule_text(
        when='delta("riskRate", "15s") > 0.1',
        for_="5s",
        keep_firing_for="5s",
        cooldown="5s",
        then='["cancelOrders"]',
    )
    msgs = " | ".join(_warnings(text, interval=10.0))
    for fragment in (
        "'for' is shorter than the evaluation interval",
        "keep_firing_for is shorter than the evaluation interval",
        "cooldown (5s) is shorter than the evaluation interval (10s)",
        "delta() over 15s spans fewer than two evaluations",
    ):
        assert fragment in msgs


def test_repay_target_at_margin_call_level() -> None:
    """A repay target at or above 0.8 rarely repays anything."""
    text = rule_text(then='[{ action = "repay", coin = "USDT", target_risk_rate = 0.85 }]')
    assert any("at or above the margin-call level" in m for m in _warnings(text))


def test_notify_after_an_action_is_flagged() -> None:
    """`then = [repay, notify]` reads like "tell me after", but the notification goes out
    when the rule fires: the lint says so; a notify first is not flagged."""
    after = '[{ action = "repay", coin = "USDT", amount = "1" }, "notify"]'
    (p,) = [
        x for x in lint(ruleset(rule_text(then=after, cooldown="60s"))) if "notify" in x.message
    ]
    assert "then[1] notify stands after an action" in p.message
    first = '["notify", { action = "repay", coin = "USDT", amount = "1" }]'
    assert not [
        x for x in lint(ruleset(rule_text(then=first, cooldown="60s"))) if "notify" in x.message
    ]


def test_shipped_rules_are_lint_clean() -> None:
    """The shipped ladder raises no warnings at the daemon's default evaluation interval."""
    from pathlib import Path

    from riskd.rules.loader import load

    result = load([Path(__file__).parents[2] / "rules"])
    assert result.ruleset is not None and len(result.ruleset) >= 4
    from riskd.settings import PollSettings

    assert lint(result.ruleset, PollSettings().fast_interval) == []
