"""429 back-off: exponential, capped, honouring Retry-After, counted."""

from __future__ import annotations

import math

import pytest

from riskd.budget.backoff import BackoffPolicy, BackoffState

T0 = 1_700_000_000.0


def test_consecutive_429s_double_the_pause_up_to_the_cap() -> None:
    """1 s, 2 s, 4 s, … then never more than cap_s."""
    policy = BackoffPolicy(base_s=1.0, factor=2.0, cap_s=5.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 10)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_longer_retry_after_is_honoured_but_bounded() -> None:
    """Retry-After 7 s beats the 1 s step; absurd values stop at retry_after_cap_s."""
    policy = BackoffPolicy(retry_after_cap_s=60.0)
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(1, 0.2) == 1.0
    assert policy.delay(1, 1e9) == 60.0
    assert policy.delay(1, math.nan) == 1.0


def test_state_counts_every_429_and_resets_the_streak_after_the_pause() -> None:
    """An answer during the pause keeps the streak; one after it ends it; the count stays."""
    policy = BackoffPolicy()
    s = BackoffState().after_429(policy, T0, None)
    s = s.after_429(policy, T0 + 0.1, None)
    assert (s.streak, s.count) == (2, 2)
    assert s.until == pytest.approx(T0 + 2.1)
    assert s.active(T0 + 2.0) and s.remaining(T0 + 2.0) == pytest.approx(0.1)
    assert s.after_answer(T0 + 1.0).streak == 2
    later = s.after_answer(T0 + 3.0)
    assert (later.streak, later.count, later.active(T0 + 3.0)) == (0, 2, False)


def test_a_shorter_pause_never_cuts_a_longer_one() -> None:
    """A Retry-After of 30 s followed by a plain 429 still waits the 30 s."""
    policy = BackoffPolicy()
    s = BackoffState().after_429(policy, T0, 30.0).after_429(policy, T0 + 1, None)
    assert s.until == pytest.approx(T0 + 30.0)


def test_policy_refuses_nonsense() -> None:
    """A zero base or a cap below the base is an error naming the fields."""
    with pytest.raises(ValueError, match="base_s"):
        BackoffPolicy(base_s=0)
    with pytest.raises(ValueError, match="cap_s"):
        BackoffPolicy(base_s=2, cap_s=1)
