"""The seam between :class:`~riskd.daemon.journal.Journal` and its database.

The journal speaks one SQL (``?`` placeholders, ``INSERT … ON CONFLICT … DO UPDATE``) to a
:class:`Backend`: SQLite here (:class:`SqliteBackend`, the default, one machine) or
PostgreSQL (:class:`riskd.daemon.journal_pg.PgBackend`, shared by several nodes).

A *write group* (:meth:`Backend.write`) is one transaction: its statements run through the
:class:`Tx` it yields and are committed together when the block ends, or rolled back when it
raises. Reads outside a group go through :meth:`Backend.fetchall` / :meth:`Backend.fetchone`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import aiosqlite

from riskd.cluster.fence import Fence
from riskd.daemon.journal_schema import SCHEMA, probe
from riskd.daemon.journal_space import SpaceGuard, is_disk_full
from riskd.daemon.journal_types import JournalOpenError

Row = tuple[Any, ...]

#: A journal target starting with one of these is a PostgreSQL URL.
URL_SCHEMES: Final = ("postgresql://", "postgres://")


def is_pg_url(target: object) -> bool:
    """Whether ``target`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


class Tx(Protocol):
    """The statements of one write group (one transaction)."""

    async def execute(self, sql: str, args: Sequence[object] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Row | None: ...

    async def fenced(self, fence: Fence) -> bool:
        """Whether ``fence`` still holds (its lease row is then locked until the group
        ends). Only backends with :attr:`Backend.fencing` implement it."""
        ...


class Backend(Protocol):
    """A journal database."""

    #: The database as shown in messages: a file path, or a URL without user or password.
    where: str
    #: A path for :attr:`Journal.path` (the file; for a server, ``where`` as a path).
    path: Path
    #: Whether :meth:`Tx.fenced` works (and intents record ``node`` and ``fence``).
    fencing: bool
    #: The column breaking ties of ``at`` in insertion order (``rowid``, ``seq``).
    insert_order: str
    #: The reserve and full/normal mode of the disk under the journal.
    space: SpaceGuard

    def write(self) -> contextlib.AbstractAsyncContextManager[Tx]: ...

    async def fetchall(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Row | None: ...

    def disk_full(self, exc: BaseException) -> bool:
        """Whether ``exc`` (raised by a write group) says the disk is full."""
        ...

    async def rollback(self) -> None:
        """Drop a write group that a cancellation cut short."""
        ...

    async def close(self) -> None: ...


class _SqliteTx:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, args: Sequence[object] = ()) -> None:
        await self._db.execute(sql, tuple(args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._db.executemany(sql, [tuple(r) for r in rows])

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        async with self._db.execute(sql, tuple(args)) as cur:
            row = await cur.fetchone()
        return None if row is None else tuple(row)

    async def fenced(self, fence: Fence) -> bool:
        raise ValueError("fencing needs the PostgreSQL journal (journal_url)")


class SqliteBackend:
    """The journal in one SQLite file (WAL, synchronous=FULL)."""

    fencing = False
    insert_order = "rowid"

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self.where = str(path)
        self.space = SpaceGuard(path)

    @classmethod
    async def open(cls, path: Path) -> SqliteBackend:
        """Open (or create) the journal file; :class:`JournalOpenError` if it cannot be used.
        A failed open leaves no connection (nor its worker thread) behind."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Probed with plain sqlite3 first: when aiosqlite's own connect fails, its worker
            # thread ends on its own later and may find the event loop already closed.
            probe(path)  # quick and once, at start: run in the loop
            db = await aiosqlite.connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise JournalOpenError(path, exc) from exc
        opened = False
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA busy_timeout=5000")
            await db.executescript(SCHEMA)
            await db.commit()
            opened = True
        except (OSError, sqlite3.Error) as exc:
            raise JournalOpenError(path, exc) from exc
        finally:
            if not opened:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await db.close()
        return cls(db, path)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        done = False
        try:
            yield _SqliteTx(self._db)
            await self._db.commit()
            done = True
        finally:
            if not done:
                # Never leave half a group for the next commit to save.
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await self._db.rollback()

    async def fetchall(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        async with self._db.execute(sql, tuple(args)) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        async with self._db.execute(sql, tuple(args)) as cur:
            row = await cur.fetchone()
        return None if row is None else tuple(row)

    def disk_full(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error | OSError) and is_disk_full(exc)

    async def rollback(self) -> None:
        await self._db.rollback()

    async def close(self) -> None:
        await self._db.close()


__all__ = ["URL_SCHEMES", "Backend", "Row", "SqliteBackend", "Tx", "is_pg_url"]
