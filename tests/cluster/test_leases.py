"""Account leases on a real PostgreSQL: acquire, renew, release, fencing tokens."""

from __future__ import annotations

import asyncio

import asyncpg

from riskd.cluster import leases
from riskd.cluster.fence import FENCE_CHECK_SQL, Fence
from tests.cluster.lease_db import conn, module_db, pg_url  # the module's database fixtures


async def _fenced(conn: asyncpg.Connection, fence: Fence) -> bool:
    async with conn.transaction():
        row = await conn.fetchrow(FENCE_CHECK_SQL, fence.account, fence.node, fence.token)
    return row is not None


async def test_first_acquire_gets_token_one_and_passes_the_fence(
    conn: asyncpg.Connection,
) -> None:
    """A free account is taken under token 1, and the journal's fence check accepts it."""
    fence = await leases.acquire(conn, "acc1", "a", 5.0)
    assert fence == Fence("acc1", "a", 1)
    assert await _fenced(conn, fence)


async def test_held_lease_cannot_be_taken_by_another_node(conn: asyncpg.Connection) -> None:
    """While a lease is held, another node's acquire returns None."""
    assert await leases.acquire(conn, "acc1", "a", 5.0) is not None
    assert await leases.acquire(conn, "acc1", "b", 5.0) is None
    (row,) = await leases.owners(conn)
    assert (row.owner, row.token, row.held) == ("a", 1, True)


async def test_expired_lease_is_taken_with_a_bumped_token(conn: asyncpg.Connection) -> None:
    """After expiry another node takes the account under token 2; the old fence fails."""
    old = await leases.acquire(conn, "acc1", "a", 0.05)
    assert old is not None
    await asyncio.sleep(0.1)
    new = await leases.acquire(conn, "acc1", "b", 5.0)
    assert new == Fence("acc1", "b", 2)
    assert not await _fenced(conn, old)
    assert await _fenced(conn, new)


async def test_taken_lease_cannot_be_renewed_by_its_old_owner(conn: asyncpg.Connection) -> None:
    """Renew returns only leases still held under the same token."""
    a1 = await leases.acquire(conn, "acc1", "a", 0.05)
    a2 = await leases.acquire(conn, "acc2", "a", 5.0)
    assert a1 is not None and a2 is not None
    await asyncio.sleep(0.1)
    assert await leases.acquire(conn, "acc1", "b", 5.0) is not None
    assert await leases.renew(conn, [a1, a2], 5.0) == {"acc2"}


async def test_expired_lease_is_not_renewed_even_if_nobody_took_it(
    conn: asyncpg.Connection,
) -> None:
    """An expired lease must be acquired again (new token), never silently renewed."""
    fence = await leases.acquire(conn, "acc1", "a", 0.05)
    assert fence is not None
    await asyncio.sleep(0.1)
    assert await leases.renew(conn, [fence], 5.0) == frozenset()
    again = await leases.acquire(conn, "acc1", "a", 5.0)
    assert again == Fence("acc1", "a", 2)


async def test_reacquiring_by_the_same_node_id_never_reuses_a_token(
    conn: asyncpg.Connection,
) -> None:
    """A restart of the same node id gets a new token; the previous instance's is refused."""
    old = await leases.acquire(conn, "acc1", "a", 5.0)
    new = await leases.acquire(conn, "acc1", "a", 5.0)
    assert old is not None and new is not None
    assert new.token == old.token + 1
    assert not await _fenced(conn, old)


async def test_release_hands_over_at_once_and_keeps_the_token_sequence(
    conn: asyncpg.Connection,
) -> None:
    """A released lease is free at once; the next owner's token is higher."""
    fence = await leases.acquire(conn, "acc1", "a", 60.0)
    assert fence is not None
    assert not await leases.release(conn, "acc1", "a", fence.token + 1)  # wrong token
    assert await leases.release(conn, "acc1", "a", fence.token)
    assert not await _fenced(conn, fence)
    (row,) = await leases.owners(conn)
    assert row.owner is None and not row.held and row.fence is None
    assert await leases.acquire(conn, "acc1", "b", 5.0) == Fence("acc1", "b", 2)


async def test_acquire_many_takes_only_the_free_ones(conn: asyncpg.Connection) -> None:
    """One statement takes the free accounts and skips those another node holds."""
    assert await leases.acquire(conn, "acc2", "b", 5.0) is not None
    got = await leases.acquire_many(conn, ["acc1", "acc2", "acc3"], "a", 5.0)
    assert got == (Fence("acc1", "a", 1), Fence("acc3", "a", 1))
    owners = {r.account: r.owner for r in await leases.owners(conn)}
    assert owners == {"acc1": "a", "acc2": "b", "acc3": "a"}


async def test_renew_extends_expiry_by_the_database_clock(conn: asyncpg.Connection) -> None:
    """A renewed lease expires ttl after the renewal, by PostgreSQL's clock."""
    fence = await leases.acquire(conn, "acc1", "a", 1.0)
    assert fence is not None
    assert await leases.renew(conn, [fence], 30.0) == {"acc1"}
    (row,) = await leases.owners(conn)
    assert 29.0 < row.expires_in_s <= 30.0
    assert row.renewed_at >= row.acquired_at


#: Re-exported: pytest takes fixtures from the module's namespace.
__all__ = ["conn", "module_db", "pg_url"]
