"""Journal throughput: intents per second on SQLite against PostgreSQL (issue 19).

One intent = what an action costs the journal: ``begin_intent`` (the intent and its event,
one transaction; with fencing, the lease check in that same transaction), ``mark_accepted``
and ``finish_intent`` (one transaction each), one after the other as one action does them.
Measured in the same run, each for ``--seconds`` seconds, on:

- **SQLite** (the baseline): a journal file in a temporary directory (WAL, synchronous=FULL);
- **PostgreSQL**, its own server on a loopback port (started here with the logic of
  tests/realservers.py, but with ``fsync`` and ``synchronous_commit`` ON, as in production),
  without fencing, and with fencing (the account's lease row checked ``FOR UPDATE``).

Prints intents/s and each one's ratio to SQLite's. The server's data directory is on the
same file system as the SQLite file (the temporary directory).

    .venv/bin/python bench/journal_throughput.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402

from riskd.cluster.fence import Fence  # noqa: E402
from riskd.daemon.journal import SUCCEEDED, Intent, Journal, open_journal  # noqa: E402
from tests.realservers import (  # noqa: E402
    Postgres,
    _as_user,
    _wait_port,
    start_postgres,
)


def spawn_durable(pg: Postgres) -> None:
    """Restart ``pg`` with fsync and synchronous commits on (the tests' server has them off)."""
    pg.stop()
    with open(pg.datadir / "server.log", "ab") as log:
        pg.proc = subprocess.Popen(
            [
                str(pg.bindir / "postgres"),
                "-D",
                str(pg.datadir),
                "-p",
                str(pg.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(pg.datadir),
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **_as_user(pg.user),  # type: ignore[arg-type]
        )
    _wait_port(pg.port, pg.proc, "postgres", pg.datadir / "server.log")
    deadline = time.monotonic() + 30
    while True:
        try:
            pg.psql("SELECT 1")
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def measure(journal: Journal, seconds: float, tag: str) -> float:
    """Intents (begin + accepted + finished) per second over ``seconds``."""
    n = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        n += 1
        intent_id = f"{tag}-{n}"
        intent = Intent(
            intent_id=intent_id,
            at=float(n),
            account="alice",
            scope="cross",
            kind="repay",
            rule="repay-at-margin-call",
            action_id=f"a{n}",
            params={"coin": "USDT", "amount": "10"},
            coin="USDT",
            amount=Decimal(10),
            value_usdt=Decimal(10),
        )
        await journal.begin_intent(intent, "repay 10 USDT")
        await journal.mark_accepted(intent_id, f"ref-{n}", at=n + 0.1, summary="accepted")
        await journal.finish_intent(intent_id, SUCCEEDED, at=n + 0.2, summary="done")
    return n / (time.perf_counter() - start)


async def main(seconds: float) -> None:
    base = Path(tempfile.mkdtemp(prefix="riskd-bench-journal-"))
    pg = start_postgres(base)
    try:
        spawn_durable(pg)
        url = pg.new_database()
        sqlite = await open_journal(base / "journal.sqlite3")
        try:
            sqlite_rate = await measure(sqlite, seconds, "s")
        finally:
            await sqlite.close()
        journal = await open_journal(url, namespace="bench")
        try:
            pg_rate = await measure(journal, seconds, "p")
            con = await asyncpg.connect(url)
            await con.execute(
                "INSERT INTO riskd_leases (account, owner, token, acquired_at, renewed_at,"
                " expires_at) VALUES ('alice', 'bench', 1, now(), now(), now() + interval '1 h')"
            )
            await con.close()
            journal.fencer = lambda account: Fence(account, "bench", 1)
            fenced_rate = await measure(journal, seconds, "f")
        finally:
            await journal.close()
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"journal throughput, intents/s (begin + accepted + finished), {seconds:g} s each")
    print(f"  SQLite (baseline, WAL, synchronous=FULL): {sqlite_rate:8.0f} intents/s")
    print(
        f"  PostgreSQL (fsync on, loopback):          {pg_rate:8.0f} intents/s"
        f"  ratio {pg_rate / sqlite_rate:.2f}"
    )
    print(
        f"  PostgreSQL with fencing:                  {fenced_rate:8.0f} intents/s"
        f"  ratio {fenced_rate / sqlite_rate:.2f} (fencing costs"
        f" {100 * (1 - fenced_rate / pg_rate):.0f} % of unfenced)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    asyncio.run(main(args.seconds))
