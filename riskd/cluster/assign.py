"""Which node should own which account: a pure function of the live nodes, the accounts and
their current owners.

:func:`assign` returns the target owner of every account such that

- every account is owned while the live nodes' maxima allow it; the rest are *unowned* (the
  caller alerts about them);
- no node holds more than its ``max_accounts``;
- the counts are balanced: two nodes' counts differ by at most one unless the smaller one is
  at its maximum;
- the assignment is stable: an account keeps its current (live) owner unless that node holds
  more than its fair share, and the fewest accounts move;
- new placements (orphans of a dead node, new accounts, accounts a crowded node gives up)
  follow rendezvous hashing, so that every node computes the same answer from the same
  inputs and an account tends to return to the same node.

It never looks at a clock or a database: :mod:`riskd.cluster.keeper` feeds it what it read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NodeCapacity:
    """A live node and how many accounts it may hold."""

    node_id: str
    max_accounts: int

    def __post_init__(self) -> None:
        if self.max_accounts < 0:
            raise ValueError(f"node {self.node_id!r}: max_accounts must be >= 0")


@dataclass(frozen=True, slots=True)
class Assignment:
    """The target owner of each account (``owners``) and the accounts no node can take."""

    owners: Mapping[str, str] = field(default_factory=dict)
    unowned: frozenset[str] = frozenset()

    def owner_of(self, account: str) -> str | None:
        """The node that should own ``account``, or None when no node has room for it."""
        return self.owners.get(account)

    def accounts_of(self, node_id: str) -> frozenset[str]:
        """The accounts ``node_id`` should own."""
        return frozenset(a for a, n in self.owners.items() if n == node_id)

    def counts(self) -> dict[str, int]:
        """Accounts per node (nodes with none are absent)."""
        out: dict[str, int] = {}
        for node in self.owners.values():
            out[node] = out.get(node, 0) + 1
        return out


def rendezvous_score(account: str, node_id: str) -> int:
    """The rendezvous (highest random weight) score of ``node_id`` for ``account``."""
    digest = hashlib.blake2b(f"{account}\x00{node_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _level(caps: Sequence[int], total: int) -> int:
    """The largest level L with sum(min(cap, L)) <= total (water filling)."""
    if not caps:
        return 0
    lo, hi = 0, max(caps)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(c, mid) for c in caps) <= total:
            lo = mid
        else:
            hi = mid - 1
    return lo


def quotas(
    nodes: Sequence[NodeCapacity], n_accounts: int, held: Mapping[str, int]
) -> dict[str, int]:
    """How many accounts each node should hold: balanced within the maxima, summing to
    ``min(n_accounts, total capacity)``. The nodes that get one more than the level are
    those holding the most now (fewest moves), then by node id."""
    caps = [n.max_accounts for n in nodes]
    level = _level(caps, n_accounts)
    out = {n.node_id: min(n.max_accounts, level) for n in nodes}
    spare = n_accounts - sum(out.values())
    room = [n for n in nodes if n.max_accounts > level]
    room.sort(key=lambda n: (-held.get(n.node_id, 0), n.node_id))
    for node in room[: max(spare, 0)]:
        out[node.node_id] += 1
    return out


def _closest_first(node_id: str) -> Callable[[str], tuple[int, str]]:
    """Sort key: the accounts with the highest rendezvous score for ``node_id`` first."""

    def key(account: str) -> tuple[int, str]:
        return (-rendezvous_score(account, node_id), account)

    return key


def assign(
    nodes: Iterable[NodeCapacity],
    accounts: Iterable[str],
    current: Mapping[str, str],
) -> Assignment:
    """The target owner of every account (see the module docstring).

    ``nodes`` are the live nodes (a node id given twice keeps its first entry); ``current``
    maps an account to its current owner (owners that are not live nodes, and accounts not
    in ``accounts``, are ignored).
    """
    live: dict[str, NodeCapacity] = {}
    for node in nodes:
        live.setdefault(node.node_id, node)
    names = sorted(set(accounts))
    kept_by_node: dict[str, list[str]] = {n: [] for n in live}
    for account in names:
        owner = current.get(account)
        if owner is not None and owner in live:
            kept_by_node[owner].append(account)
    quota = quotas(list(live.values()), len(names), {n: len(a) for n, a in kept_by_node.items()})

    owners: dict[str, str] = {}
    for node_id, held in kept_by_node.items():
        # A crowded node keeps the accounts that hash closest to it.
        held.sort(key=_closest_first(node_id))
        for account in held[: quota[node_id]]:
            owners[account] = node_id
    room = {n: quota[n] - sum(1 for o in owners.values() if o == n) for n in live}

    unowned: set[str] = set()
    for account in names:
        if account in owners:
            continue
        ranked = sorted(live, key=lambda n: (-rendezvous_score(account, n), n))
        for node_id in ranked:
            if room[node_id] > 0:
                owners[account] = node_id
                room[node_id] -= 1
                break
        else:
            unowned.add(account)
    return Assignment(owners=owners, unowned=frozenset(unowned))


__all__ = ["Assignment", "NodeCapacity", "assign", "quotas", "rendezvous_score"]
