"""The alert outbox in the journal database (table ``alert_outbox``): every alert × channel
is written before it is delivered, marked when it is delivered or given up, and re-queued by
the next notifier after a crash. Own aiosqlite connection to the journal file (WAL).

States: ``pending`` (to deliver), ``delivered``, ``dropped`` (queue bound), ``suppressed``
(silence, inhibition), ``superseded`` (a newer state of the same incident replaced it, or it
was unchanged), ``expired`` (older than ``outbox_max_age`` at a restart).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiosqlite

from riskd.notify.alert import Alert, AlertKind
from riskd.redact import redact
from riskd.severity import Severity

#: Milliseconds a statement waits for the daemon's write lock.
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_outbox (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    route TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    delivered_at REAL,
    updated REAL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS alert_outbox_state ON alert_outbox (state, created)"
_DECIMALS = ("risk_rate", "warning_risk_ratio", "liquidation_risk_ratio", "risk_after")
_TEXTS = ("account", "scope", "rule", "incident", "action", "outcome", "message", "capped")


def alert_to_json(alert: Alert) -> str:
    """An Alert as JSON: Decimals as strings, enums as their values."""
    data: dict[str, Any] = {
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "title": alert.title,
        "at": alert.at,
        "dry_run": alert.dry_run,
        "labels": dict(alert.labels),
        "tags": sorted(alert.tags),
    }
    for name in _TEXTS:
        data[name] = getattr(alert, name)
    for name in _DECIMALS:
        value = getattr(alert, name)
        data[name] = None if value is None else str(value)
    return json.dumps(data, sort_keys=True)


def alert_from_json(text: str) -> Alert:
    """The Alert :func:`alert_to_json` wrote."""
    data = json.loads(text)
    extra: dict[str, Any] = {name: data.get(name) for name in _TEXTS}
    for name in _DECIMALS:
        value = data.get(name)
        extra[name] = None if value is None else Decimal(value)
    return Alert(
        kind=AlertKind(data["kind"]),
        severity=Severity(data["severity"]),
        title=str(data["title"]),
        at=float(data["at"]),
        dry_run=bool(data.get("dry_run", False)),
        labels=MappingProxyType({str(k): str(v) for k, v in data.get("labels", {}).items()}),
        tags=frozenset(str(t) for t in data.get("tags", [])),
        **extra,
    )


async def _connect(path: Path, *schema: str) -> aiosqlite.Connection:
    """A connection to the journal file with a busy timeout, its ``schema`` statements run
    and committed; closed again if any of that fails."""
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


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An undelivered alert for one channel (``route`` is its label, e.g. ``mail[0]``)."""

    ref: str
    route: str
    created: float
    alert: Alert


class OutboxStore:
    """Rows of ``alert_outbox``; one connection, used from the notifier's writer task."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> OutboxStore:
        return cls(await _connect(path, _SCHEMA, _INDEX))

    async def close(self) -> None:
        await self._db.close()

    async def add(self, ref: str, route: str, alert: Alert, created: float) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO alert_outbox (id, created, route, payload, state, updated)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            (ref, created, route, redact(alert_to_json(alert)), created),
        )
        await self._db.commit()

    async def mark(self, refs: Iterable[str], state: str, at: float) -> None:
        ids = list(refs)
        if not ids:
            return
        delivered = at if state == "delivered" else None
        await self._db.executemany(
            "UPDATE alert_outbox SET state = ?, delivered_at = ?, updated = ?"
            " WHERE id = ? AND state = 'pending'",
            [(state, delivered, at, ref) for ref in ids],
        )
        await self._db.commit()

    async def pending(self, now: float, max_age: float) -> tuple[list[PendingAlert], int]:
        """Undelivered alerts no older than ``max_age`` (oldest first), and how many older
        ones were marked ``expired``. Settled rows older than ``max_age`` are deleted."""
        horizon = now - max_age
        cursor = await self._db.execute(
            "UPDATE alert_outbox SET state = 'expired', updated = ?"
            " WHERE state = 'pending' AND created < ?",
            (now, horizon),
        )
        expired = cursor.rowcount
        await cursor.close()
        await self._db.execute(
            "DELETE FROM alert_outbox WHERE state != 'pending' AND created < ?", (horizon,)
        )
        await self._db.commit()
        async with self._db.execute(
            "SELECT id, route, created, payload FROM alert_outbox WHERE state = 'pending'"
            " ORDER BY created, rowid"
        ) as rows:
            found = [
                PendingAlert(str(r[0]), str(r[1]), float(r[2]), alert_from_json(str(r[3])))
                for r in await rows.fetchall()
            ]
        return found, max(0, expired)

    async def states(self) -> dict[str, int]:
        """Rows per state (for tests and status)."""
        async with self._db.execute(
            "SELECT state, COUNT(*) FROM alert_outbox GROUP BY state"
        ) as rows:
            return {str(r[0]): int(r[1]) for r in await rows.fetchall()}
