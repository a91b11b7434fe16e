"""The lease keeper on a real PostgreSQL: spreading, takeover, fencing, freezes, outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from riskd.cluster import leases
from riskd.cluster.keeper import LeaseKeeper
from riskd.cluster.nodes import NodeIdInUse
from riskd.cluster.pg import ClusterDatabaseError
from tests.cluster.lease_db import module_db, pg_url  # the module's database fixtures
from tests.realservers import free_port

ACCOUNTS = [f"acc{i:02d}" for i in range(30)]


class FakeMonotonic:
    """The real monotonic clock plus a jump (a SIGSTOP'd process sees the time jump)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class Switch:
    """A connection factory whose database can be cut off and restored."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.up = True
        self.conns: list[asyncpg.Connection] = []

    async def __call__(self) -> asyncpg.Connection:
        if not self.up:
            raise OSError("connection refused (test)")
        conn = await asyncpg.connect(self.url)
        self.conns.append(conn)
        return conn

    def cut(self) -> None:
        self.up = False
        for conn in self.conns:
            conn.terminate()


@pytest.fixture
async def keepers(pg_url: str) -> AsyncIterator[Callable[..., LeaseKeeper]]:
    """Makes keepers on the test's database and stops them all at the end."""
    made: list[LeaseKeeper] = []

    def make(node_id: str, **kw: object) -> LeaseKeeper:
        args: dict[str, object] = {
            "accounts": ACCOUNTS,
            "max_accounts": 30,
            "ttl": 30.0,
            "run_in_background": False,
        }
        args.update(kw)
        pg = args.pop("pg", pg_url)
        keeper = LeaseKeeper(pg, node_id, **args)  # type: ignore[arg-type]
        made.append(keeper)
        return keeper

    yield make
    for keeper in made:
        await keeper.stop()


async def _owners(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        return {r.account: r.owner for r in await leases.owners(conn) if r.held and r.owner}
    finally:
        await conn.close()


async def test_single_node_owns_every_account_with_fences(
    keepers: Callable[..., LeaseKeeper],
) -> None:
    """One node takes all accounts at start; fences carry token 1; changes are reported once."""
    k = keepers("a")
    await k.start()
    assert all(k.owns(a) for a in ACCOUNTS)
    fence = k.fence("acc00")
    assert fence is not None and (fence.node, fence.token) == ("a", 1)
    assert k.take_changes() == (frozenset(ACCOUNTS), frozenset())
    assert k.take_changes() == (frozenset(), frozenset())
    assert not k.owns("not-an-account") and k.fence("not-an-account") is None


async def test_second_process_with_the_same_node_id_refuses_to_start(
    keepers: Callable[..., LeaseKeeper],
) -> None:
    """A second keeper with a live node id raises NodeIdInUse and holds nothing."""
    await keepers("a", host="h1", pid=11).start()
    twin = keepers("a", host="h2", pid=22)
    with pytest.raises(NodeIdInUse, match="h1"):
        await twin.start()
    assert twin.held == frozenset()


async def test_node_whose_lease_was_taken_cannot_renew_and_stops_owning(
    keepers: Callable[..., LeaseKeeper], pg_url: str
) -> None:
    """When another node took an (expired) lease, the old owner's renewal fails: owns() False."""
    k = keepers("a", accounts=["acc1", "acc2"])
    await k.start()
    old = k.fence("acc1")
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("UPDATE riskd_leases SET expires_at = clock_timestamp()")
        taken = await leases.acquire(conn, "acc1", "b", 30.0)
    finally:
        await conn.close()
    assert taken is not None and old is not None and taken.token == old.token + 1
    k.take_changes()
    await k.tick()
    assert not k.owns("acc1") and k.fence("acc1") is None
    assert "acc1" in k.take_changes()[1]


async def test_frozen_node_owns_nothing_once_its_local_deadline_passed(
    keepers: Callable[..., LeaseKeeper],
) -> None:
    """After a freeze longer than the lease (monotonic jump), owns() is False before any
    round runs; the next round takes the accounts again under new tokens."""
    mono = FakeMonotonic()
    k = keepers("a", accounts=["acc1"], monotonic=mono)
    await k.start()
    k.take_changes()
    assert k.owns("acc1")
    mono.offset += k.ttl  # frozen for one ttl: the database never heard from us
    assert not k.owns("acc1") and k.fence("acc1") is None
    assert k.take_changes() == (frozenset(), frozenset({"acc1"}))
    await k.tick()
    fence = k.fence("acc1")
    assert fence is not None and fence.token == 2


async def test_deadline_is_before_the_database_expiry(keepers: Callable[..., LeaseKeeper]) -> None:
    """The local deadline passes a safety margin before PostgreSQL's expiry."""
    mono = FakeMonotonic()
    k = keepers("a", accounts=["acc1"], monotonic=mono, ttl=10.0)
    await k.start()
    mono.offset += k.ttl - k.safety_margin - 0.5
    assert k.owns("acc1")
    mono.offset += 0.6
    assert not k.owns("acc1")


async def test_clean_stop_hands_accounts_over_at_once(
    keepers: Callable[..., LeaseKeeper], pg_url: str
) -> None:
    """A stopped node's accounts are taken at the next round of another, long before ttl."""
    a, b = keepers("a"), keepers("b")
    await a.start()
    await b.start()
    await a.tick()
    await b.tick()
    assert len(a.held) == len(b.held) == 15
    await a.stop()
    await b.tick()
    assert b.held == frozenset(ACCOUNTS)
    assert set((await _owners(pg_url)).values()) == {"b"}


async def test_a_dead_nodes_accounts_are_reported_as_a_takeover_and_a_stop_is_not(
    keepers: Callable[..., LeaseKeeper], pg_url: str
) -> None:
    """Node a stops renewing (its node row and leases run out): b takes its accounts and
    reports each as taken from a; accounts a released by a clean stop are not takeovers."""
    a, b = keepers("a"), keepers("b")
    await a.start()
    await b.start()
    await a.tick()
    await b.tick()
    from_a = a.held
    assert len(from_a) == 15 and b.take_takeovers() == {}
    conn = await asyncpg.connect(pg_url)
    try:  # a freezes for good: the database sees its rows run out
        await conn.execute(
            "UPDATE riskd_nodes SET expires_at = clock_timestamp() WHERE node_id = 'a'"
        )
        await conn.execute(
            "UPDATE riskd_leases SET expires_at = clock_timestamp() WHERE owner = 'a'"
        )
    finally:
        await conn.close()
    await b.tick()
    assert b.held == frozenset(ACCOUNTS)
    assert b.take_takeovers() == dict.fromkeys(from_a, "a")
    assert b.take_takeovers() == {}
    c = keepers("c")
    await c.start()
    await c.tick()
    await b.tick()  # b releases c's share
    await c.tick()
    assert len(c.held) == 15 and c.take_takeovers() == {}
    await c.stop()
    await b.tick()
    assert b.held == frozenset(ACCOUNTS) and b.take_takeovers() == {}


async def test_joining_node_gets_its_share_by_release(
    keepers: Callable[..., LeaseKeeper], pg_url: str
) -> None:
    """A third node joining two takes ten accounts they release; no lease waits for expiry."""
    a, b = keepers("a"), keepers("b")
    await a.start()
    await b.start()
    await a.tick()
    await b.tick()
    a.take_changes()
    c = keepers("c")
    await c.start()
    assert c.held == frozenset()
    await a.tick()
    await b.tick()
    await c.tick()
    assert (len(a.held), len(b.held), len(c.held)) == (10, 10, 10)
    assert len(set(await _owners(pg_url))) == 30
    lost_by_a = a.take_changes()[1]
    assert len(lost_by_a) == 5 and lost_by_a <= c.held


async def test_accounts_at_risk_stay_put_when_a_node_joins(
    keepers: Callable[..., LeaseKeeper], pg_url: str
) -> None:
    """An account the daemon holds on to (rules firing) is not handed to a joining node
    mid-crash; once calm it is."""
    a = keepers("a")
    await a.start()
    await a.tick()
    at_risk = set(sorted(a.held)[:20])
    a.keep = lambda account: account in at_risk
    b = keepers("b")
    await b.start()
    await a.tick()
    await b.tick()
    assert at_risk <= a.held, "nothing at risk moved"
    assert 0 < len(b.held) <= 10 and not (b.held & at_risk)
    at_risk.clear()
    for _ in range(2):
        await a.tick()
        await b.tick()
    assert (len(a.held), len(b.held)) == (15, 15)


async def test_database_outage_keeps_leases_until_deadline_then_recovers(
    keepers: Callable[..., LeaseKeeper], pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL lost: lost_database is set and logged once, leases last until their local
    deadline, then nothing is owned; when it returns the node owns its accounts again."""
    mono = FakeMonotonic()
    switch = Switch(pg_url)
    k = keepers("a", accounts=["acc1", "acc2"], monotonic=mono, pg=switch, ttl=5.0)
    await k.start()
    switch.cut()
    with caplog.at_level(logging.ERROR, logger="riskd.cluster.keeper"):
        await k.tick()
        await k.tick()
    assert k.lost_database
    assert len([r for r in caplog.records if "cannot be used" in r.getMessage()]) == 1
    assert k.owns("acc1")
    mono.offset += k.ttl
    assert k.held == frozenset()
    switch.up = True
    await k.tick()
    assert not k.lost_database
    assert k.held == {"acc1", "acc2"}


async def test_node_over_its_maximum_leaves_accounts_unowned(
    keepers: Callable[..., LeaseKeeper],
) -> None:
    """With room for 4 of 30 accounts, the node holds 4 and reports 26 unowned."""
    k = keepers("a", max_accounts=4)
    await k.start()
    assert len(k.held) == 4
    assert len(k.unowned) == 26


async def test_three_nodes_spread_evenly_and_survivors_take_a_crashed_nodes_accounts(
    keepers: Callable[..., LeaseKeeper], pg_url: str
) -> None:
    """Three running keepers hold 10/10/10; after one crashes, the two others own all 30,
    each taken within ttl + one period of the crashed node's last renewal (database clock)."""
    ks = [keepers(n, ttl=1.0, run_in_background=True) for n in "abc"]
    await asyncio.gather(*(k.start() for k in ks))
    for _ in range(60):
        if sorted(len(k.held) for k in ks) == [10, 10, 10]:
            break
        await asyncio.sleep(0.05)
    assert sorted(len(k.held) for k in ks) == [10, 10, 10]
    conn = await asyncpg.connect(pg_url)
    try:
        dead = ks[0]
        await dead.abandon()
        before = {r.account: r for r in await leases.owners(conn) if r.owner == dead.node_id}
        assert len(before) == 10
        for _ in range(80):
            if len(ks[1].held | ks[2].held) == 30:
                break
            await asyncio.sleep(0.05)
        assert len(ks[1].held | ks[2].held) == 30
        after = {r.account: r for r in await leases.owners(conn)}
    finally:
        await conn.close()
    bound = dead.ttl + dead.period
    for account, old in before.items():
        new = after[account]
        assert new.owner in ("b", "c") and new.token == old.token + 1
        gap = (new.acquired_at - old.renewed_at).total_seconds()
        assert gap <= bound + 0.5, (account, gap, bound)


async def test_node_displaced_by_a_new_instance_of_its_id_owns_nothing(
    keepers: Callable[..., LeaseKeeper], pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A node whose registration expired and was taken by a new start of the same node id
    loses every lease (new tokens) and cannot register again while the new one lives."""
    old = keepers("a", accounts=["acc1", "acc2"])
    await old.start()
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("UPDATE riskd_nodes SET expires_at = clock_timestamp()")
    finally:
        await conn.close()
    new = keepers("a", accounts=["acc1", "acc2"])
    await new.start()
    assert new.held == {"acc1", "acc2"}
    with caplog.at_level(logging.ERROR, logger="riskd.cluster.keeper"):
        await old.tick()
    assert old.held == frozenset()
    assert any("displaced" in r.getMessage() for r in caplog.records)
    fence = new.fence("acc1")
    assert fence is not None and fence.token == 2


async def test_unreachable_database_at_start_is_one_line_without_password() -> None:
    """start() on a closed port raises ClusterDatabaseError naming host:port/db, no password."""
    port = free_port()
    k = LeaseKeeper(f"postgresql://riskd:pw-s3cret@127.0.0.1:{port}/riskd", "a", ["x"], 5, 3.0)
    assert "pw-s3cret" not in repr(k)
    with pytest.raises(ClusterDatabaseError) as err:
        await k.start()
    text = str(err.value)
    assert f"127.0.0.1:{port}/riskd" in text and "pw-s3cret" not in text and "\n" not in text
    assert not k.owns("x")
    await k.stop()


#: Re-exported: pytest takes fixtures from the module's namespace.
__all__ = ["module_db", "pg_url"]
