"""The fencing token: what a node shows the journal to prove it still owns an account.

A node owns an account while it holds that account's row in ``riskd_leases`` (``owner`` =
its node id, ``expires_at`` in the future by PostgreSQL's clock). Every acquisition after
someone else's lease raises ``token`` by one, so a token is never given twice for one
account. The PostgreSQL journal writes an intent only inside a transaction that first runs
:data:`FENCE_CHECK_SQL` with the node's :class:`Fence`: a node whose lease was taken over
(expired while it was frozen, say) gets :class:`~riskd.daemon.journal_types.Fenced` and
sends nothing.

Times are PostgreSQL's (``clock_timestamp()``), never a node's own clock: nodes may disagree
about the time, the database is the one arbiter.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The lease and node tables (PostgreSQL). ``riskd.cluster`` creates them; the journal only
#: reads ``riskd_leases`` in :data:`FENCE_CHECK_SQL`.
CLUSTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS riskd_nodes (
    node_id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    max_accounts INTEGER NOT NULL,
    stopped BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS riskd_leases (
    account TEXT PRIMARY KEY,
    owner TEXT,
    token BIGINT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
"""

#: One row when ``owner`` ($2) still holds ``account`` ($1) under ``token`` ($3); the row is
#: locked until the transaction ends, so the lease cannot change hands while the intent is
#: being written.
FENCE_CHECK_SQL = (
    "SELECT 1 FROM riskd_leases WHERE account = $1 AND owner = $2 AND token = $3"
    " AND expires_at > clock_timestamp() FOR UPDATE"
)


@dataclass(frozen=True, slots=True)
class Fence:
    """Node ``node`` holds ``account``'s lease under ``token``."""

    account: str
    node: str
    token: int


__all__ = ["CLUSTER_SCHEMA", "FENCE_CHECK_SQL", "Fence"]
