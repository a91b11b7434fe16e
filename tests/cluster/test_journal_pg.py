"""The journal on a real PostgreSQL: fencing in the intent's transaction, per-node meta,
errors that name the database but never the password."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from riskd.cluster.fence import Fence
from riskd.daemon.journal import (
    PENDING,
    Fenced,
    Intent,
    Journal,
    JournalOpenError,
    open_journal,
)
from riskd.daemon.journal_pg import pg_target, to_dollar
from tests.realservers import Postgres, free_port


def intent(n: int, *, account: str = "alice", dry_run: bool = False) -> Intent:
    return Intent(
        intent_id=f"i{n}",
        at=1000.0 + n,
        account=account,
        scope="cross",
        kind="repay",
        rule="r",
        action_id=f"a{n}",
        params={"coin": "USDT", "amount": "10"},
        coin="USDT",
        amount=Decimal(10),
        value_usdt=Decimal(10),
        dry_run=dry_run,
    )


@pytest.fixture
async def journal(pg_url: str) -> AsyncIterator[Journal]:
    j = await open_journal(pg_url, namespace="n1")
    yield j
    await j.close()


@pytest.fixture
async def sql(pg_url: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    con = await asyncpg.connect(pg_url)
    yield con
    await con.close()


async def lease(
    con: asyncpg.Connection[asyncpg.Record], account: str, owner: str, token: int, secs: float
) -> None:
    """Set ``account``'s lease row as the lease code would."""
    await con.execute(
        "INSERT INTO riskd_leases (account, owner, token, acquired_at, renewed_at, expires_at)"
        " VALUES ($1, $2, $3, now(), now(), clock_timestamp() + make_interval(secs => $4))"
        " ON CONFLICT (account) DO UPDATE SET owner = $2, token = $3,"
        " expires_at = clock_timestamp() + make_interval(secs => $4)",
        account,
        owner,
        token,
        secs,
    )


def fencer_of(node: str, tokens: dict[str, int]) -> object:
    return lambda account: Fence(account, node, tokens[account]) if account in tokens else None


async def rows(con: asyncpg.Connection[asyncpg.Record], sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await con.fetch(sql)]


def test_placeholders_are_numbered_outside_quotes() -> None:
    """``?`` becomes ``$1``, ``$2``… in order; a ``?`` inside quotes is left alone."""
    assert to_dollar("a = ? AND b IN (?,?) AND c = '?'") == "a = $1 AND b IN ($2,$3) AND c = '?'"


def test_where_hides_user_and_password() -> None:
    """The shown name of a URL is scheme://host:port/db, without user, password or query."""
    target = pg_target("postgres://u:pw-secret-77@db.example:6543/riskd?sslmode=require")
    assert target.where == "postgresql://db.example:6543/riskd"
    assert pg_target("postgresql://u@db/x").where == "postgresql://db:5432/x"


async def test_reopen_keeps_open_intents_and_schema(pg_url: str) -> None:
    """Opening twice keeps the tables and their rows (the schema is created only once)."""
    j = await open_journal(pg_url)
    await j.begin_intent(intent(1), "repay")
    await j.close()
    j = await open_journal(pg_url)
    try:
        assert [r.intent.intent_id for r in await j.open_intents()] == ["i1"]
        assert j.where.startswith("postgresql://127.0.0.1:")
    finally:
        await j.close()


async def test_fence_held_writes_the_intent_with_node_and_token(
    journal: Journal, sql: asyncpg.Connection[asyncpg.Record]
) -> None:
    """With the lease held under the token shown, the intent is written with node and fence."""
    await lease(sql, "alice", "n1", 7, 30)
    journal.fencer = fencer_of("n1", {"alice": 7})  # type: ignore[assignment]
    await journal.begin_intent(intent(1), "repay")
    assert await rows(sql, "SELECT node, fence, status FROM intents") == [("n1", 7, PENDING)]


@pytest.mark.parametrize(
    ("owner", "token", "secs"),
    [("n2", 8, 30.0), ("n1", 8, 30.0), ("n1", 7, -1.0)],
    ids=["taken-over", "new-token", "expired"],
)
async def test_fence_lost_writes_nothing(
    journal: Journal,
    sql: asyncpg.Connection[asyncpg.Record],
    owner: str,
    token: int,
    secs: float,
) -> None:
    """A lease taken by another node, under another token or expired refuses the intent:
    Fenced, and neither the intent nor its event is written."""
    await lease(sql, "alice", owner, token, secs)
    journal.fencer = fencer_of("n1", {"alice": 7})  # type: ignore[assignment]
    with pytest.raises(Fenced) as info:
        await journal.begin_intent(intent(1), "repay")
    assert (info.value.account, info.value.node, info.value.token) == ("alice", "n1", 7)
    assert await rows(sql, "SELECT intent_id FROM intents") == []
    assert await rows(sql, "SELECT kind FROM events") == []


