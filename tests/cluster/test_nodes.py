"""The node registry on a real PostgreSQL: register, NodeIdInUse, heartbeat, deregister."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from riskd.cluster import leases, nodes
from riskd.cluster.nodes import NodeIdInUse
from tests.cluster.lease_db import conn, module_db, pg_url  # the module's database fixtures


async def test_registered_node_is_live(conn: asyncpg.Connection) -> None:
    """A registered node appears live with its host, pid and maximum."""
    await nodes.register(conn, "a", "i1", 12, 5.0, host="h1", pid=101)
    (node,) = await nodes.live_nodes(conn)
    assert (node.node_id, node.host, node.pid, node.max_accounts) == ("a", "h1", 101, 12)
    assert node.alive and not node.stopped
    assert 0 <= node.heartbeat_age_s < 1.0 and 4.0 < node.expires_in_s <= 5.0


async def test_second_instance_with_a_live_node_id_is_refused(conn: asyncpg.Connection) -> None:
    """Two processes with one node id: the second gets NodeIdInUse naming the first."""
    await nodes.register(conn, "a", "i1", 10, 5.0, host="h1", pid=101)
    with pytest.raises(NodeIdInUse) as err:
        await nodes.register(conn, "a", "i2", 10, 5.0, host="h2", pid=202)
    assert (err.value.node_id, err.value.host, err.value.pid) == ("a", "h1", 101)
    assert "\n" not in str(err.value) and "h1" in str(err.value)


async def test_node_id_is_free_again_once_expired_or_stopped(conn: asyncpg.Connection) -> None:
    """An expired or stopped row may be taken by a new instance."""
    await nodes.register(conn, "a", "i1", 10, 0.05)
    await asyncio.sleep(0.1)
    await nodes.register(conn, "a", "i2", 10, 5.0)
    assert await nodes.deregister(conn, "a", "i2")
    await nodes.register(conn, "a", "i3", 10, 5.0)
    (node,) = await nodes.all_nodes(conn)
    assert node.instance == "i3" and node.alive


async def test_same_instance_may_register_again(conn: asyncpg.Connection) -> None:
    """Registering again as the same instance just refreshes the row."""
    await nodes.register(conn, "a", "i1", 10, 5.0)
    await nodes.register(conn, "a", "i1", 11, 5.0)
    (node,) = await nodes.live_nodes(conn)
    assert node.max_accounts == 11


async def test_heartbeat_extends_and_reports_a_taken_row(conn: asyncpg.Connection) -> None:
    """Heartbeat keeps a node live; it returns False once another instance took the id."""
    await nodes.register(conn, "a", "i1", 10, 0.2)
    assert await nodes.heartbeat(conn, "a", "i1", 5.0, 10)
    (node,) = await nodes.live_nodes(conn)
    assert node.expires_in_s > 4.0
    await conn.execute("UPDATE riskd_nodes SET expires_at = clock_timestamp()")
    await nodes.register(conn, "a", "i2", 10, 5.0)
    assert not await nodes.heartbeat(conn, "a", "i1", 5.0, 10)


async def test_expired_node_is_not_live(conn: asyncpg.Connection) -> None:
    """A node whose heartbeat stopped drops out of live_nodes but stays listed."""
    await nodes.register(conn, "a", "i1", 10, 0.05)
    await nodes.register(conn, "b", "i2", 10, 5.0)
    await asyncio.sleep(0.1)
    assert [n.node_id for n in await nodes.live_nodes(conn)] == ["b"]
    listed = {n.node_id: n.alive for n in await nodes.all_nodes(conn)}
    assert listed == {"a": False, "b": True}


async def test_deregister_stops_the_node_and_releases_its_leases(
    conn: asyncpg.Connection,
) -> None:
    """A clean stop marks the node stopped and frees its accounts at once."""
    await nodes.register(conn, "a", "i1", 10, 5.0)
    await leases.acquire_many(conn, ["acc1", "acc2"], "a", 60.0)
    await leases.acquire(conn, "acc3", "b", 60.0)
    assert not await nodes.deregister(conn, "a", "other-instance")
    assert await nodes.deregister(conn, "a", "i1")
    assert await nodes.live_nodes(conn) == ()
    held = {r.account: r.owner for r in await leases.owners(conn) if r.held}
    assert held == {"acc3": "b"}


async def test_schema_creation_is_safe_to_run_concurrently(pg_url: str) -> None:
    """Several nodes creating the tables at once do not collide."""
    conns = [await asyncpg.connect(pg_url) for _ in range(4)]
    try:
        await asyncio.gather(*(nodes.ensure_schema(c) for c in conns))
        assert await conns[0].fetchval("SELECT count(*) FROM riskd_nodes") == 0
    finally:
        for c in conns:
            await c.close()


#: Re-exported: pytest takes fixtures from the module's namespace.
__all__ = ["conn", "module_db", "pg_url"]
