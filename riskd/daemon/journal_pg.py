"""The journal on PostgreSQL (asyncpg): the database several riskd nodes share.

Same tables and statements as the SQLite journal (:mod:`riskd.daemon.journal_schema`), with
PostgreSQL's types (``BIGINT`` identity for ``seq``, ``DOUBLE PRECISION`` for times,
``BIGINT`` for integers, the same ``TEXT`` columns). ``?`` placeholders are turned into
``$n`` once per statement. Intents also record the ``node`` that wrote them and the
``fence`` (lease token) it showed; the cluster tables (:data:`~riskd.cluster.fence.
CLUSTER_SCHEMA`) are created with the journal's, so the fence check always has its table.

Faults: a URL that cannot be used at open is a :class:`JournalOpenError` naming
``postgresql://host:port/dbname`` (never the user or password; a password is registered with
:func:`riskd.redact.register_secret`). At run time, every connection error or timeout
(:data:`UNAVAILABLE`) in a write group or a read is a :class:`JournalUnavailable`: nothing
of that group was written. Every call has a timeout (:data:`TIMEOUT_S`); the pool connects
again by itself on the next call once the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias
from urllib.parse import parse_qsl, unquote, urlsplit

import asyncpg
from asyncpg import exceptions as pgerr
from asyncpg.pool import PoolConnectionProxy

from riskd.cluster.fence import CLUSTER_SCHEMA, FENCE_CHECK_SQL, Fence
from riskd.daemon.journal_backend import Row, Tx, is_pg_url
from riskd.daemon.journal_space import Listener, SpaceGuard
from riskd.daemon.journal_types import JournalOpenError, JournalUnavailable
from riskd.redact import redact, register_secret

log = logging.getLogger(__name__)

#: Connect, acquire and statement timeout (seconds): a dead server never hangs a cycle.
TIMEOUT_S: Final = 5.0
#: Connections per node: a write group holds one, reads take the others.
POOL_SIZE: Final = 4

#: Errors meaning "the database cannot be reached now" (not "the statement is wrong").
UNAVAILABLE: Final[tuple[type[Exception], ...]] = (
    pgerr.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError
    pgerr.InterfaceError,  # connection closed, pool closing
    pgerr.InternalClientError,  # a connection left in a broken state by a lost server
    pgerr.OperatorInterventionError,  # 57: admin/crash shutdown, cannot connect now
    pgerr.InsufficientResourcesError,  # 53: disk full, out of memory, too many connections
    OSError,
    TimeoutError,
)

_PG_ERRORS: Final[tuple[type[Exception], ...]] = (pgerr.PostgresError, *UNAVAILABLE)
_OPEN_ERRORS: Final[tuple[type[Exception], ...]] = (ValueError, *_PG_ERRORS)

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    account TEXT, scope TEXT, rule TEXT, intent_id TEXT,
    summary TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE TABLE IF NOT EXISTS intents (
    intent_id TEXT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    account TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL,
    rule TEXT NOT NULL, action_id TEXT NOT NULL,
    params TEXT NOT NULL,
    coin TEXT, amount TEXT, value_usdt TEXT,
    dry_run BIGINT NOT NULL,
    status TEXT NOT NULL,
    ref TEXT,
    outcome TEXT,
    finished_at DOUBLE PRECISION,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    node TEXT,
    fence BIGINT
);
CREATE INDEX IF NOT EXISTS intents_status ON intents(status);
CREATE INDEX IF NOT EXISTS intents_action ON intents(account, action_id);
CREATE TABLE IF NOT EXISTS rule_state (account TEXT PRIMARY KEY, at DOUBLE PRECISION,
                                       state TEXT);
CREATE TABLE IF NOT EXISTS control (account TEXT PRIMARY KEY, paused BIGINT,
                                    at DOUBLE PRECISION, reason TEXT);
CREATE TABLE IF NOT EXISTS status (account TEXT, scope TEXT, at DOUBLE PRECISION, data TEXT,
                                   PRIMARY KEY (account, scope));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at DOUBLE PRECISION NOT NULL,
    ends_at DOUBLE PRECISION NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    expired_at DOUBLE PRECISION
);
"""

#: Serialises the schema's creation between nodes starting together (an advisory lock key).
_SCHEMA_LOCK = 0x7269736B64


@dataclass(frozen=True, slots=True)
class PgTarget:
    """A PostgreSQL URL (``dsn``, secret) and how it is shown (``where``: no credentials)."""

    dsn: str
    where: str


