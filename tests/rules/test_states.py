"""The rule × scope state machine: pending, firing, resolved; for, keep_firing_for, cooldown."""

from __future__ import annotations

import pytest

from riskd.rules.decisions import NotificationKind
from riskd.rules.state import record_outcome

from .helpers import Driver, coin, rule_text, ruleset, snap

HIGH, LOW = snap("0.9"), snap("0.5")


def test_inactive_to_pending_to_firing_after_for() -> None:
    """A true condition is pending until `for` has passed, then fires and notifies once."""
    d = Driver(ruleset(rule_text(for_="30s")))
    assert d.kinds(0, HIGH) == [] and d.status() == "pending"
    assert d.kinds(20, HIGH) == [] and d.status() == "pending"
    assert d.kinds(30, HIGH) == ["firing r"] and d.status() == "firing"
    assert d.kinds(40, HIGH) == []


def test_for_boundary_just_under_does_not_fire() -> None:
    """At for − 1 ms the rule is still pending; at exactly `for` it fires."""
    d = Driver(ruleset(rule_text(for_="30s")))
    d.at(0, HIGH)
    assert d.kinds(29.999, HIGH) == []
    assert d.kinds(30.0, HIGH) == ["firing r"]


def test_for_zero_fires_in_the_same_evaluation() -> None:
    """`for = "0s"` goes straight from inactive to firing."""
    d = Driver(ruleset(rule_text(for_="0s")))
    assert d.kinds(0, HIGH) == ["firing r"]


def test_pending_that_clears_goes_back_to_inactive_silently() -> None:
    """A condition that clears while pending sends nothing and restarts the wait."""
    d = Driver(ruleset(rule_text(for_="30s")))
    d.at(0, HIGH)
    assert d.kinds(20, LOW) == [] and d.status() == "inactive"
    d.at(25, HIGH)
    assert d.kinds(50, HIGH) == []  # 25 s since it became true again
    assert d.kinds(55, HIGH) == ["firing r"]


def test_firing_resolves_when_the_condition_clears() -> None:
    """Without keep_firing_for the first false evaluation resolves (and says so)."""
    d = Driver(ruleset(rule_text()))
    d.at(0, HIGH)
    ev = d.at(10, LOW)
    assert [(n.kind, n.rule) for n in ev.notifications] == [(NotificationKind.RESOLVED, "r")]
    assert ev.notifications[0].incident == "r@main/cross#1"
    assert d.status() == "inactive"


def test_keep_firing_for_holds_until_the_boundary() -> None:
    """keep_firing_for counts from the first false evaluation; resolution at exactly it."""
    d = Driver(ruleset(rule_text(keep_firing_for="30s")))
    d.at(0, HIGH)
    assert d.kinds(10, LOW) == [] and d.status() == "firing"
    assert d.kinds(39.999, LOW) == [] and d.status() == "firing"
    assert d.kinds(40, LOW) == ["resolved r"]


def test_keep_firing_for_resets_when_the_condition_returns() -> None:
    """A true evaluation while kept firing restarts the keep_firing_for count."""
    d = Driver(ruleset(rule_text(keep_firing_for="30s")))
    d.at(0, HIGH)
    d.at(10, LOW)
    d.at(20, HIGH)
    assert d.kinds(30, LOW) == []
    assert d.kinds(50, LOW) == []
    assert d.kinds(60, LOW) == ["resolved r"]


def test_kept_firing_rule_does_not_act_while_its_condition_is_false() -> None:
    """keep_firing_for delays resolution only: no new run of actions on a false condition."""
    text = rule_text(keep_firing_for="5m", cooldown="10s", then='["cancelOrders"]')
    d = Driver(ruleset(text))
    busy = snap("0.9", open_orders=1)
    ev = d.at(0, busy)
    assert [a.kind for a in ev.actions] == ["cancelOrders"]
    d.state = record_outcome(d.state, ev.actions[0].id, True, 0)
    assert d.at(30, snap("0.5", open_orders=1)).actions == ()
    assert [a.kind for a in d.at(40, busy).actions] == ["cancelOrders"]


def test_a_new_incident_after_resolution_notifies_again() -> None:
    """Each firing episode is its own incident with its own id and notification."""
    d = Driver(ruleset(rule_text()))
    first = d.at(0, HIGH).notifications[0].incident
    d.at(10, LOW)
    ev = d.at(20, HIGH)
    assert [n.kind for n in ev.notifications] == [NotificationKind.FIRING]
    assert ev.notifications[0].incident != first


def test_notification_carries_values_labels_and_message() -> None:
    """A firing notification has the rendered message, riskRate, thresholds and labels."""
    text = rule_text(
        message="riskRate {riskRate:.2f} on {scope} ({account})",
        labels='{ team = "ops" }',
        severity="critical",
    )
    n = Driver(ruleset(text)).at(0, HIGH).notifications[0]
    assert n.message == "riskRate 0.90 on cross (main)"
    assert n.values["riskRate"] == HIGH.risk_rate
    assert n.values["warningRiskRatio"] == HIGH.warning_risk_ratio
    assert n.values["liquidationRiskRatio"] == HIGH.liquidation_risk_ratio
    assert dict(n.labels) == {"team": "ops"}
    assert n.severity == "critical"


def test_cooldown_spaces_runs_while_still_firing() -> None:
    """After a run ends, the next run waits `cooldown` (measured from the outcome)."""
    d = Driver(ruleset(rule_text(cooldown="60s", then='["cancelOrders"]')))
    busy = snap("0.9", open_orders=3)
    first = d.at(0, busy).actions
    assert len(first) == 1
    d.state = record_outcome(d.state, first[0].id, True, 5)
    assert d.at(60, busy).actions == ()  # 55 s since the outcome
    assert d.at(64.999, busy).actions == ()
    again = d.at(65, busy).actions
    assert [a.id for a in again] == ["r@main/cross#1.2.0"]


