"""Silences kept in the journal database (table ``silences``), for ``riskd silence`` and the
notifier. Opens the journal file with its own aiosqlite connection (the journal is in WAL
mode, so this connection and the daemon's coexist); creates its table when missing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import aiosqlite

from riskd.notify.matchers import Matcher, parse_matchers
from riskd.notify.silences import Silence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expired_at REAL
)
"""
#: Milliseconds a statement waits for the daemon's write lock.
BUSY_TIMEOUT_MS = 5000


class SilenceNotFound(KeyError):
    """No silence has this id (or the prefix is ambiguous)."""


async def connect(path: Path, *schema: str) -> aiosqlite.Connection:
    """A connection to the journal file with a busy timeout, its ``schema`` statements run
    and committed (shared with the outbox store); closed again if any of that fails."""
    db = await aiosqlite.connect(path)
    try:
        await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # WAL + NORMAL: a commit survives the process being killed (kill -9), without an
        # fsync per alert; only a power loss can take the last commits.
        await db.execute("PRAGMA synchronous=NORMAL")
        for statement in schema:
            await db.execute(statement)
        if schema:
            await db.commit()
    except BaseException:
        await db.close()
        raise
    return db


class SilenceStore:
    """Add, list and expire silences; :meth:`active` is what the notifier loads."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> SilenceStore:
        return cls(await connect(path, _SCHEMA))

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> SilenceStore:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def add(
        self,
        matchers: Sequence[Matcher],
        *,
        starts_at: float,
        ends_at: float,
        comment: str = "",
        created_by: str = "",
    ) -> Silence:
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        silence = Silence(
            uuid.uuid4().hex[:12], tuple(matchers), starts_at, ends_at, comment, created_by
        )
        await self._db.execute(
            "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                silence.id,
                json.dumps([str(m) for m in matchers]),
                starts_at,
                ends_at,
                comment,
                created_by,
                starts_at,
            ),
        )
        await self._db.commit()
        return silence

    async def all(self) -> list[Silence]:
        """Every silence, newest first."""
        async with self._db.execute(
            "SELECT id, matchers, starts_at, ends_at, comment, created_by, expired_at"
            " FROM silences ORDER BY created_at DESC, id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Silence(
                str(r[0]),
                parse_matchers(json.loads(str(r[1]))),
                float(r[2]),
                float(r[3]),
                str(r[4]),
                str(r[5]),
                None if r[6] is None else float(r[6]),
            )
            for r in rows
        ]

    async def active(self, now: float) -> list[Silence]:
        return [s for s in await self.all() if s.active(now)]

    async def expire(self, silence_id: str, now: float) -> Silence:
        """End a silence now; ``silence_id`` may be a unique prefix."""
        matches = [s for s in await self.all() if s.id.startswith(silence_id)]
        if len(matches) != 1 or not silence_id:
            raise SilenceNotFound(silence_id)
        silence = matches[0]
        await self._db.execute(
            "UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL",
            (now, silence.id),
        )
        await self._db.commit()
        return Silence(
            silence.id,
            silence.matchers,
            silence.starts_at,
            silence.ends_at,
            silence.comment,
            silence.created_by,
            silence.expired_at if silence.expired_at is not None else now,
        )
