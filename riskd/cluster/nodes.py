"""The node registry (``riskd_nodes``): which riskd processes are alive, by PostgreSQL's clock.

A node *registers* at start (one row per node id, upserted), *heartbeats* every keeper period
(``expires_at`` = now + ttl) and *deregisters* on a clean stop (``stopped``, and its leases
released so the others take its accounts at once). A node is live while its row is not
stopped and ``expires_at > clock_timestamp()``.

Each start of a node has its own ``instance`` (a random id): a second process started with the
node id of a live one gets :class:`NodeIdInUse` and refuses to start. A frozen process whose
row expired and was taken by a new instance finds out at its next heartbeat (False).

Every function runs one statement (one implicit transaction) on the connection it is given.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from riskd.cluster.fence import CLUSTER_SCHEMA


class NodeIdInUse(Exception):
    """Another live process already runs as ``node_id`` (on ``host``, process ``pid``)."""

    def __init__(self, node_id: str, host: str, pid: int) -> None:
        self.node_id = node_id
        self.host = host
        self.pid = pid
        super().__init__(
            f"node id {node_id!r} is in use by a running riskd on {host} (pid {pid}); "
            "give each node its own [cluster] node_id, or stop the other one"
        )


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One row of ``riskd_nodes`` and what it means at the database's ``now``."""

    node_id: str
    instance: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    max_accounts: int
    stopped: bool
    #: Not stopped and not expired, by PostgreSQL's clock.
    alive: bool
    #: Seconds since the last heartbeat, by PostgreSQL's clock.
    heartbeat_age_s: float
    #: Seconds until the row expires (negative once it has).
    expires_in_s: float


async def ensure_schema(conn: asyncpg.Connection) -> None:
    """Create the cluster tables when they do not exist (idempotent; nodes starting together
    take turns, as concurrent ``CREATE TABLE IF NOT EXISTS`` may collide)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('riskd_cluster_schema'))")
        await conn.execute(CLUSTER_SCHEMA)


_REGISTER_SQL = """
INSERT INTO riskd_nodes AS n
    (node_id, instance, host, pid, started_at, heartbeat_at, expires_at, max_accounts, stopped)
VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp(),
        clock_timestamp() + make_interval(secs => $5), $6, FALSE)
ON CONFLICT (node_id) DO UPDATE SET
    instance = EXCLUDED.instance, host = EXCLUDED.host, pid = EXCLUDED.pid,
    started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,
    expires_at = EXCLUDED.expires_at, max_accounts = EXCLUDED.max_accounts, stopped = FALSE
WHERE n.instance = EXCLUDED.instance OR n.stopped OR n.expires_at <= clock_timestamp()
RETURNING node_id
"""


async def register(
    conn: asyncpg.Connection,
    node_id: str,
    instance: str,
    max_accounts: int,
    ttl: float,
    *,
    host: str | None = None,
    pid: int | None = None,
) -> None:
    """Upsert this node's row (live for ``ttl`` seconds); :class:`NodeIdInUse` when another
    instance holds ``node_id`` and is live."""
    host = host if host is not None else socket.gethostname()
    pid = pid if pid is not None else os.getpid()
    row = await conn.fetchrow(_REGISTER_SQL, node_id, instance, host, pid, ttl, max_accounts)
    if row is not None:
        return
    other = await conn.fetchrow("SELECT host, pid FROM riskd_nodes WHERE node_id = $1", node_id)
    if other is None:  # it went away between the two statements: try once more
        row = await conn.fetchrow(_REGISTER_SQL, node_id, instance, host, pid, ttl, max_accounts)
        if row is not None:
            return
        raise NodeIdInUse(node_id, "?", 0)
    raise NodeIdInUse(node_id, str(other["host"]), int(other["pid"]))


async def heartbeat(
    conn: asyncpg.Connection, node_id: str, instance: str, ttl: float, max_accounts: int
) -> bool:
    """Extend this node's row by ``ttl``; False when the row is no longer this instance's
    (stopped, or taken by another start of the same node id)."""
    row = await conn.fetchrow(
        "UPDATE riskd_nodes SET heartbeat_at = clock_timestamp(),"
        " expires_at = clock_timestamp() + make_interval(secs => $3), max_accounts = $4"
        " WHERE node_id = $1 AND instance = $2 AND NOT stopped RETURNING node_id",
        node_id,
        instance,
        ttl,
        max_accounts,
    )
    return row is not None


async def deregister(conn: asyncpg.Connection, node_id: str, instance: str) -> bool:
    """Mark this instance stopped and release every lease its node id holds, in one
    statement; False when the row was not this instance's (then nothing is released)."""
    row = await conn.fetchrow(
        """
        WITH n AS (
            UPDATE riskd_nodes SET stopped = TRUE, expires_at = clock_timestamp()
            WHERE node_id = $1 AND instance = $2 RETURNING node_id
        ), l AS (
            UPDATE riskd_leases SET owner = NULL, expires_at = clock_timestamp()
            WHERE owner IN (SELECT node_id FROM n) RETURNING account
        )
        SELECT (SELECT count(*) FROM n) AS nodes, (SELECT count(*) FROM l) AS leases
        """,
        node_id,
        instance,
    )
    return row is not None and int(row["nodes"]) > 0


_SELECT_NODES = """
SELECT node_id, instance, host, pid, started_at, heartbeat_at, expires_at, max_accounts,
       stopped, (NOT stopped AND expires_at > t.now) AS alive,
       EXTRACT(EPOCH FROM t.now - heartbeat_at)::double precision AS heartbeat_age_s,
       EXTRACT(EPOCH FROM expires_at - t.now)::double precision AS expires_in_s
FROM riskd_nodes, (SELECT clock_timestamp() AS now) AS t
"""


def _node(row: asyncpg.Record) -> NodeInfo:
    return NodeInfo(
        node_id=str(row["node_id"]),
        instance=str(row["instance"]),
        host=str(row["host"]),
        pid=int(row["pid"]),
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        expires_at=row["expires_at"],
        max_accounts=int(row["max_accounts"]),
        stopped=bool(row["stopped"]),
        alive=bool(row["alive"]),
        heartbeat_age_s=float(row["heartbeat_age_s"]),
        expires_in_s=float(row["expires_in_s"]),
    )


async def all_nodes(conn: asyncpg.Connection) -> tuple[NodeInfo, ...]:
    """Every registered node (live, expired or stopped), by node id."""
    rows = await conn.fetch(_SELECT_NODES + " ORDER BY node_id")
    return tuple(_node(r) for r in rows)


async def live_nodes(conn: asyncpg.Connection) -> tuple[NodeInfo, ...]:
    """The live nodes (not stopped, not expired by PostgreSQL's clock), by node id."""
    rows = await conn.fetch(
        _SELECT_NODES + " WHERE NOT stopped AND expires_at > t.now ORDER BY node_id"
    )
    return tuple(_node(r) for r in rows)


__all__ = [
    "NodeIdInUse",
    "NodeInfo",
    "all_nodes",
    "deregister",
    "ensure_schema",
    "heartbeat",
    "live_nodes",
    "register",
]
