"""Pure accounting: capacity after margin, reserve, admission, waiting order, poll pacing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskd.bitget.endpoints import endpoint
from riskd.bitget.gate import Priority
from riskd.budget.accounting import (
    Share,
    Ticket,
    WaitQueue,
    admits,
    cycle_load,
    headroom,
    min_cycle_s,
    split,
    suggest_interval,
)
from riskd.budget.limit_table import keys_for


def test_split_keeps_a_margin_and_reserves_a_share_for_protective_calls() -> None:
    """10/s with a 10 % margin and 30 % reserve: 9 usable, 3 reserved, 6 for polls."""
    share = split(10, 1, 0.1, 0.3)
    assert share == Share(limit=10, window_s=1, capacity=9, reserved=3)
    assert share.poll_capacity == 6
    assert share.poll_rate_per_s == 6.0


def test_split_is_not_fooled_by_float_rounding() -> None:
    """10 × 0.3 is 3.0000000000000004 in floats; the reserve is still 3, not 4."""
    assert split(10, 1, 0.0, 0.3).reserved == 3
    assert split(20, 2, 0.1, 0.0) == Share(20, 2, 18, 0)


def test_small_limits_keep_one_call_for_polls_and_one_for_protective() -> None:
    """A reserve never takes the whole capacity, and is at least one call when asked for."""
    assert split(2, 1, 0.0, 0.9) == Share(2, 1, 2, 1)
    assert split(5, 1, 0.1, 0.05).reserved == 1


@given(
    limit=st.integers(1, 1000),
    window=st.integers(1, 60),
    margin=st.floats(0, 0.5),
    reserve=st.floats(0, 0.9),
)
def test_split_never_exceeds_the_documented_limit(
    limit: int, window: int, margin: float, reserve: float
) -> None:
    """Capacity stays within the limit and polls always keep at least one call."""
    share = split(limit, window, margin, reserve)
    assert 1 <= share.capacity <= limit
    assert 0 <= share.reserved < share.capacity or share.capacity == 1
    assert share.poll_capacity >= 1


@pytest.mark.parametrize(
    ("limit", "margin", "reserve"), [(0, 0.1, 0.3), (10, 1.0, 0.3), (10, 0.1, -0.1)]
)
def test_split_refuses_impossible_settings(limit: int, margin: float, reserve: float) -> None:
    """A zero limit, a 100 % margin or a negative reserve is an error naming the value."""
    with pytest.raises(ValueError, match=r"limit|margin|reserved"):
        split(limit, 1, margin, reserve)


def test_polls_stop_at_their_share_but_protective_calls_may_use_the_reserve() -> None:
    """In a 9/3 window: 6 polls stop polls, not protective calls; 9 calls stop everything."""
    share = split(10, 1, 0.1, 0.3)
    assert admits(5, 5, share, Priority.POLL)
    assert not admits(6, 6, share, Priority.POLL)
    assert admits(8, 6, share, Priority.PROTECTIVE)
    assert not admits(9, 0, share, Priority.PROTECTIVE)


def test_protective_calls_do_not_shrink_the_poll_share() -> None:
    """3 protective calls + 5 polls: a sixth poll still fits; 9 in total stops it."""
    share = split(10, 1, 0.1, 0.3)
    assert admits(8, 5, share, Priority.POLL)
    assert not admits(9, 5, share, Priority.POLL)


def test_wait_queue_puts_protective_first_then_arrival_order() -> None:
    """Protective waiters go before earlier polls; within a priority, first come first."""
    q = WaitQueue()
    p1, p2 = Ticket.make(Priority.POLL, 1), Ticket.make(Priority.POLL, 2)
    r3 = Ticket.make(Priority.PROTECTIVE, 3)
    for t in (p1, p2, r3):
        q.add(t)
    assert q.first() == r3 and q.is_first(r3) and r3.priority is Priority.PROTECTIVE
    q.remove(r3)
    assert q.is_first(p1) and not q.is_first(p2)
    q.remove(p1)
    q.remove(p1)  # removing twice is harmless
    assert len(q) == 1 and q.is_first(p2)


def _fifty_symbols() -> tuple[dict, dict]:
    calls = [
        (key, 50)
        for name in ("isolated_risk_rate", "isolated_assets")
        for key in keys_for(endpoint(name), ip_group="local", account="main")
    ]
    load = cycle_load(calls)
    shares = {key: split(key.rule.limit, key.rule.window_s, 0.1, 0.3) for key in load}
    return load, shares


def test_fifty_isolated_symbols_stretch_the_poll_interval_to_fit_the_poll_share() -> None:
    """50 risk-rate + 50 assets calls at 6 poll calls/s per key need 50/6 s per cycle."""
    load, shares = _fifty_symbols()
    assert min_cycle_s(load, shares) == pytest.approx(50 / 6)
    assert suggest_interval(2.0, load, shares) == pytest.approx(50 / 6)
    assert suggest_interval(10.0, load, shares) == 10.0


def test_calls_on_one_key_from_several_sources_add_up() -> None:
    """Two sources of 30 calls on one 6-per-second key need 10 s, not 5 s."""
    (key,) = keys_for(endpoint("cross_assets"), ip_group="local", account="a")
    load = cycle_load([(key, 30), (key, 30)])
    shares = {key: split(10, 1, 0.1, 0.3)}
    assert load == {key: 60}
    assert suggest_interval(1.0, load, shares) == pytest.approx(10.0)
    assert min_cycle_s({key: 0}, shares) == 0.0


def test_suggest_interval_refuses_a_non_positive_base() -> None:
    """A base interval of 0 is an error, not an endless poll loop."""
    with pytest.raises(ValueError, match="base_interval"):
        suggest_interval(0.0, {}, {})
    with pytest.raises(ValueError, match="calls per cycle"):
        cycle_load([(next(iter(_fifty_symbols()[0])), -1)])


def test_headroom_is_the_free_part_of_the_poll_share() -> None:
    """0 calls: 1.0; 3 of 6 polls: 0.5; poll share used up or window full: 0."""
    share = split(10, 1, 0.1, 0.3)
    assert headroom(0, 0, share) == 1.0
    assert headroom(3, 3, share) == 0.5
    assert headroom(6, 6, share) == 0.0
    assert headroom(9, 0, share) == 0.0
    assert headroom(6, 0, share) == 0.5  # 6 protective calls leave 3 slots for polls
