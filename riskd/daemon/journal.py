"""The journal: a durable record of everything the daemon decided and did, in an SQLite
file (WAL; the default, one machine) or a PostgreSQL database several nodes share
(:mod:`riskd.daemon.journal_pg`). Both speak the same SQL through
:mod:`riskd.daemon.journal_backend`.

Tables:

- ``events``: the history ``riskd journal`` shows — decisions, intents, accepted calls,
  outcomes, blocked actions, notifications, stale data, reconciliation, life signs.
- ``intents``: one row per protective action, written *before* its call (``pending``),
  updated to ``accepted`` with the exchange's id as soon as the call returns, and to a final
  status after. Rows left ``pending``/``accepted`` by a crash are reconciled at start.
- ``rule_state``: the rules engine's state per account (JSON), so firing rules survive restarts.
- ``control``: pause state (``*`` = every account), written by ``riskd pause``/``resume``.
- ``status`` and ``meta``: the per-scope status rows and daemon facts ``riskd status`` reads
  (``meta`` keys are per node when the journal has a :attr:`Journal.namespace`).

The tables' layout and the intent row mapping are in :mod:`riskd.daemon.journal_schema`.

**Fencing** (PostgreSQL, cluster mode): with :attr:`Journal.fencer` set, an intent is written
only in a transaction that first checks the node's lease on the intent's account
(:data:`~riskd.cluster.fence.FENCE_CHECK_SQL`); otherwise nothing is written and
:class:`~riskd.daemon.journal_types.Fenced` is raised: the action must not be sent.

Every text written passes through :func:`riskd.redact.redact`; nothing secret is ever given
to the journal in the first place.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskd.cluster.fence import Fence
from riskd.daemon.events import EventKind
from riskd.daemon.journal_backend import Backend, SqliteBackend, Tx, is_pg_url
from riskd.daemon.journal_schema import (
    INTENT_COLUMNS,
    events_filter,
    insert_event,
    insert_intent_event,
    intent_insert,
    intent_record,
)
from riskd.daemon.journal_space import JournalFull
from riskd.daemon.journal_types import (
    ACCEPTED,
    ALL_ACCOUNTS,
    DRY_RUN,
    ESSENTIAL_EVENTS,
    FAILED,
    NOT_EXECUTED,
    OPEN_STATUSES,
    PENDING,
    SPENDING_STATUSES,
    SUCCEEDED,
    UNKNOWN,
    Event,
    Fenced,
    Intent,
    IntentRecord,
    IntentStatus,
    JournalOpenError,
    JournalUnavailable,
    PauseState,
    dumps,
)
from riskd.redact import redact

log = logging.getLogger(__name__)

#: Gives the fence this node shows for an account (``None``: it holds no lease on it).
Fencer = Callable[[str], Fence | None]
Body = Callable[[Tx], Awaitable[None]]


class Journal:
    """Async access to the journal database. Open with :meth:`open` (SQLite file) or
    :func:`open_journal` (file or PostgreSQL URL), close with :meth:`close`."""

    def __init__(self, db: Backend, *, namespace: str | None = None) -> None:
        self._db = db
        #: The file (for PostgreSQL: :attr:`where` as a path; show :attr:`where` instead).
        self.path = db.path
        #: The database as shown in messages: the path, or the URL without credentials.
        self.where = db.where
        #: Node id: ``meta`` keys are this node's own (``node:<id>:key``) in a shared database.
        self.namespace = namespace
        self._fencer: Fencer | None = None
        #: One write group (statements + commit) at a time: concurrent actions of different
        #: scopes never commit each other's half-written rows.
        self._write = asyncio.Lock()
        #: The reserve and full/normal mode (see :mod:`riskd.daemon.journal_space`).
        self.space = db.space

    @classmethod
    async def open(cls, path: Path, *, namespace: str | None = None) -> Journal:
        """Open (or create) the SQLite journal at ``path``; :class:`JournalOpenError` if it
        cannot be used. A failed open leaves no connection (nor its worker thread) behind."""
        return cls(await SqliteBackend.open(path), namespace=namespace)

    @classmethod
    async def open_target(
        cls, target: Path | str, *, namespace: str | None = None, wait_s: float | None = None
    ) -> Journal:
        """Open the journal ``target``: a ``postgresql://`` (or ``postgres://``) URL opens
        PostgreSQL (connect and statement timeout ``wait_s``, default 5 s), anything else is
        an SQLite file. :class:`JournalOpenError` naming the database (never a password)."""
        from riskd.daemon.journal_pg import TIMEOUT_S, PgBackend

        if is_pg_url(target):
            backend = await PgBackend.open(str(target), wait_s=wait_s or TIMEOUT_S)
            return cls(backend, namespace=namespace)
        return await cls.open(Path(target), namespace=namespace)

    @property
    def fencer(self) -> Fencer | None:
        """Gives the fence of an account (set in cluster mode; ``None``: no fencing). Only
        the PostgreSQL journal can fence: setting one on SQLite is a :class:`ValueError`."""
        return self._fencer

    @fencer.setter
    def fencer(self, fencer: Fencer | None) -> None:
        if fencer is not None and not self._db.fencing:
            raise ValueError(
                f"journal {self.where}: fencing (cluster mode) needs the PostgreSQL journal;"
                ' set journal_url = "postgresql://…"'
            )
        self._fencer = fencer

    async def close(self) -> None:
        """Close the connection and stop its worker thread (idempotent)."""
        await self._db.close()

    async def rollback(self) -> None:
        """Drop a write group that a cancellation cut short (its statements ran, its commit
        never came), so that a later commit cannot save half of it. Shutdown calls this
        after cancelling the cycle in flight."""
        async with self._write:
            await self._db.rollback()

    async def _group(self, body: Body, what: str, *, essential: bool) -> bool:
        """Run ``body``'s statements and commit them as one write group. Returns ``False``
        when the disk is full and the group was skipped (not essential) or could not be
        written even in the room the reserve freed; raises for every other error
        (:class:`JournalUnavailable` when PostgreSQL cannot be reached)."""
        async with self._write:
            if self.space.full and not essential:
                self.space.skipped += 1
                return False
            for attempt in (1, 2):
                try:
                    async with self._db.write() as tx:
                        await body(tx)
                    return True
                except Exception as exc:
                    if not self._db.disk_full(exc):
                        raise
                    freed = self.space.on_full(exc)
                    if attempt == 2 or not freed or not essential:
                        log.critical("journal %s: disk full, %s not written", self.where, what)
                        if not essential:
                            self.space.skipped += 1
                        return False
        return False  # pragma: no cover - the loop always returns

    # --- events -------------------------------------------------------------------------
    async def record(
        self,
        kind: str,
        summary: str,
        *,
        at: float,
        account: str | None = None,
        scope: str | None = None,
        rule: str | None = None,
        intent_id: str | None = None,
        data: Mapping[str, object] | None = None,
    ) -> bool:
        """Append an event; ``False`` if it was skipped for want of disk space."""

        async def body(tx: Tx) -> None:
            await insert_event(tx, kind, summary, at, account, scope, rule, intent_id, data)

        return await self._group(body, f"event {kind}", essential=kind in ESSENTIAL_EVENTS)

    async def events(
        self, *, since: float | None = None, limit: int | None = None, kinds: Sequence[str] = ()
    ) -> list[Event]:
        where, args = events_filter(since, kinds)
        sql = "SELECT seq, at, kind, account, scope, rule, intent_id, summary, data FROM events"
        sql += where + " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self._db.fetchall(sql, args)
        rows.reverse()
        return [
            Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in rows
        ]

    async def count_events(self, *, since: float | None = None, kinds: Sequence[str] = ()) -> int:
        """How many events :meth:`events` (without a limit) would give."""
        where, args = events_filter(since, kinds)
        sql = "SELECT COUNT(*) FROM events" + where  # noqa: S608 - only "?" joined in
        row = await self._db.fetchone(sql, args)
        return 0 if row is None else int(row[0])

    async def event_kinds(self) -> set[str]:
        """The kinds of event this journal holds."""
        return {str(r[0]) for r in await self._db.fetchall("SELECT DISTINCT kind FROM events")}

    # --- intents ------------------------------------------------------------------------
    async def begin_intent(self, intent: Intent, summary: str) -> None:
        """Write the intent (status ``pending``, or ``dry_run``) durably before any call;
        :class:`JournalFull` if the disk has no room for it, :class:`Fenced` if this node
        does not hold the account's lease (fencing on), :class:`JournalUnavailable` if the
        database cannot be reached: in each case nothing was written and the call must not
        be made."""
        fence: Fence | None = None
        if self._fencer is not None:
            fence = self._fencer(intent.account)
            if fence is None:
                raise Fenced(intent.account, self.namespace or "this node", None)
        token = None if fence is None else fence.token
        insert, values = intent_insert(intent, self._db.fencing, self.namespace, token)

        async def body(tx: Tx) -> None:
            # First, so the lease row is locked before anything is written.
            if fence is not None and not await tx.fenced(fence):
                raise Fenced(fence.account, fence.node, fence.token)
            await tx.execute(insert, values)
            await insert_event(
                tx,
                EventKind.INTENT,
                summary,
                intent.at,
                intent.account,
                intent.scope,
                intent.rule,
                intent.intent_id,
                {"kind": intent.kind, "params": intent.params, "dry_run": intent.dry_run},
            )

        if not await self._group(body, f"intent {intent.intent_id}", essential=True):
            raise JournalFull(self.path, f"intent {intent.intent_id}")

    async def mark_accepted(self, intent_id: str, ref: str, *, at: float, summary: str) -> bool:
        """The exchange took the call and gave ``ref`` (flash repay id, order id...)."""

        async def body(tx: Tx) -> None:
            await tx.execute(
                "UPDATE intents SET status = ?, ref = ? WHERE intent_id = ? AND status = ?",
                (ACCEPTED, ref, intent_id, PENDING),
            )
            data = {"ref": ref}
            await insert_intent_event(tx, EventKind.ACCEPTED, summary, at, intent_id, data)

        return await self._group(body, f"acceptance of intent {intent_id}", essential=True)

    async def finish_intent(
        self,
        intent_id: str,
        status: str,
        *,
        at: float,
        summary: str,
        outcome: Mapping[str, object] | None = None,
        ref: str | None = None,
        kind: str = EventKind.OUTCOME,
    ) -> bool:
        """Record the final status of an intent and an ``outcome`` event."""
        if status in OPEN_STATUSES:
            raise ValueError(f"{status!r} is not a final status")

        async def body(tx: Tx) -> None:
            await tx.execute(
                "UPDATE intents SET status = ?, outcome = ?, finished_at = ?,"
                " ref = COALESCE(?, ref) WHERE intent_id = ?",
                (status, dumps(outcome or {}), at, ref, intent_id),
            )
            data = {"status": status, **(outcome or {})}
            await insert_intent_event(tx, kind, summary, at, intent_id, data)

        return await self._group(body, f"outcome of intent {intent_id}", essential=True)

    async def intent(self, intent_id: str) -> IntentRecord | None:
        row = await self._db.fetchone(INTENT_COLUMNS + " WHERE intent_id = ?", (intent_id,))
        return None if row is None else intent_record(row)

    async def open_intents(self, accounts: Iterable[str] | None = None) -> list[IntentRecord]:
        """Intents without a final outcome (left by a crash), oldest first; only those of
        ``accounts`` when given (a node of a cluster reconciles the accounts it owns)."""
        tail = " WHERE status IN (?, ?) AND dry_run = 0"
        args: list[object] = list(OPEN_STATUSES)
        if accounts is not None:
            names = sorted(set(accounts))
            if not names:
                return []
            tail += f" AND account IN ({','.join('?' * len(names))})"
            args += names
        return await self._intents(tail + self._oldest_first(), args)

    async def intents(self, *, since: float | None = None) -> list[IntentRecord]:
        if since is None:
            return await self._intents(self._oldest_first(), ())
        return await self._intents(" WHERE at >= ?" + self._oldest_first(), (since,))

    def _oldest_first(self) -> str:
        """Time order; ties in insertion order (the same on every backend)."""
        return f" ORDER BY at, {self._db.insert_order}"

    async def intents_of_actions(
        self, account: str, action_ids: Iterable[str]
    ) -> list[IntentRecord]:
        """Every intent (any status, dry-run too) of the rules engine's actions
        ``action_ids`` of ``account``, oldest first."""
        ids = sorted(set(action_ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return await self._intents(
            f" WHERE account = ? AND action_id IN ({marks})" + self._oldest_first(),
            (account, *ids),
        )

    async def _intents(self, tail: str, args: Iterable[object]) -> list[IntentRecord]:
        rows = await self._db.fetchall(INTENT_COLUMNS + tail, tuple(args))
        return [intent_record(r) for r in rows]

    async def used_refs(self, account: str, kind: str) -> set[str]:
        """Exchange ids already attributed to an intent (so one record never counts twice)."""
        rows = await self._db.fetchall(
            "SELECT ref FROM intents WHERE account = ? AND kind = ? AND ref IS NOT NULL",
            (account, kind),
        )
        return {str(r[0]) for r in rows}

    async def spent(self, account: str, since: float) -> tuple[Decimal, dict[str, Decimal]]:
        """Live action value since ``since``: (USDT total, per-coin amounts)."""
        rows = await self._db.fetchall(
            "SELECT coin, amount, value_usdt FROM intents WHERE account = ? AND at >= ?"
            " AND dry_run = 0 AND status IN (?, ?, ?, ?)",
            (account, since, *SPENDING_STATUSES),
        )
        usdt = Decimal(0)
        coins: dict[str, Decimal] = {}
        for coin, amount, value in rows:
            if value is not None:
                usdt += Decimal(value)
            if coin is not None and amount is not None:
                coins[coin] = coins.get(coin, Decimal(0)) + Decimal(amount)
        return usdt, coins

    async def last_intent(self, account: str, scope: str) -> IntentRecord | None:
        order = self._db.insert_order
        found = await self._intents(
            f" WHERE account = ? AND scope = ? ORDER BY at DESC, {order} DESC LIMIT 1",
            (account, scope),
        )
        return found[0] if found else None

    # --- rule state ---------------------------------------------------------------------
    async def save_rule_state(self, account: str, state_json: str, *, at: float) -> bool:
        async def body(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO rule_state (account, at, state) VALUES (?, ?, ?)"
                " ON CONFLICT(account) DO UPDATE SET at = excluded.at, state = excluded.state",
                (account, at, redact(state_json)),
            )

        return await self._group(body, f"rule state of {account}", essential=True)

    async def load_rule_state(self, account: str) -> str | None:
        row = await self._db.fetchone("SELECT state FROM rule_state WHERE account = ?", (account,))
        return None if row is None else str(row[0])

    # --- pause control ------------------------------------------------------------------
    async def set_paused(
        self, account: str | None, paused: bool, *, at: float, reason: str = ""
    ) -> bool:
        async def body(tx: Tx) -> None:
            key = account or ALL_ACCOUNTS
            if account is None and not paused:  # resume everything
                await tx.execute("UPDATE control SET paused = 0, at = ?", (at,))
            await tx.execute(
                "INSERT INTO control (account, paused, at, reason) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account) DO UPDATE SET paused = excluded.paused, at = excluded.at,"
                " reason = excluded.reason",
                (key, int(paused), at, redact(reason)),
            )
            what = EventKind.PAUSED if paused else EventKind.RESUMED
            target = "all accounts" if account is None else f"account {account}"
            summary = f"actions {what} for {target}"
            data = {"reason": reason}
            await insert_event(tx, what, summary, at, account, None, None, None, data)

        return await self._group(body, "pause control", essential=True)

    async def pause_state(self) -> PauseState:
        rows = await self._db.fetchall("SELECT account, paused FROM control")
        paused = {str(a) for a, p in rows if p}
        return PauseState(ALL_ACCOUNTS in paused, frozenset(paused - {ALL_ACCOUNTS}))

    # --- status and meta ----------------------------------------------------------------
    async def write_status(
        self, rows: Iterable[tuple[str, str, Mapping[str, object]]], *, at: float
    ) -> bool:
        """Replace the status row of each (account, scope) given."""

        async def body(tx: Tx) -> None:
            await tx.executemany(
                "INSERT INTO status (account, scope, at, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account, scope) DO UPDATE SET at = excluded.at, data = excluded.data",
                [(a, s, at, dumps(d)) for a, s, d in rows],
            )

        return await self._group(body, "status rows", essential=False)

    async def read_status(self) -> list[tuple[str, str, float, dict[str, Any]]]:
        rows = await self._db.fetchall(
            "SELECT account, scope, at, data FROM status ORDER BY account, scope"
        )
        return [(str(a), str(s), float(t), json.loads(d)) for a, s, t, d in rows]

    def _meta_key(self, key: str) -> str:
        return key if self.namespace is None else f"node:{self.namespace}:{key}"

    async def set_meta(self, key: str, value: object, *, essential: bool = True) -> bool:
        async def body(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (self._meta_key(key), dumps(value)),
            )

        return await self._group(body, f"meta {key}", essential=essential)

    async def get_meta(self, key: str) -> Any:
        row = await self._db.fetchone(
            "SELECT value FROM meta WHERE key = ?", (self._meta_key(key),)
        )
        return None if row is None else json.loads(row[0])


async def open_journal(
    target: Path | str, *, namespace: str | None = None, wait_s: float | None = None
) -> Journal:
    """The journal at ``target``: an SQLite file, or a ``postgresql://`` URL (see
    :meth:`Journal.open_target`)."""
    return await Journal.open_target(target, namespace=namespace, wait_s=wait_s)


__all__ = [
    "ACCEPTED",
    "ALL_ACCOUNTS",
    "DRY_RUN",
    "ESSENTIAL_EVENTS",
    "FAILED",
    "NOT_EXECUTED",
    "OPEN_STATUSES",
    "PENDING",
    "SPENDING_STATUSES",
    "SUCCEEDED",
    "UNKNOWN",
    "Event",
    "Fenced",
    "Fencer",
    "Intent",
    "IntentRecord",
    "IntentStatus",
    "Journal",
    "JournalOpenError",
    "JournalUnavailable",
    "PauseState",
    "dumps",
    "open_journal",
]
