"""PostgreSQL lost under a running journal (stopped, or frozen), and the CLI on a PG journal:
nothing is written while it is away, errors name the database and never the password, and
the journal carries on by itself once the server is back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from riskd.cli.common import with_journal
from riskd.daemon.journal import Intent, Journal, JournalUnavailable, open_journal
from riskd.preflight import EX_CONFIG, EX_UNAVAILABLE, StartupError
from tests.realservers import Postgres, free_port, start_postgres

PASSWORD = "pw-Outage-Secret-5"


def intent(n: int) -> Intent:
    return Intent(f"i{n}", float(n), "alice", "cross", "repay", "r", f"a{n}", amount=Decimal(1))


def server_processes(pg: Postgres) -> list[int]:
    """The postmaster and its children (each backend is a process group of its own)."""
    pids = [pg.proc.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pg.proc.pid:
            pids.append(int(stat.parent.name))
    return pids


def signal_server(pg: Postgres, sig: signal.Signals) -> None:
    for pid in server_processes(pg):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_fast(pg: Postgres) -> None:
    """Stop the server as an operator or a crash would: sessions are cut (fast shutdown)."""
    pg.proc.send_signal(signal.SIGINT)
    pg.proc.wait(10)


def start_again(pg: Postgres) -> None:
    """Start the server again and wait until it takes queries (not only connections)."""
    pg.start_again()
    deadline = time.monotonic() + 30
    while True:
        try:
            pg.psql("SELECT 1")
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A PostgreSQL of this test's own (it is stopped and started again)."""
    base = Path(tempfile.mkdtemp(prefix="riskd-pg-own-"))
    pg = start_postgres(base)
    try:
        yield pg
    finally:
        if pg.proc.poll() is None:
            signal_server(pg, signal.SIGCONT)  # a failed test may leave it frozen
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def with_password(pg: Postgres) -> str:
    return f"postgresql://riskd:{PASSWORD}@127.0.0.1:{pg.port}/postgres"


async def test_stopped_server_is_unavailable_then_back(own_postgres: Postgres) -> None:
    """With PostgreSQL stopped, writes and reads raise JournalUnavailable naming the
    database (no password) and write nothing; after its restart the journal reconnects by
    itself and the intents written before and after are there, the refused one is not."""
    pg = own_postgres
    journal = await open_journal(with_password(pg))
    try:
        await journal.begin_intent(intent(1), "repay")
        await asyncio.to_thread(stop_fast, pg)
        with pytest.raises(JournalUnavailable) as info:
            await journal.begin_intent(intent(2), "repay")
        assert info.value.where == f"postgresql://127.0.0.1:{pg.port}/postgres"
        assert PASSWORD not in str(info.value) and "riskd:" not in str(info.value)
        with pytest.raises(JournalUnavailable):
            await journal.open_intents()
        with pytest.raises(JournalUnavailable):
            await journal.record("decision", "d", at=3.0)
        await asyncio.to_thread(start_again, pg)
        await journal.begin_intent(intent(3), "repay")
        assert [r.intent.intent_id for r in await journal.open_intents()] == ["i1", "i3"]
    finally:
        await journal.close()


async def test_frozen_server_times_out_then_recovers(own_postgres: Postgres) -> None:
    """A server that stops answering (SIGSTOP) makes a call fail after the journal's
    timeout instead of hanging the cycle; once it answers again, so does the journal."""
    pg = own_postgres
    journal = await Journal.open_target(pg.url("postgres"), wait_s=0.3)
    try:
        await journal.begin_intent(intent(1), "repay")
        signal_server(pg, signal.SIGSTOP)
        try:
            with pytest.raises(JournalUnavailable, match="no answer"):
                await journal.begin_intent(intent(2), "repay")
        finally:
            signal_server(pg, signal.SIGCONT)
        await journal.begin_intent(intent(3), "repay")
        assert [r.intent.intent_id for r in await journal.intents()] == ["i1", "i3"]
    finally:
        await journal.close()


def test_cli_reads_a_postgresql_journal(pg_url: str) -> None:
    """`riskd journal`/`status` open the PostgreSQL journal through with_journal."""

    async def seed() -> None:
        j = await open_journal(pg_url)
        await j.record("decision", "seen", at=1.0)
        await j.close()

    asyncio.run(seed())

    async def work(j: Journal) -> list[str]:
        return [e.summary for e in await j.events()]

    assert with_journal(pg_url, work, write=False) == ["seen"]


def test_cli_unreachable_journal_is_one_line_without_password() -> None:
    """An unreachable PostgreSQL journal: a StartupError (exit 69) naming host:port/db."""
    port = free_port()

    async def work(j: Journal) -> None:
        raise AssertionError("never opened")

    with pytest.raises(StartupError) as info:
        with_journal(f"postgresql://u:{PASSWORD}@127.0.0.1:{port}/riskd", work, write=False)
    line = info.value.line()
    assert info.value.exit_code == EX_UNAVAILABLE and f"127.0.0.1:{port}/riskd" in line
    assert PASSWORD not in line and "\n" not in line


def test_cli_missing_database_is_a_configuration_error(postgres: Postgres) -> None:
    """A database that does not exist is exit 78, naming it."""

    async def work(j: Journal) -> None:
        raise AssertionError("never opened")

    with pytest.raises(StartupError) as info:
        with_journal(postgres.url("nowhere_db"), work, write=False)
    assert info.value.exit_code == EX_CONFIG and "nowhere_db" in info.value.line()
