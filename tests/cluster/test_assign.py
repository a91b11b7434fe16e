"""The pure assignment of accounts to nodes: complete, capped, balanced, stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from riskd.cluster.assign import Assignment, NodeCapacity, assign, quotas

NODE_IDS = ["a", "b", "c", "d", "e"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[NodeCapacity], list[str], dict[str, str]]:
    ids = draw(st.lists(st.sampled_from(NODE_IDS), unique=True, max_size=5))
    nodes = [NodeCapacity(i, draw(st.integers(0, 12))) for i in ids]
    accounts = [f"acc{i}" for i in range(draw(st.integers(0, 40)))]
    owners = st.sampled_from([*NODE_IDS, "gone"])
    current = {a: draw(owners) for a in accounts if draw(st.booleans())}
    return nodes, accounts, current


def _check_valid(nodes: list[NodeCapacity], accounts: list[str], out: Assignment) -> None:
    caps = {n.node_id: n.max_accounts for n in nodes}
    counts = {n: 0 for n in caps}
    for account, node in out.owners.items():
        assert account in accounts
        counts[node] += 1
    assert set(out.owners) | out.unowned == set(accounts)
    assert not set(out.owners) & out.unowned
    assert all(counts[n] <= caps[n] for n in caps)
    assert len(out.owners) == min(len(accounts), sum(caps.values()))
    for x in caps:
        for y in caps:
            if counts[x] > counts[y] + 1:
                assert counts[y] == caps[y], (counts, caps)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_assignment_is_complete_capped_and_balanced(
    case: tuple[list[NodeCapacity], list[str], dict[str, str]],
) -> None:
    """All accounts owned when capacity allows, no node over its max, counts within one."""
    nodes, accounts, current = case
    _check_valid(nodes, accounts, assign(nodes, accounts, current))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_assignment_is_a_fixed_point(
    case: tuple[list[NodeCapacity], list[str], dict[str, str]],
) -> None:
    """Assigning again from the target moves nothing (no churn between rounds)."""
    nodes, accounts, current = case
    first = assign(nodes, accounts, current)
    assert assign(nodes, accounts, first.owners) == first


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_fewest_moves(case: tuple[list[NodeCapacity], list[str], dict[str, str]]) -> None:
    """Moves equal the sum of excess over each node's quota: nobody moves needlessly."""
    nodes, accounts, current = case
    out = assign(nodes, accounts, current)
    live = {n.node_id for n in nodes}
    kept = {a: o for a, o in current.items() if o in live}
    held = {n: sum(1 for o in kept.values() if o == n) for n in live}
    quota = quotas(nodes, len(accounts), held)
    moved = sum(1 for a, o in kept.items() if out.owner_of(a) != o)
    assert moved == sum(max(0, held[n] - quota[n]) for n in live)


def test_three_nodes_thirty_accounts_spread_ten_each() -> None:
    """Thirty new accounts over three nodes land ten on each."""
    nodes = [NodeCapacity(n, 20) for n in "abc"]
    out = assign(nodes, [f"acc{i}" for i in range(30)], {})
    assert out.counts() == {"a": 10, "b": 10, "c": 10}
    assert out.unowned == frozenset()


def test_dead_node_accounts_go_to_the_survivors_and_nothing_else_moves() -> None:
    """When a node leaves, only its accounts move, split over the others."""
    accounts = [f"acc{i}" for i in range(30)]
    before = assign([NodeCapacity(n, 20) for n in "abc"], accounts, {})
    after = assign([NodeCapacity(n, 20) for n in "ab"], accounts, before.owners)
    assert after.counts() == {"a": 15, "b": 15}
    for account, node in before.owners.items():
        if node != "c":
            assert after.owner_of(account) == node


def test_joining_node_takes_a_fair_share_from_the_crowded_ones() -> None:
    """A new node gets its share; the others give up only their excess."""
    accounts = [f"acc{i}" for i in range(30)]
    before = assign([NodeCapacity(n, 30) for n in "ab"], accounts, {})
    after = assign([NodeCapacity(n, 30) for n in "abc"], accounts, before.owners)
    assert after.counts() == {"a": 10, "b": 10, "c": 10}
    moved = [a for a in accounts if after.owner_of(a) != before.owner_of(a)]
    assert len(moved) == 10
    assert all(after.owner_of(a) == "c" for a in moved)


def test_accounts_beyond_capacity_are_unowned() -> None:
    """With room for five, seven accounts leave two unowned and keep current owners."""
    accounts = [f"acc{i}" for i in range(7)]
    out = assign([NodeCapacity("a", 2), NodeCapacity("b", 3)], accounts, {"acc6": "a"})
    assert len(out.unowned) == 2
    assert out.owner_of("acc6") == "a"
    assert out.counts() == {"a": 2, "b": 3}


def test_no_live_node_leaves_everything_unowned() -> None:
    """Without nodes every account is unowned."""
    out = assign([], ["x", "y"], {"x": "a"})
    assert out.owners == {}
    assert out.unowned == {"x", "y"}


def test_uneven_maxima_fill_the_small_node_and_balance_the_rest() -> None:
    """A node with max 2 holds 2; the others share the rest evenly."""
    nodes = [NodeCapacity("a", 2), NodeCapacity("b", 50), NodeCapacity("c", 50)]
    out = assign(nodes, [f"acc{i}" for i in range(20)], {})
    assert out.counts() == {"a": 2, "b": 9, "c": 9}
