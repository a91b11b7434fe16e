"""This process as one node of a cluster (``journal_url`` set): its lease keeper.

:func:`join` builds the :class:`~riskd.cluster.keeper.LeaseKeeper` over the journal's
PostgreSQL, makes it the daemon's :class:`~riskd.daemon.ownership.Ownership` and the
journal's fencer (every intent is written only under this node's lease on its account), and
gives the action runners its ownership check for the last look before a call leaves.
:class:`~riskd.daemon.service.Service` starts it before the daemon (so the daemon starts on
this node's share of the accounts) and stops it after the daemon (its leases released at
once, so the other nodes take them over at their next round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskd.daemon.app import Daemon
from riskd.settings import Settings

if TYPE_CHECKING:
    from riskd.cluster.keeper import LeaseKeeper


def join(settings: Settings, daemon: Daemon) -> LeaseKeeper | None:
    """The node's lease keeper wired into ``daemon`` (not started), or None for one node."""
    if settings.journal_url is None:
        return None
    from riskd.cluster.keeper import LeaseKeeper

    lease = settings.cluster.lease
    keeper = LeaseKeeper(
        settings.journal_url,
        settings.node_id(),
        tuple(settings.accounts),
        settings.cluster.max_accounts,
        lease,
        # A round at least every poll interval: a dead node's accounts are owned again
        # within the lease plus one poll interval (and acted on at the next cycle).
        period=min(lease / 3, settings.poll.interval),
    )
    daemon.ownership = keeper
    daemon.journal.fencer = keeper.fence
    # An account at risk stays put when a node joins; it moves once calm.
    keeper.keep = daemon.holds_on
    return keeper


__all__ = ["join"]
