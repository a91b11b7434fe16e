"""Several riskd nodes on one PostgreSQL (journal, ownership) and one Redis (rate budget).

- :mod:`riskd.cluster.fence`: the fencing token and the lease table that the journal checks in
  the same transaction that writes an intent.
- :mod:`riskd.cluster.assign`: which node should own which account (pure).
- :mod:`riskd.cluster.nodes`: the node registry (register, heartbeat, deregister, live nodes).
- :mod:`riskd.cluster.leases`: account leases (acquire, renew, release, owners).
- :mod:`riskd.cluster.keeper`: :class:`~riskd.cluster.keeper.LeaseKeeper`, the task that keeps
  a node's share of the accounts and tells the daemon what it owns.
- :mod:`riskd.cluster.pg`: bounded connections and one-line errors without the password.
- :mod:`riskd.cluster.status`: what ``riskd cluster status`` shows.

See docs/cluster.md.
"""