async def test_no_lease_and_dry_run_are_fenced_too(
    journal: Journal, sql: asyncpg.Connection[asyncpg.Record]
) -> None:
    """An account without a lease row, or one the fencer gives no fence for, is refused,
    dry-run intents included."""
    journal.fencer = fencer_of("n1", {"alice": 7})  # type: ignore[assignment]
    with pytest.raises(Fenced):
        await journal.begin_intent(intent(1, dry_run=True), "would repay")  # no lease row
    with pytest.raises(Fenced) as info:
        await journal.begin_intent(intent(2, account="bob"), "repay")  # no fence at all
    assert info.value.token is None and info.value.node == "n1"
    assert await rows(sql, "SELECT intent_id FROM intents") == []


async def test_takeover_waits_for_the_intents_commit(
    journal: Journal, sql: asyncpg.Connection[asyncpg.Record], pg_url: str
) -> None:
    """The fence check locks the lease row: a takeover started while the intent is being
    written waits for its commit; after it, the old token is refused."""
    await lease(sql, "alice", "n1", 7, 30)
    journal.fencer = fencer_of("n1", {"alice": 7})  # type: ignore[assignment]
    blocker = await asyncpg.connect(pg_url)
    taker = await asyncpg.connect(pg_url)
    try:
        hold = blocker.transaction()
        await hold.start()
        await blocker.execute("LOCK TABLE intents IN EXCLUSIVE MODE")  # the INSERT must wait
        writing = asyncio.create_task(journal.begin_intent(intent(1), "repay"))
        await waiting(sql, "INSERT INTO intents")  # fence checked, lease row locked
        takeover = asyncio.create_task(
            taker.execute("UPDATE riskd_leases SET owner = 'n2', token = token + 1")
        )
        await waiting(sql, "UPDATE riskd_leases")
        assert not takeover.done() and not writing.done()
        await hold.rollback()
        await writing  # the intent committed under the token it showed
        await takeover
        assert await rows(sql, "SELECT fence FROM intents") == [(7,)]
        assert await rows(sql, "SELECT owner, token FROM riskd_leases") == [("n2", 8)]
        with pytest.raises(Fenced):
            await journal.begin_intent(intent(2), "repay")
    finally:
        await blocker.close()
        await taker.close()


async def waiting(con: asyncpg.Connection[asyncpg.Record], query_start: str) -> None:
    """Until a session whose query starts with ``query_start`` waits for a lock."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = await con.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND starts_with(query, $1)",
            query_start,
        )
        if found:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no session waiting on a lock with {query_start!r}")


async def test_sqlite_journal_refuses_a_fencer(tmp_path: Path) -> None:
    """Fencing needs PostgreSQL: setting a fencer on the SQLite journal is a clear error."""
    j = await open_journal(tmp_path / "j.sqlite3")
    try:
        with pytest.raises(ValueError, match="PostgreSQL"):
            j.fencer = fencer_of("n1", {})  # type: ignore[assignment]
        j.fencer = None
    finally:
        await j.close()


async def test_meta_is_per_node_in_a_shared_database(pg_url: str) -> None:
    """Two nodes' ``meta`` keys do not collide; rule state and pause control are shared."""
    a = await open_journal(pg_url, namespace="a")
    b = await open_journal(pg_url, namespace="b")
    try:
        await a.set_meta("running", True)
        assert await b.get_meta("running") is None
        await b.set_meta("running", {"pid": 2})
        assert await a.get_meta("running") is True
        assert await b.get_meta("running") == {"pid": 2}
        await a.save_rule_state("alice", '{"x": 1}', at=1.0)
        assert await b.load_rule_state("alice") == '{"x": 1}'
        await b.set_paused(None, True, at=2.0)
        assert (await a.pause_state()).global_paused
    finally:
        await a.close()
        await b.close()


