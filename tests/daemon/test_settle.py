"""Settling outstanding actions of the rule state against the journal (pure)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from riskd.daemon.journal import (
    ACCEPTED,
    DRY_RUN,
    FAILED,
    NOT_EXECUTED,
    PENDING,
    SUCCEEDED,
    UNKNOWN,
    Intent,
    IntentRecord,
)
from riskd.daemon.settle import Verdict, settle_outstanding
from riskd.rules.state import EngineState, Outstanding, RuleScopeState, Status

ACCOUNT, SCOPE, RULE = "alice", "isolated:BTCUSDT", "de-leverage"
ACTION = "de-leverage@alice/isolated:BTCUSDT#1.1.0"


def waiting_state(
    *, last: bool = False, kind: str = "repay", issued_at: float = 100.0
) -> EngineState:
    """A firing rule × scope that waits for ACTION (step 0 of a two-step run)."""
    entry = RuleScopeState(
        status=Status.FIRING,
        active_since=90.0,
        fired_at=90.0,
        incident="de-leverage@alice/isolated:BTCUSDT#1",
        run=1,
        next_step=None if last else 1,
        outstanding=Outstanding(ACTION, kind, 0, issued_at, last),
    )
    entries = MappingProxyType({(ACCOUNT, SCOPE): MappingProxyType({RULE: entry})})
    return EngineState(entries=entries, seq=1)


def intent(
    status: str, at: float = 101.0, action_id: str = ACTION, iid: str = "i1"
) -> IntentRecord:
    """A journaled intent of ``action_id`` with ``status``."""
    i = Intent(iid, at, ACCOUNT, SCOPE, "repay", RULE, action_id)
    return IntentRecord(i, status, None, MappingProxyType({}), None)


def settle(state: EngineState, *recs: IntentRecord, now: float = 110.0, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    return settle_outstanding(state, recs, now=now, timeout=lambda kind: timeout)


def test_no_intent_means_never_sent_and_the_step_is_decided_again() -> None:
    """Killed between saving the rule state and journaling the intent: the action is
    withdrawn and the same step is due again."""
    state, done = settle(waiting_state())
    e = state.get(ACCOUNT, SCOPE, RULE)
    assert e.outstanding is None
    assert e.next_step == 0
    assert e.status is Status.FIRING
    assert [d.verdict for d in done] == [Verdict.WITHDRAWN]
    assert done[0].intent_id is None


def test_an_outcome_already_journaled_is_applied() -> None:
    """Killed after the outcome was journaled, before the state was saved: the outcome
    reaches the rule and the run goes on to its next step."""
    state, done = settle(waiting_state(), intent(SUCCEEDED))
    e = state.get(ACCOUNT, SCOPE, RULE)
    assert e.outstanding is None
    assert e.next_step == 1
    assert e.last_outcome == "succeeded"
    assert [(d.verdict, d.intent_id) for d in done] == [(Verdict.APPLIED, "i1")]


@pytest.mark.parametrize("status", [FAILED, UNKNOWN, DRY_RUN])
def test_other_final_statuses_are_applied_as_not_succeeded(status: str) -> None:
    """A failed, unknown or dry-run outcome is applied as a failure, ending a last step's
    run (its cooldown starts)."""
    state, done = settle(waiting_state(last=True), intent(status))
    e = state.get(ACCOUNT, SCOPE, RULE)
    assert e.outstanding is None and e.next_step is None
    assert e.last_outcome == "failed"
    assert e.last_run_end == 110.0
    assert done[0].verdict is Verdict.APPLIED


def test_not_executed_is_withdrawn() -> None:
    """An intent reconciled as never executed frees the step to be decided again."""
    state, done = settle(waiting_state(), intent(NOT_EXECUTED))
    e = state.get(ACCOUNT, SCOPE, RULE)
    assert e.outstanding is None and e.next_step == 0
    assert done[0].verdict is Verdict.WITHDRAWN


@pytest.mark.parametrize("status", [PENDING, ACCEPTED])
def test_an_open_intent_within_its_timeout_waits(status: str) -> None:
    """An open intent is for reconciliation to settle: the state is left as it is."""
    before = waiting_state()
    state, done = settle(before, intent(status), now=120.0, timeout=30.0)
    assert state == before
    assert [d.verdict for d in done] == [Verdict.WAITING]


def test_an_open_intent_past_its_timeout_is_released() -> None:
    """A rule × scope never waits forever: past the timeout it is told the action failed."""
    state, done = settle(waiting_state(issued_at=100.0), intent(PENDING), now=131.0, timeout=30.0)
    e = state.get(ACCOUNT, SCOPE, RULE)
    assert e.outstanding is None
    assert e.last_outcome == "failed"
    assert done[0].verdict is Verdict.RELEASED
    assert done[0].waited_s == pytest.approx(31.0)


def test_the_latest_intent_of_an_action_decides() -> None:
    """An action tried twice (the first not executed) is judged by its latest intent."""
    state, done = settle(
        waiting_state(),
        intent(SUCCEEDED, at=105.0, iid="i2"),
        intent(NOT_EXECUTED, at=101.0, iid="i1"),
    )
    assert state.get(ACCOUNT, SCOPE, RULE).last_outcome == "succeeded"
    assert done[0].intent_id == "i2"


def test_intents_of_other_actions_or_accounts_do_not_count() -> None:
    """Only the awaited action's own intents settle it."""
    other = intent(SUCCEEDED, action_id="something-else")
    _, done = settle(waiting_state(), other)
    assert done[0].verdict is Verdict.WITHDRAWN


def test_nothing_outstanding_changes_nothing() -> None:
    """A state that waits for nothing is returned unchanged, with nothing reported."""
    state, done = settle(EngineState(), intent(SUCCEEDED))
    assert state == EngineState()
    assert done == ()


def test_timeout_is_asked_per_action_kind() -> None:
    """The release limit comes from the awaited action's kind (a flash repay settles for
    longer at the exchange)."""
    asked: list[str] = []

    def timeout(kind: str) -> float:
        asked.append(kind)
        return 60.0

    settle_outstanding(
        waiting_state(kind="flashRepay"), [intent(ACCEPTED)], now=150.0, timeout=timeout
    )
    assert asked == ["flashRepay"]
