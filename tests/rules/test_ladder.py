"""Running a rule's `then`: one action at a time, outcomes, cooldown, never a duplicate."""

from __future__ import annotations

from riskd.rules.decisions import NotificationKind
from riskd.rules.state import EngineState, record_outcome

from .helpers import Driver, coin, rule_text, ruleset, snap

THEN = '["notify", "cancelOrders", { action = "repay", coin = "USDT", amount = "available" }]'
BUSY = snap("0.9", open_orders=2, coins=(coin("USDT", available="40", borrow="100"),))


def test_steps_run_in_order_one_outstanding_action_at_a_time() -> None:
    """notify and the first action come at once; the next action waits for the outcome."""
    d = Driver(ruleset(rule_text(then=THEN)))
    ev = d.at(0, BUSY)
    assert [n.kind for n in ev.notifications] == [NotificationKind.FIRING]
    assert [(a.kind, a.step, a.id) for a in ev.actions] == [
        ("cancelOrders", 1, "r@main/cross#1.1.1")
    ]
    assert d.at(10, BUSY).actions == ()  # cancelOrders still outstanding
    d.state = record_outcome(d.state, "r@main/cross#1.1.1", True, 12)
    ev = d.at(20, BUSY)
    assert [(a.kind, a.params["amount"]) for a in ev.actions] == [("repay", 40)]
    assert ev.actions[0].incident == "r@main/cross#1"


def test_a_failed_step_does_not_stop_the_run() -> None:
    """A failed cancelOrders is followed by the repay at the next evaluation."""
    d = Driver(ruleset(rule_text(then=THEN)))
    first = d.at(0, BUSY).actions[0]
    d.state = record_outcome(d.state, first.id, False, 1)
    assert d.state.get("main", "cross", "r").last_outcome == "failed"
    assert [a.kind for a in d.at(10, BUSY).actions] == ["repay"]


def test_outstanding_action_blocks_even_across_incidents() -> None:
    """An unresolved action blocks new actions for that rule × scope, even after refiring."""
    d = Driver(ruleset(rule_text(then='["cancelOrders"]', cooldown="0s")))
    first = d.at(0, BUSY).actions[0]
    d.at(10, snap("0.5"))  # resolved while the action is still outstanding
    assert d.at(20, BUSY).actions == ()
    assert d.state.get("main", "cross", "r").outstanding is not None
    d.state = record_outcome(d.state, first.id, True, 25)
    assert len(d.at(30, BUSY).actions) == 1


def test_run_cut_short_by_resolution_is_abandoned() -> None:
    """Steps left when the rule resolves are dropped; a new incident starts from step 0."""
    d = Driver(ruleset(rule_text(then=THEN, cooldown="0s")))
    first = d.at(0, BUSY).actions[0]
    d.state = record_outcome(d.state, first.id, True, 1)
    d.at(10, snap("0.5"))
    ev = d.at(20, BUSY)
    assert [(a.kind, a.incident) for a in ev.actions] == [("cancelOrders", "r@main/cross#2")]


def test_outcomes_for_unknown_ids_change_nothing() -> None:
    """record_outcome with an unknown id returns the same state."""
    d = Driver(ruleset(rule_text(then=THEN)))
    d.at(0, BUSY)
    assert record_outcome(d.state, "nope", True, 1) is d.state
    assert record_outcome(EngineState(), "nope", True, 1) == EngineState()


def test_skipped_step_is_reported_and_the_run_goes_on() -> None:
    """A step with nothing to do (no open orders) is skipped with a reason, not an error."""
    d = Driver(ruleset(rule_text(then=THEN)))
    ev = d.at(0, snap("0.9", coins=(coin("USDT", available="40", borrow="100"),)))
    assert [(s.kind, s.reason) for s in ev.skipped] == [
        ("cancelOrders", "no open orders and no frozen balance")
    ]
    assert [a.kind for a in ev.actions] == ["repay"]
    assert ev.skipped[0].acted_after  # passed over on the way to the repay


def test_a_skip_with_no_step_acting_after_it_is_marked_so() -> None:
    """Nothing to cancel and nothing free to repay: both skips say no later step acted."""
    d = Driver(ruleset(rule_text(then=THEN)))
    ev = d.at(0, snap("0.9", coins=(coin("USDT", available="0", borrow="100"),)))
    assert ev.actions == ()
    assert [(s.kind, s.acted_after) for s in ev.skipped] == [
        ("cancelOrders", False),
        ("repay", False),
    ]


def test_action_that_cannot_be_sized_is_unhealthy_and_skipped() -> None:
    """A sizing error is reported (unhealthy, naming the step) and the next step still runs."""
    then = '[{ action = "repay", coin = "USDT", amount = "available / frozen" }, "flashRepay"]'
    d = Driver(ruleset(rule_text(then=then)))
    ev = d.at(0, BUSY)
    assert [(n.kind, n.error) for n in ev.notifications] == [
        (NotificationKind.UNHEALTHY, "then[0]: division by zero")
    ]
    assert [a.kind for a in ev.actions] == ["flashRepay"]


def test_notify_only_rule_notifies_once_per_incident() -> None:
    """A rule that only notifies does not repeat after its cooldown while still firing."""
    d = Driver(ruleset(rule_text(cooldown="10s")))
    assert d.kinds(0, BUSY) == ["firing r"]
    for t in range(10, 200, 10):
        assert d.kinds(t, BUSY) == []


def test_a_notify_in_then_is_sent_wherever_it_stands() -> None:
    """`then = [repay, notify]`: the notification goes out when the run starts, beside the
    repay, so a repay that ends the incident at once still leaves the user told."""
    then = '[{ action = "repay", coin = "USDT", amount = "1" }, "notify"]'
    d = Driver(ruleset(rule_text(then=then)))
    ev = d.at(0, BUSY)
    assert [str(n.kind) for n in ev.notifications] == ["firing"] and len(ev.actions) == 1
    d.state = record_outcome(d.state, ev.actions[0].id, True, 1)
    assert d.kinds(10, BUSY) == [], "not sent twice when the step is reached"


def test_action_request_fields() -> None:
    """An ActionRequest names its rule, scope, account, step, incident and severity."""
    d = Driver(ruleset(rule_text(then=THEN, severity="critical")))
    a = d.at(0, BUSY).actions[0]
    assert (a.account, a.scope, a.rule, a.step, a.severity, a.at) == (
        "main",
        "cross",
        "r",
        1,
        "critical",
        0,
    )
    assert a.describe() == "cancelOrders"


def test_a_withdrawn_action_is_decided_again_on_fresh_data() -> None:
    """withdraw: the same step is decided again at the next evaluation while the rule holds,
    and not at all once the data no longer calls for it (nothing outstanding, no cooldown)."""
    from riskd.rules.state import withdraw

    d = Driver(ruleset(rule_text(then='["cancelOrders"]', cooldown="60s")))
    busy = snap("0.9", open_orders=3)
    first = d.at(0, busy).actions[0]
    d.state = withdraw(d.state, first.id)
    assert d.state.get("main", "cross", "r").outstanding is None
    again = d.at(1, busy).actions
    assert [(a.kind, a.step) for a in again] == [("cancelOrders", first.step)]
    d.state = withdraw(d.state, again[0].id)
    assert d.at(2, snap("0.5")).actions == ()  # resolved: nothing to decide any more
    assert withdraw(d.state, "no-such-id") is d.state