def pg_target(url: str) -> PgTarget:
    """Parse ``url``, register its password as a secret and name it without credentials:
    ``postgresql://host:port/dbname``."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        register_secret(password)
        register_secret(unquote(password))
    for key, value in parse_qsl(parts.query):
        if key in ("password", "sslpassword"):
            register_secret(value)
    if hosts and "," not in hosts and not hosts.endswith("]") and ":" not in hosts:
        hosts += ":5432"
    return PgTarget(url, f"postgresql://{hosts or 'localhost:5432'}{parts.path}")


def describe(exc: BaseException, timeout: float = TIMEOUT_S) -> str:
    """One line saying why the database could not be used (no password: redacted)."""
    if isinstance(exc, TimeoutError):
        return f"no answer in {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "cannot connect: connection refused (is PostgreSQL running there?)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect: {exc.strerror}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)


def to_dollar(sql: str) -> str:
    """``sql`` with its ``?`` placeholders (outside quotes) numbered ``$1``, ``$2``…"""
    out: list[str] = []
    n = 0
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
    return "".join(out)


class _NoReserve(SpaceGuard):
    """No reserve file: the server's disk is its own (full, it makes the journal
    unavailable: nothing is written, no action is sent)."""

    def __init__(self, where: str) -> None:
        super().__init__(Path(where), reserve_bytes=0)

    def configure(self, reserve_bytes: int, listener: Listener | None) -> None:
        self.listener = listener


#: A pooled connection (the alias is for the type checker only: not subscriptable at run time).
Conn: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"


class _PgTx:
    def __init__(self, con: Conn, backend: PgBackend) -> None:
        self._con = con
        self._b = backend

    async def execute(self, sql: str, args: Sequence[object] = ()) -> None:
        with self._b.unavailable():
            await self._con.execute(self._b.sql(sql), *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        with self._b.unavailable():
            await self._con.executemany(self._b.sql(sql), list(rows))

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        with self._b.unavailable():
            row = await self._con.fetchrow(self._b.sql(sql), *args)
        return None if row is None else tuple(row)

    async def fenced(self, fence: Fence) -> bool:
        with self._b.unavailable():
            row = await self._con.fetchrow(FENCE_CHECK_SQL, fence.account, fence.node, fence.token)
        return row is not None


async def _keep_session(con: object) -> None:
    """Pool reset: nothing beyond asyncpg's rollback of an open transaction (the default
    reset query would cost a round trip per call)."""


class PgBackend:
    """The journal in a PostgreSQL database, through a small asyncpg pool."""

    fencing = True
    insert_order = "seq"

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], target: PgTarget, timeout: float):
        self._pool = pool
        self.where = target.where
        self.path = Path(target.where)
        self.timeout = timeout
        self.space: SpaceGuard = _NoReserve(target.where)
        self._sql: dict[str, str] = {}

    @classmethod
    async def open(
        cls, url: str, *, wait_s: float = TIMEOUT_S, pool_size: int = POOL_SIZE
    ) -> PgBackend:
        """Connect to ``url`` and create the tables (journal and cluster) if missing;
        :class:`JournalOpenError` naming the database if it cannot be used."""
        target = pg_target(url)
        timeout = wait_s
        try:
            async with asyncio.timeout(2 * timeout):
                pool = await asyncpg.create_pool(
                    target.dsn,
                    # No floor: asyncpg would keep reconnecting in the background (and
                    # log each failure) while the server is down. The schema's transaction
                    # below is the first connection, so a bad URL still fails here.
                    min_size=0,
                    max_size=pool_size,
                    timeout=timeout,
                    command_timeout=timeout,
                    reset=_keep_session,
                )
        except _OPEN_ERRORS as exc:
            raise JournalOpenError(target.where, exc, problem=describe(exc, timeout)) from None
        try:
            async with asyncio.timeout(2 * timeout), pool.acquire() as con, con.transaction():
                await con.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                await con.execute(PG_SCHEMA)
                await con.execute(CLUSTER_SCHEMA)
        except _PG_ERRORS as exc:
            pool.terminate()
            raise JournalOpenError(target.where, exc, problem=describe(exc, timeout)) from None
        return cls(pool, target, timeout)

    def sql(self, sql: str) -> str:
        """``sql`` in PostgreSQL's placeholders (translated once, then cached)."""
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = to_dollar(sql)
        return found

    @contextlib.contextmanager
    def unavailable(self) -> Iterator[None]:
        """Connection errors and timeouts as :class:`JournalUnavailable`."""
        try:
            yield
        except UNAVAILABLE as exc:
            raise JournalUnavailable(self.where, describe(exc, self.timeout)) from exc

    async def _acquire(self) -> Conn:
        with self.unavailable():
            return await self._pool.acquire(timeout=self.timeout)

    async def _release(self, con: Conn) -> None:
        try:
            await self._pool.release(con, timeout=self.timeout)
        except _PG_ERRORS as exc:  # the pool dropped it
            log.warning("journal %s: connection dropped (%s)", self.where, describe(exc))

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        con = await self._acquire()
        done = False
        failure: Exception | None = None
        try:
            with self.unavailable():
                await con.execute("BEGIN")
            yield _PgTx(con, self)
            with self.unavailable():
                await con.execute("COMMIT")
            done = True
        except Exception as exc:
            failure = exc
            raise
        finally:
            if not done:
                await self._abort(con, failure)
            await self._release(con)

    async def _abort(self, con: Conn, failure: Exception | None) -> None:
        """Roll the group back; a connection that failed is dropped instead (the server
        rolls back what it had), so a dead server costs no second timeout."""
        if con.is_closed():
            return
        if isinstance(failure, JournalUnavailable):
            con.terminate()
            return
        try:
            async with asyncio.timeout(self.timeout):
                await con.execute("ROLLBACK")
        except _PG_ERRORS:
            con.terminate()

    async def fetchall(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        with self.unavailable():
            async with self._pool.acquire(timeout=self.timeout) as con:
                rows = await con.fetch(self.sql(sql), *args)
        return [tuple(r) for r in rows]

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        with self.unavailable():
            async with self._pool.acquire(timeout=self.timeout) as con:
                row = await con.fetchrow(self.sql(sql), *args)
        return None if row is None else tuple(row)

    def disk_full(self, exc: BaseException) -> bool:
        return False  # a full server disk is "unavailable": see UNAVAILABLE

    async def rollback(self) -> None:
        """Nothing to do: a write group cut short rolled back (or dropped) its connection."""

    async def close(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self._pool.close()
        except _PG_ERRORS:
            self._pool.terminate()


__all__ = [
    "PG_SCHEMA",
    "TIMEOUT_S",
    "UNAVAILABLE",
    "PgBackend",
    "PgTarget",
    "describe",
    "is_pg_url",
    "pg_target",
    "to_dollar",
]
