"""The journal database's layout: the tables (:data:`SCHEMA`), the intent row and its
mapping to :class:`~riskd.daemon.journal_types.IntentRecord`, the ``events`` filter that
:class:`~riskd.daemon.journal.Journal` and ``riskd journal`` share, and the statements writing
events and intents in a write group (any backend). No other I/O but :func:`probe`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from riskd.daemon.journal_types import DRY_RUN, PENDING, Intent, IntentRecord, dumps
from riskd.redact import redact

if TYPE_CHECKING:
    from riskd.daemon.journal_backend import Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    account TEXT, scope TEXT, rule TEXT, intent_id TEXT,
    summary TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE TABLE IF NOT EXISTS intents (
    intent_id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    account TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL,
    rule TEXT NOT NULL, action_id TEXT NOT NULL,
    params TEXT NOT NULL,
    coin TEXT, amount TEXT, value_usdt TEXT,
    dry_run INTEGER NOT NULL,
    status TEXT NOT NULL,
    ref TEXT,
    outcome TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS intents_status ON intents(status);
CREATE INDEX IF NOT EXISTS intents_action ON intents(account, action_id);
CREATE TABLE IF NOT EXISTS rule_state (account TEXT PRIMARY KEY, at REAL, state TEXT);
CREATE TABLE IF NOT EXISTS control (account TEXT PRIMARY KEY, paused INTEGER, at REAL,
                                    reason TEXT);
CREATE TABLE IF NOT EXISTS status (account TEXT, scope TEXT, at REAL, data TEXT,
                                   PRIMARY KEY (account, scope));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expired_at REAL
);
"""

#: The intent row, in the order :func:`intent_record` reads it (append a ``WHERE`` tail).
INTENT_COLUMNS = (
    "SELECT intent_id, at, account, scope, kind, rule, action_id, params, coin, amount,"
    " value_usdt, dry_run, status, ref, outcome, finished_at FROM intents"
)


def probe(path: Path) -> None:
    """Open and close ``path`` with sqlite3 (raises what a connect would)."""
    sqlite3.connect(path).close()


def intent_record(row: tuple[Any, ...]) -> IntentRecord:
    """An :data:`INTENT_COLUMNS` row as an intent record."""
    intent = Intent(
        intent_id=row[0],
        at=row[1],
        account=row[2],
        scope=row[3],
        kind=row[4],
        rule=row[5],
        action_id=row[6],
        params=MappingProxyType(json.loads(row[7])),
        coin=row[8],
        amount=None if row[9] is None else Decimal(row[9]),
        value_usdt=None if row[10] is None else Decimal(row[10]),
        dry_run=bool(row[11]),
    )
    outcome = json.loads(row[14]) if row[14] else {}
    return IntentRecord(intent, row[12], row[13], MappingProxyType(outcome), row[15])


def events_filter(since: float | None, kinds: Sequence[str]) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (``""`` when there is none) and its parameters selecting the
    events at or after ``since`` of the ``kinds`` (every kind when empty). Only ``?``
    placeholders are joined into the text; the values go as parameters."""
    where: list[str] = []
    args: list[object] = []
    if since is not None:
        where.append("at >= ?")
        args.append(since)
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        args.extend(kinds)
    return (" WHERE " + " AND ".join(where) if where else ""), args


def intent_insert(
    intent: Intent, fencing: bool, node: str | None, token: int | None
) -> tuple[str, tuple[object, ...]]:
    """The statement writing ``intent`` (status ``pending``, or ``dry_run``) and its values;
    with ``fencing`` (PostgreSQL) the row also records the ``node`` and its lease ``token``."""
    columns = (
        "intent_id, at, account, scope, kind, rule, action_id, params, coin, amount,"
        " value_usdt, dry_run, status"
    )
    values: tuple[object, ...] = (
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
        DRY_RUN if intent.dry_run else PENDING,
    )
    if fencing:
        columns += ", node, fence"
        values += (node, token)
    marks = ",".join("?" * len(values))
    return f"INSERT INTO intents ({columns}) VALUES ({marks})", values  # noqa: S608


async def insert_event(
    tx: Tx,
    kind: str,
    summary: str,
    at: float,
    account: str | None,
    scope: str | None,
    rule: str | None,
    intent_id: str | None,
    data: Mapping[str, object] | None,
) -> None:
    """Append an event in write group ``tx`` (summary and data redacted)."""
    await tx.execute(
        "INSERT INTO events (at, kind, account, scope, rule, intent_id, summary, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at, kind, account, scope, rule, intent_id, redact(summary), dumps(data or {})),
    )


async def insert_intent_event(
    tx: Tx, kind: str, summary: str, at: float, intent_id: str, data: Mapping[str, object]
) -> None:
    """An event about intent ``intent_id``, with that intent's account, scope and rule."""
    row = await tx.fetchone(
        "SELECT account, scope, rule FROM intents WHERE intent_id = ?", (intent_id,)
    )
    account, scope, rule = row if row else (None, None, None)
    await insert_event(tx, kind, summary, at, account, scope, rule, intent_id, data)


__all__ = [
    "INTENT_COLUMNS",
    "SCHEMA",
    "events_filter",
    "insert_event",
    "insert_intent_event",
    "intent_insert",
    "intent_record",
    "probe",
]
