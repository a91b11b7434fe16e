"""Which accounts this node may act on.

One node alone owns every account (:class:`OwnAll`). In a cluster
(:class:`riskd.cluster.keeper.LeaseKeeper`) a node owns the accounts whose lease it holds,
and the daemon polls, evaluates and acts only for those; an account acquired from another
node is adopted (its rule state and open intents read back from the shared journal) before
its first cycle here.
"""

from __future__ import annotations

from typing import Protocol


class Ownership(Protocol):
    """What the daemon asks about ownership (the lease keeper answers in a cluster)."""

    def owns(self, account: str) -> bool:
        """Whether this node holds ``account`` now (a lease whose local deadline is ahead)."""
        ...

    def take_changes(self) -> tuple[frozenset[str], frozenset[str]]:
        """The accounts acquired and lost since the last call (one in both was lost, then
        taken back under a new token: its state is read back)."""
        ...

    def take_takeovers(self) -> dict[str, str]:
        """Accounts taken since the last call from a node whose lease ran out, account →
        that node (the daemon tells the user a node stopped renewing)."""
        ...

    @property
    def unowned(self) -> frozenset[str]:
        """Accounts no live node has room for (the daemon alerts them)."""
        ...

    @property
    def lost_database(self) -> bool:
        """Whether the leases' database cannot be reached now."""
        ...


class OwnAll:
    """A single node: every configured account is this node's."""

    def owns(self, account: str) -> bool:
        return True

    def take_changes(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(), frozenset()

    def take_takeovers(self) -> dict[str, str]:
        return {}

    @property
    def unowned(self) -> frozenset[str]:
        return frozenset()

    @property
    def lost_database(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OwnAll()"


__all__ = ["OwnAll", "Ownership"]
