"""The journal: an SQLite (WAL) record of everything the daemon decided and did.

Tables:

- ``events``: the history ``riskd journal`` shows — decisions, intents, accepted calls,
  outcomes, blocked actions, notifications, stale data, reconciliation, life signs.
- ``intents``: one row per protective action, written *before* its call (``pending``),
  updated to ``accepted`` with the exchange's id as soon as the call returns, and to a final
  status after. Rows left ``pending``/``accepted`` by a crash are reconciled at start.
- ``rule_state``: the rules engine's state per account (JSON), so firing rules survive restarts.
- ``control``: pause state (``*`` = every account), written by ``riskd pause``/``resume``.
- ``status`` and ``meta``: the per-scope status rows and daemon facts ``riskd status`` reads.

The tables' layout and the intent row mapping are in :mod:`riskd.daemon.journal_schema`.

Every text written passes through :func:`riskd.redact.redact`; nothing secret is ever given
to the journal in the first place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite

from riskd.daemon.events import EventKind
from riskd.daemon.journal_schema import (
    INTENT_COLUMNS,
    SCHEMA,
    events_filter,
    intent_record,
    probe,
)
from riskd.daemon.journal_space import JournalFull, SpaceGuard, is_disk_full
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
    Intent,
    IntentRecord,
    IntentStatus,
    JournalOpenError,
    PauseState,
    dumps,
)
from riskd.redact import redact

log = logging.getLogger(__name__)


class Journal:
    """Async access to the journal database. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        #: One write group (statements + commit) at a time: concurrent actions of different
        #: scopes never commit each other's half-written rows.
        self._write = asyncio.Lock()
        #: The reserve and full/normal mode (see :mod:`riskd.daemon.journal_space`).
        self.space = SpaceGuard(path)

    @classmethod
    async def open(cls, path: Path) -> Journal:
        """Open (or create) the journal at ``path``; :class:`JournalOpenError` if it cannot
        be used. A failed open leaves no connection (nor its worker thread) behind."""
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

    async def close(self) -> None:
        """Close the connection and stop its worker thread (idempotent)."""
        await self._db.close()

    async def rollback(self) -> None:
        """Drop a write group that a cancellation cut short (its statements ran, its commit
        never came), so that a later commit cannot save half of it. Shutdown calls this
        after cancelling the cycle in flight."""
        async with self._write:
            await self._db.rollback()

    async def _group(
        self, body: Callable[[], Awaitable[None]], what: str, *, essential: bool
    ) -> bool:
        """Run ``body``'s statements and commit them as one write group. Returns ``False``
        when the disk is full and the group was skipped (not essential) or could not be
        written even in the room the reserve freed; raises for every other error."""
        async with self._write:
            if self.space.full and not essential:
                self.space.skipped += 1
                return False
            for attempt in (1, 2):
                done = False
                try:
                    await body()
                    await self._db.commit()
                    done = True
                    return True
                except (sqlite3.Error, OSError) as exc:
                    if not is_disk_full(exc):
                        raise
                    freed = self.space.on_full(exc)
                    if attempt == 2 or not freed or not essential:
                        log.critical("journal %s: disk full, %s not written", self.path, what)
                        if not essential:
                            self.space.skipped += 1
                        return False
                finally:
                    if not done:
                        # Never leave half a group for the next commit to save.
                        with contextlib.suppress(sqlite3.Error, ValueError):
                            await self._db.rollback()
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

        async def body() -> None:
            await self._insert_event(kind, summary, at, account, scope, rule, intent_id, data)

        return await self._group(body, f"event {kind}", essential=kind in ESSENTIAL_EVENTS)

    async def _insert_event(
        self,
        kind: str,
        summary: str,
        at: float,
        account: str | None,
        scope: str | None,
        rule: str | None,
        intent_id: str | None,
        data: Mapping[str, object] | None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO events (at, kind, account, scope, rule, intent_id, summary, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (at, kind, account, scope, rule, intent_id, redact(summary), dumps(data or {})),
        )

    async def events(
        self, *, since: float | None = None, limit: int | None = None, kinds: Sequence[str] = ()
    ) -> list[Event]:
        where, args = events_filter(since, kinds)
        sql = "SELECT seq, at, kind, account, scope, rule, intent_id, summary, data FROM events"
        sql += where + " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        async with self._db.execute(sql, args) as cur:
            rows = list(await cur.fetchall())
        rows.reverse()
        return [
            Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in rows
        ]

    # --- intents ------------------------------------------------------------------------
    async def begin_intent(self, intent: Intent, summary: str) -> None:
        """Write the intent (status ``pending``, or ``dry_run``) durably before any call;
        :class:`JournalFull` if the disk has no room for it (the call must not be made)."""

        async def body() -> None:
            status = DRY_RUN if intent.dry_run else PENDING
            await self._db.execute(
                "INSERT INTO intents (intent_id, at, account, scope, kind, rule, action_id, params,"
                " coin, amount, value_usdt, dry_run, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    intent.intent_id,
                    intent.at,
                    intent.account,
                    intent.scope,
                    intent.kind,
                    intent.rule,
                    intent.action_id,
                    dumps(intent.params),
                    intent.coin,
                    None if intent.amount is None else str(intent.amount),
                    None if intent.value_usdt is None else str(intent.value_usdt),
                    int(intent.dry_run),
                    status,
                ),
            )
            await self._insert_event(
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

        async def body() -> None:
            await self._db.execute(
                "UPDATE intents SET status = ?, ref = ? WHERE intent_id = ? AND status = ?",
                (ACCEPTED, ref, intent_id, PENDING),
            )
            data = {"ref": ref}
            await self._insert_intent_event(EventKind.ACCEPTED, summary, at, intent_id, data)

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

        async def body() -> None:
            await self._db.execute(
                "UPDATE intents SET status = ?, outcome = ?, finished_at = ?,"
                " ref = COALESCE(?, ref) WHERE intent_id = ?",
                (status, dumps(outcome or {}), at, ref, intent_id),
            )
            data = {"status": status, **(outcome or {})}
            await self._insert_intent_event(kind, summary, at, intent_id, data)

        return await self._group(body, f"outcome of intent {intent_id}", essential=True)

    async def _insert_intent_event(
        self, kind: str, summary: str, at: float, intent_id: str, data: Mapping[str, object]
    ) -> None:
        """An event about intent ``intent_id``, with that intent's account, scope and rule."""
        row = await self._intent_row(intent_id)
        account, scope, rule = (row[2], row[3], row[5]) if row else (None, None, None)
        await self._insert_event(kind, summary, at, account, scope, rule, intent_id, data)

    async def _intent_row(self, intent_id: str) -> tuple[Any, ...] | None:
        async with self._db.execute(INTENT_COLUMNS + " WHERE intent_id = ?", (intent_id,)) as c:
            row = await c.fetchone()
        return tuple(row) if row is not None else None

    async def intent(self, intent_id: str) -> IntentRecord | None:
        row = await self._intent_row(intent_id)
        return None if row is None else intent_record(row)

    async def open_intents(self) -> list[IntentRecord]:
        """Intents without a final outcome (left by a crash), oldest first."""
        return await self._intents(
            " WHERE status IN (?, ?) AND dry_run = 0 ORDER BY at", OPEN_STATUSES
        )

    async def intents(self, *, since: float | None = None) -> list[IntentRecord]:
        if since is None:
            return await self._intents(" ORDER BY at", ())
        return await self._intents(" WHERE at >= ? ORDER BY at", (since,))

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
            f" WHERE account = ? AND action_id IN ({marks}) ORDER BY at", (account, *ids)
        )

    async def _intents(self, tail: str, args: Iterable[object]) -> list[IntentRecord]:
        async with self._db.execute(INTENT_COLUMNS + tail, tuple(args)) as cur:
            rows = await cur.fetchall()
        return [intent_record(tuple(r)) for r in rows]

    async def used_refs(self, account: str, kind: str) -> set[str]:
        """Exchange ids already attributed to an intent (so one record never counts twice)."""
        async with self._db.execute(
            "SELECT ref FROM intents WHERE account = ? AND kind = ? AND ref IS NOT NULL",
            (account, kind),
        ) as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    async def spent(self, account: str, since: float) -> tuple[Decimal, dict[str, Decimal]]:
        """Live action value since ``since``: (USDT total, per-coin amounts)."""
        async with self._db.execute(
            "SELECT coin, amount, value_usdt FROM intents WHERE account = ? AND at >= ?"
            " AND dry_run = 0 AND status IN (?, ?, ?, ?)",
            (account, since, *SPENDING_STATUSES),
        ) as cur:
            rows = await cur.fetchall()
        usdt = Decimal(0)
        coins: dict[str, Decimal] = {}
        for coin, amount, value in rows:
            if value is not None:
                usdt += Decimal(value)
            if coin is not None and amount is not None:
                coins[coin] = coins.get(coin, Decimal(0)) + Decimal(amount)
        return usdt, coins

    async def last_intent(self, account: str, scope: str) -> IntentRecord | None:
        found = await self._intents(
            " WHERE account = ? AND scope = ? ORDER BY at DESC LIMIT 1", (account, scope)
        )
        return found[0] if found else None

    # --- rule state ---------------------------------------------------------------------
    async def save_rule_state(self, account: str, state_json: str, *, at: float) -> bool:
        async def body() -> None:
            await self._db.execute(
                "INSERT INTO rule_state (account, at, state) VALUES (?, ?, ?)"
                " ON CONFLICT(account) DO UPDATE SET at = excluded.at, state = excluded.state",
                (account, at, redact(state_json)),
            )

        return await self._group(body, f"rule state of {account}", essential=True)

    async def load_rule_state(self, account: str) -> str | None:
        async with self._db.execute(
            "SELECT state FROM rule_state WHERE account = ?", (account,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    # --- pause control ------------------------------------------------------------------
    async def set_paused(
        self, account: str | None, paused: bool, *, at: float, reason: str = ""
    ) -> bool:
        async def body() -> None:
            key = account or ALL_ACCOUNTS
            if account is None and not paused:  # resume everything
                await self._db.execute("UPDATE control SET paused = 0, at = ?", (at,))
            await self._db.execute(
                "INSERT INTO control (account, paused, at, reason) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account) DO UPDATE SET paused = excluded.paused, at = excluded.at,"
                " reason = excluded.reason",
                (key, int(paused), at, redact(reason)),
            )
            what = EventKind.PAUSED if paused else EventKind.RESUMED
            target = "all accounts" if account is None else f"account {account}"
            await self._insert_event(
                what,
                f"actions {what} for {target}",
                at,
                account,
                None,
                None,
                None,
                {"reason": reason},
            )

        return await self._group(body, "pause control", essential=True)

    async def pause_state(self) -> PauseState:
        async with self._db.execute("SELECT account, paused FROM control") as cur:
            rows = await cur.fetchall()
        paused = {str(a) for a, p in rows if p}
        return PauseState(ALL_ACCOUNTS in paused, frozenset(paused - {ALL_ACCOUNTS}))

    # --- status and meta ----------------------------------------------------------------
    async def write_status(
        self, rows: Iterable[tuple[str, str, Mapping[str, object]]], *, at: float
    ) -> bool:
        """Replace the status row of each (account, scope) given."""

        async def body() -> None:
            await self._db.executemany(
                "INSERT INTO status (account, scope, at, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account, scope) DO UPDATE SET at = excluded.at, data = excluded.data",
                [(a, s, at, dumps(d)) for a, s, d in rows],
            )

        return await self._group(body, "status rows", essential=False)

    async def read_status(self) -> list[tuple[str, str, float, dict[str, Any]]]:
        async with self._db.execute(
            "SELECT account, scope, at, data FROM status ORDER BY account, scope"
        ) as cur:
            rows = await cur.fetchall()
        return [(str(a), str(s), float(t), json.loads(d)) for a, s, t, d in rows]

    async def set_meta(self, key: str, value: object, *, essential: bool = True) -> bool:
        async def body() -> None:
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, dumps(value)),
            )

        return await self._group(body, f"meta {key}", essential=essential)

    async def get_meta(self, key: str) -> Any:
        async with self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else json.loads(row[0])


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
    "Intent",
    "IntentRecord",
    "IntentStatus",
    "Journal",
    "JournalOpenError",
    "PauseState",
    "dumps",
]
