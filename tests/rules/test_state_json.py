"""Engine state survives a restart: JSON round-trip, outstanding actions, bad input."""

from __future__ import annotations

import json

import pytest

from riskd.rules.state import EngineState, StateError, Status, record_outcome

from .helpers import Driver, coin, rule_text, ruleset, snap

RULES = rule_text(
    when='riskRate > 0.8 and delta("riskRate", "5m") >= 0',
    then='["notify", "cancelOrders", { action = "repay", coin = "USDT", amount = "available" }]',
    keep_firing_for="1m",
)
BUSY = snap("0.9", open_orders=1, coins=(coin("USDT", available="5", borrow="9"),))


def _mid_incident() -> Driver:
    d = Driver(ruleset(RULES))
    for t in (0, 10, 20):
        d.at(t, snap("0.5"))
    d.at(30, BUSY)  # fires: notify + cancelOrders outstanding
    return d


def test_round_trip_is_exact() -> None:
    """to_json then from_json gives an equal state (entries, history, counter)."""
    state = _mid_incident().state
    again = EngineState.from_json(state.to_json())
    assert again == state
    assert again.to_json() == state.to_json()
    assert again.history[("main", "cross")]["riskRate"][-1][1] == BUSY.risk_rate


def test_restart_resumes_mid_incident() -> None:
    """After a restart the outstanding action still blocks, and its outcome continues the run."""
    d = _mid_incident()
    ((key, pending),) = d.state.outstanding()
    assert key == ("main", "cross", "r") and pending.kind == "cancelOrders"
    restarted = Driver(d.rules, EngineState.from_json(d.state.to_json()))
    assert restarted.at(40, BUSY).actions == ()
    restarted.state = record_outcome(restarted.state, pending.action_id, True, 41)
    assert [a.kind for a in restarted.at(50, BUSY).actions] == ["repay"]
    assert restarted.status() == "firing"


def test_a_fresh_state_serialises_too() -> None:
    """The empty state round-trips."""
    assert EngineState.from_json(EngineState().to_json()) == EngineState()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "cannot read saved rule state"),
        ('{"version": 99, "seq": 0, "entries": [], "history": []}', "version 99"),
        ("[]", "version None"),
        ('{"version": 1, "seq": 0, "entries": [{"account": "a"}], "history": []}', "cannot read"),
        (
            '{"version": 1, "seq": 0, "history": [], "entries": [{"account": "a", "scope": "c",'
            ' "rule": "r", "status": "exploded"}]}',
            "are not",
        ),
    ],
)
def test_unreadable_state_is_a_clear_error(text: str, message: str) -> None:
    """A corrupt or foreign state file raises StateError saying why."""
    with pytest.raises(StateError, match=message):
        EngineState.from_json(text)


def test_json_is_plain_and_decimal_exact() -> None:
    """Decimals are written as strings (never floats) and statuses by name."""
    doc = json.loads(_mid_incident().state.to_json())
    entry = doc["entries"][0]
    assert entry["status"] == Status.FIRING.value
    samples = doc["history"][0]["series"]["riskRate"]
    assert all(isinstance(v, str) for _, v in samples)