def test_cooldown_survives_resolution_and_refiring() -> None:
    """Resolving and firing again within the cooldown does not repeat the actions."""
    d = Driver(ruleset(rule_text(cooldown="60s", then='["notify", "cancelOrders"]')))
    busy = snap("0.9", open_orders=3)
    ev = d.at(0, busy)
    d.state = record_outcome(d.state, ev.actions[0].id, True, 0)
    d.at(10, snap("0.5"))
    ev = d.at(20, busy)
    assert [n.kind for n in ev.notifications] == [NotificationKind.FIRING]
    assert ev.actions == ()
    assert len(d.at(60, busy).actions) == 1


def test_unhealthy_rule_freezes_its_state_and_reports_once() -> None:
    """A runtime error marks the rule × scope unhealthy, reported once, state frozen."""
    d = Driver(ruleset(rule_text(when='borrow["USDT"] / available["USDT"] > 1', for_="20s")))
    owes = snap("0.9", coins=(coin("USDT", available="1", borrow="5"),))
    broke = snap("0.9", coins=(coin("USDT", available="0", borrow="5"),))
    d.at(0, owes)
    ev = d.at(10, broke)
    assert [(n.kind, n.error) for n in ev.notifications] == [
        (NotificationKind.UNHEALTHY, "division by zero")
    ]
    assert d.state.get("main", "cross", "r").error == "division by zero"
    assert d.kinds(20, broke) == []  # not repeated; pending does not advance
    assert d.status() == "pending"
    assert d.kinds(30, owes) == ["recovered r", "firing r"]


def test_one_failing_rule_does_not_stop_the_others() -> None:
    """Rules are independent: a division by zero in one leaves the rest evaluating."""
    text = rule_text(when="riskRate / (riskRate - riskRate) > 1") + rule_text(
        when="riskRate > 0.8"
    ).replace('name = "r"', 'name = "ok"')
    ev = Driver(ruleset(text)).at(0, HIGH)
    kinds = sorted((n.rule, n.kind) for n in ev.notifications)
    assert kinds == [("ok", NotificationKind.FIRING), ("r", NotificationKind.UNHEALTHY)]


def test_missing_data_is_unhealthy_with_its_reason() -> None:
    """A value the snapshot lacks (no price) makes the rule unhealthy, naming what is missing."""
    d = Driver(ruleset(rule_text(when='price["BTC"] < 20000')))
    ev = d.at(0, HIGH)
    assert ev.notifications[0].kind == NotificationKind.UNHEALTHY
    assert "no USDT price for BTC" in (ev.notifications[0].error or "")


def test_scope_absent_from_data_resolves() -> None:
    """A scope no longer reported for its account resolves; other accounts are untouched."""
    text = rule_text(scope="isolated:*")
    d = Driver(ruleset(text))
    d.at(0, snap("0.9", scope="isolated:BTCUSDT"), snap("0.9", scope="isolated:ETHUSDT"))
    d.at(0, snap("0.9", scope="isolated:BTCUSDT", account="other"))
    ev = d.at(10, snap("0.9", scope="isolated:BTCUSDT"))
    assert [(n.kind, n.scope) for n in ev.notifications] == [
        (NotificationKind.RESOLVED, "isolated:ETHUSDT")
    ]
    assert "scope no longer reported" in ev.notifications[0].message
    assert d.status(scope="isolated:BTCUSDT", account="other") == "firing"


def test_rule_removed_on_reload_resolves_its_incidents() -> None:
    """State of a rule that is no longer loaded resolves (if it notified) and is dropped."""
    d = Driver(ruleset(rule_text()))
    d.at(0, HIGH)
    d.rules = ruleset(rule_text().replace('name = "r"', 'name = "other"'))
    ev = d.at(10, LOW)
    assert [(n.kind, n.rule) for n in ev.notifications] == [(NotificationKind.RESOLVED, "r")]
    assert "main" not in {k[0] for k, _ in d.state.items()}


@pytest.mark.parametrize(
    ("scope", "hits"),
    [
        ('"cross"', ["cross"]),
        ('"isolated:*"', ["isolated:BTCUSDT", "isolated:ETHUSDT"]),
        ('"isolated:ETHUSDT"', ["isolated:ETHUSDT"]),
        ('["cross", "isolated:BTCUSDT"]', ["cross", "isolated:BTCUSDT"]),
        ('"*"', ["cross", "isolated:BTCUSDT", "isolated:ETHUSDT"]),
    ],
)
def test_scope_selectors_expand_over_present_scopes(scope: str, hits: list[str]) -> None:
    """`isolated:*` means every isolated scope present; lists and `*` combine."""
    d = Driver(ruleset(rule_text() + f"scope = {scope}\n"))
    ev = d.at(
        0,
        snap("0.9"),
        snap("0.9", scope="isolated:BTCUSDT"),
        snap("0.9", scope="isolated:ETHUSDT"),
    )
    assert sorted(n.scope for n in ev.notifications) == hits


def test_evaluation_is_pure_and_repeatable() -> None:
    """The same inputs give the same decisions; the input state is not modified."""
    d = Driver(ruleset(rule_text(then='["notify", "cancelOrders"]')))
    before = d.state
    from riskd.rules.engine import evaluate

    from .helpers import data

    busy = snap("0.9", open_orders=1, observed_at=0)
    a = evaluate(d.rules, data(busy), 0, before)
    b = evaluate(d.rules, data(busy), 0, before)
    assert a == b
    assert before.entries == {}