async def test_open_intents_of_given_accounts(journal: Journal) -> None:
    """A node reconciles only the open intents of the accounts it owns."""
    await journal.begin_intent(intent(1, account="alice"), "repay")
    await journal.begin_intent(intent(2, account="bob"), "repay")
    assert [r.intent.account for r in await journal.open_intents(["bob"])] == ["bob"]
    assert await journal.open_intents([]) == []
    assert len(await journal.open_intents()) == 2


async def test_ties_in_time_come_in_insertion_order(journal: Journal) -> None:
    """Intents at the same instant are listed in the order they were written."""
    for n in (3, 1, 2):
        await journal.begin_intent(
            Intent(f"i{n}", 5.0, "alice", "cross", "repay", "r", f"a{n}"), "repay"
        )
    assert [r.intent.intent_id for r in await journal.intents()] == ["i3", "i1", "i2"]
    last = await journal.last_intent("alice", "cross")
    assert last is not None and last.intent.intent_id == "i2"


async def test_counts_and_kinds_of_events(journal: Journal) -> None:
    """count_events and event_kinds answer what `riskd journal` asks of the database."""
    for i in range(3):
        await journal.record("decision", f"d{i}", at=float(i))
    await journal.record("stale", "s", at=9.0)
    assert await journal.count_events(since=1.0) == 3
    assert await journal.count_events(kinds=["stale"]) == 1
    assert await journal.event_kinds() == {"decision", "stale"}


async def test_unreachable_url_names_the_database_never_the_password() -> None:
    """A URL to a port where nothing listens: JournalOpenError at once, one line naming
    host:port/dbname, without the user's password."""
    port = free_port()
    url = f"postgresql://riskd:pw-Never-Shown-81@127.0.0.1:{port}/riskd"
    with pytest.raises(JournalOpenError) as info:
        await open_journal(url)
    text = str(info.value)
    assert f"postgresql://127.0.0.1:{port}/riskd" in text and "refused" in text
    assert "pw-Never-Shown-81" not in text and "\n" not in text
    assert info.value.server and info.value.where == f"postgresql://127.0.0.1:{port}/riskd"


async def test_missing_database_is_named(postgres: Postgres) -> None:
    """A database that does not exist is an open error saying so."""
    with pytest.raises(JournalOpenError, match="does not exist"):
        await open_journal(postgres.url("no_such_db"))


async def test_secrets_never_written(journal: Journal, pg_url: str) -> None:
    """A registered secret that slips into any journal text is masked in the database."""
    from riskd.redact import register_secret

    register_secret("pg-journal-secret-XYZ")
    await journal.record("decision", "saw pg-journal-secret-XYZ", at=1.0, data={"k": "x"})
    await journal.save_rule_state("alice", '"pg-journal-secret-XYZ"', at=1.0)
    await journal.set_paused(None, True, at=1.0, reason="pg-journal-secret-XYZ")
    con = await asyncpg.connect(pg_url)
    try:
        dump = str(
            [await rows(con, f"SELECT * FROM {t}") for t in ("events", "rule_state", "control")]
        )
    finally:
        await con.close()
    assert "pg-journal-secret-XYZ" not in dump and "***" in dump


async def test_silent_server_at_open_times_out() -> None:
    """A port that accepts connections but never answers: an open error after the connect
    timeout ("no answer"), not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(JournalOpenError, match=r"no answer in 0\.3 s") as info:
            await Journal.open_target(f"postgresql://u:pw-x-123@127.0.0.1:{port}/d", wait_s=0.3)
    assert "pw-x-123" not in str(info.value)


async def test_cancelled_write_leaves_nothing_and_the_journal_goes_on(
    journal: Journal, sql: asyncpg.Connection[asyncpg.Record], pg_url: str
) -> None:
    """A write group cancelled mid-statement (shutdown) writes nothing; the next one works."""
    blocker = await asyncpg.connect(pg_url)
    try:
        hold = blocker.transaction()
        await hold.start()
        await blocker.execute("LOCK TABLE intents IN EXCLUSIVE MODE")
        writing = asyncio.create_task(journal.begin_intent(intent(1), "repay"))
        await waiting(sql, "INSERT INTO intents")
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        await hold.rollback()
    finally:
        await blocker.close()
    await journal.rollback()
    await journal.begin_intent(intent(2), "repay")
    assert await rows(sql, "SELECT intent_id FROM intents") == [("i2",)]
    assert await rows(sql, "SELECT intent_id FROM events") == [("i2",)]
