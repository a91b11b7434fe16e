"""Silences kept in the journal database (table ``silences``), for ``riskd silence``, the
Telegram bot and the notifier.

The store works on the journal's own backend (:mod:`riskd.daemon.journal_backend`): the
SQLite file of one machine, or the PostgreSQL database several nodes share (``journal_url``),
where a silence added on any node (or from any machine that reaches the database) silences
that alert on every node, wherever its account is owned. It opens its own connection (the
SQLite journal is in WAL mode, so this one and the daemon's coexist; on PostgreSQL a pool of
at most two), and the journal's schema includes the table.

Faults: a target that cannot be opened is a :class:`~riskd.daemon.journal_types.
JournalOpenError` naming it (never a password); on PostgreSQL a lost server during a call is
a :class:`~riskd.daemon.journal_types.JournalUnavailable` (the notifier keeps the silences it
had and reloads them later).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from riskd.daemon.journal_backend import Backend, SqliteBackend, is_pg_url
from riskd.notify.matchers import Matcher, parse_matchers
from riskd.notify.silences import Silence

#: Connections of a silence store's PostgreSQL pool (it reads every few seconds at most).
PG_POOL_SIZE = 2


class SilenceNotFound(KeyError):
    """No silence has this id (or the prefix is ambiguous)."""


class SilenceStore:
    """Add, list and expire silences; :meth:`active` is what the notifier loads."""

    def __init__(self, db: Backend) -> None:
        self._db = db

    @property
    def where(self) -> str:
        """The database, as messages show it (a file, or a URL without user or password)."""
        return self._db.where

    @classmethod
    async def open(cls, target: Path | str, *, wait_s: float | None = None) -> SilenceStore:
        """The silences of the journal ``target``: a ``postgresql://`` URL (connect and
        statement timeout ``wait_s``, default 5 s) or an SQLite file."""
        if is_pg_url(target):
            from riskd.daemon.journal_pg import TIMEOUT_S, PgBackend

            return cls(
                await PgBackend.open(
                    str(target), wait_s=wait_s or TIMEOUT_S, pool_size=PG_POOL_SIZE
                )
            )
        return cls(await SqliteBackend.open(Path(target)))

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
        async with self._db.write() as tx:
            await tx.execute(
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
        return silence

    async def all(self) -> list[Silence]:
        """Every silence, newest first."""
        rows = await self._db.fetchall(
            "SELECT id, matchers, starts_at, ends_at, comment, created_by, expired_at"
            " FROM silences ORDER BY created_at DESC, id"
        )
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
        async with self._db.write() as tx:
            await tx.execute(
                "UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL",
                (now, silence.id),
            )
        return Silence(
            silence.id,
            silence.matchers,
            silence.starts_at,
            silence.ends_at,
            silence.comment,
            silence.created_by,
            silence.expired_at if silence.expired_at is not None else now,
        )
