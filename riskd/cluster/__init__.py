"""Several riskd nodes on one PostgreSQL (journal, ownership) and one Redis (rate budget).

- :mod:`riskd.cluster.fence`: the fencing token and the lease table that the journal checks in
  the same transaction that writes an intent.
"""
