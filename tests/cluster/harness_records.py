"""What the cluster harness reads and how it judges it (tests/cluster/harness.py): the
records (protective calls answered by the simulator, journaled intents, leases), the
PostgreSQL / SQLite readers, the attribution of calls to intents and the duplicate rules.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg


# ---------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class SimCall:
    """A protective call the simulator answered (``GET /_sim/calls``)."""

    seq: int
    at: float
    account: str | None
    endpoint: str
    accepted: bool
    code: str
    client_oids: tuple[str, ...]
    ref: str | None
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class IntentRow:
    """One journaled intent; ``node`` and ``fence`` come from PostgreSQL (SQLite: the node
    whose file it is, no fence)."""

    intent_id: str
    at: float
    account: str
    scope: str
    kind: str
    rule: str
    action_id: str
    status: str
    ref: str | None
    dry_run: bool
    node: str | None
    fence: int | None
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    account: str
    owner: str | None
    token: int
    acquired_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class Duplicate:
    """One breach found by :meth:`Harness.duplicate_actions`; ``rule`` is ``a``, ``b`` or ``c``."""

    rule: str
    account: str | None
    detail: str


# ---------------------------------------------------------------------------- journal
class JournalReader:
    """The journal and the leases: PostgreSQL when ``pg_url`` is set (``intents`` with ``node``
    and ``fence``, ``events``, ``riskd_leases``), else each node's SQLite file
    (``journals``: node → path; ``node`` = that node, no fence, no leases)."""

    def __init__(self, pg_url: str | None, journals: Mapping[str, Path]) -> None:
        self.pg_url = pg_url
        self.journals = dict(journals)

    def _pg(self, sql: str, *args: object) -> list[Any]:
        assert self.pg_url is not None

        async def go() -> list[Any]:
            conn = await asyncpg.connect(self.pg_url)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(go())

    def _pg_columns(self, table: str) -> set[str]:
        rows = self._pg(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table
        )
        return {str(r[0]) for r in rows}

    def intents(self) -> list[IntentRow]:
        """Every journaled intent: PostgreSQL's ``intents`` when clustered, else the nodes'
        SQLite journals (``node`` = the file's node, ``fence`` None)."""
        base = (
            "intent_id, at, account, scope, kind, rule, action_id, status, ref, dry_run,"
            " finished_at"
        )
        out: list[IntentRow] = []
        if self.pg_url is not None:
            cols = self._pg_columns("intents")
            if not cols:
                return []
            extra = ", ".join(c if c in cols else "NULL" for c in ("node", "fence"))
            for r in self._pg(f"SELECT {base}, {extra} FROM intents"):
                out.append(_intent(tuple(r), None))
            return out
        for name, path in self.journals.items():
            if not path.exists():
                continue
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                rows = db.execute(f"SELECT {base}, NULL, NULL FROM intents").fetchall()
            finally:
                db.close()
            out.extend(_intent(tuple(r), name) for r in rows)
        return out

    def events(self, kind: str, node: str | None = None) -> list[dict[str, Any]]:
        """Journal events of ``kind`` (``summary``, ``account``, ``at``, ``data``), of one node
        when given: PostgreSQL rows with a ``node`` column, ``data.node`` or "node X" in the
        summary (a row naming no node is nobody's), else that node's SQLite file."""
        out: list[dict[str, Any]] = []
        if self.pg_url is not None:
            cols = self._pg_columns("events")
            if not cols:
                return []
            node_col = "node" if "node" in cols else "NULL"
            rows = self._pg(
                f"SELECT at, account, summary, data, {node_col} FROM events WHERE kind = $1",
                kind,
            )
            for at, account, summary, data, row_node in rows:
                parsed = _json_obj(data)
                named = _NODE_IN_TEXT.search(str(summary))
                who = row_node if row_node is not None else parsed.get("node")
                who = who if who is not None else (named.group(1) if named else None)
                if node is None or who == node:
                    out.append(
                        {
                            "at": _ts(at),
                            "account": account,
                            "summary": summary,
                            "data": parsed,
                            "node": who,
                        }
                    )
            return out
        for name, path in self.journals.items():
            if (node is not None and name != node) or not path.exists():
                continue
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                rows = db.execute(
                    "SELECT at, account, summary, data FROM events WHERE kind = ?", (kind,)
                ).fetchall()
            finally:
                db.close()
            for at, account, summary, data in rows:
                out.append(
                    {
                        "at": float(at),
                        "account": account,
                        "summary": summary,
                        "data": _json_obj(data),
                        "node": name,
                    }
                )
        return out

    def leases(self) -> list[Lease]:
        """``riskd_leases`` now (clustered only; [] before the table exists)."""
        if self.pg_url is None or not self._pg_columns("riskd_leases"):
            return []
        rows = self._pg("SELECT account, owner, token, acquired_at, expires_at FROM riskd_leases")
        return [Lease(r[0], r[1], int(r[2]), _ts(r[3]), _ts(r[4])) for r in rows]

    def owners(self) -> dict[str, str | None]:
        """Account → owner of an unexpired lease (None: nobody), by PostgreSQL's clock."""
        if self.pg_url is None:
            return {}
        rows = self._pg(
            "SELECT account, CASE WHEN expires_at > clock_timestamp() THEN owner END"
            " FROM riskd_leases"
        )
        return {str(r[0]): r[1] for r in rows}


# ---------------------------------------------------------------------------- checks
#: Rule of a step continued by a new owner after the old owner's leg had its outcome.
CONTINUED = "c+"


def attribute(
    calls: Sequence[SimCall], intents: Sequence[IntentRow]
) -> list[tuple[SimCall, IntentRow | None]]:
    """Each accepted protective call with its intent: by ``clientOid`` (``riskd-`` +
    intent id), else by the exchange's id (the intent's ``ref``) in the same account."""
    by_id = {i.intent_id: i for i in intents}
    by_ref = {(i.account, i.ref): i for i in intents if i.ref}
    out: list[tuple[SimCall, IntentRow | None]] = []
    for call in calls:
        if not call.accepted:
            continue
        found: IntentRow | None = None
        for oid in call.client_oids:
            if oid.startswith("riskd-"):
                found = by_id.get(oid[len("riskd-") :])
                if found is None:
                    found = next(
                        (i for k, i in by_id.items() if k.startswith(oid[len("riskd-") :])),
                        None,
                    )
                if found is not None:
                    break
        if found is None and call.ref is not None:
            found = by_ref.get((call.account or "", call.ref))
        out.append((call, found))
    return out


def find_duplicates(
    pairs: Sequence[tuple[SimCall, IntentRow | None]], intents: Sequence[IntentRow]
) -> list[Duplicate]:
    """Every duplicate protective action; [] is success. Three kinds:

    (a) a ``clientOid`` the simulator accepted in more than one protective call (calls
        that carry none — a cross repay, a flash repay — cannot be checked this way);
    (b) for one account, in the simulator's order of acceptance, an accepted call whose
        intent's fence token is LOWER than the token of an intent already accepted for
        that account earlier: an old owner acting after a takeover (needs ``fence``:
        PostgreSQL only);
    (c) for one account and one rule ``action_id`` (``incident.run.step``), accepted
        intents of two or more nodes. "Accepted": matched to an accepted call
        (:func:`attribute`), or journaled ``accepted`` / ``succeeded``.
    """
    found: list[Duplicate] = []
    by_oid: dict[str, list[SimCall]] = defaultdict(list)
    for call, _ in pairs:
        for oid in call.client_oids:
            by_oid[oid].append(call)
    for oid, calls in by_oid.items():
        if len(calls) > 1:
            found.append(
                Duplicate(
                    "a",
                    calls[0].account,
                    f"clientOid {oid} accepted {len(calls)} times: "
                    + ", ".join(f"{c.endpoint}#{c.seq}" for c in calls),
                )
            )
    top: dict[str, tuple[int, SimCall]] = {}
    for call, intent in sorted(pairs, key=lambda p: p[0].seq):
        if intent is None or intent.fence is None:
            continue
        best = top.get(intent.account)
        if best is not None and intent.fence < best[0]:
            found.append(
                Duplicate(
                    "b",
                    intent.account,
                    f"{call.endpoint}#{call.seq} by {intent.node} under token {intent.fence}"
                    f" after token {best[0]} acted ({best[1].endpoint}#{best[1].seq})",
                )
            )
        if best is None or intent.fence > best[0]:
            top[intent.account] = (intent.fence, call)
    accepted = {i.intent_id: i for _, i in pairs if i is not None}
    for i in intents:
        if i.status in ("accepted", "succeeded") and not i.dry_run:
            accepted.setdefault(i.intent_id, i)
    steps: dict[tuple[str, str], list[IntentRow]] = defaultdict(list)
    for i in accepted.values():
        steps[(i.account, i.action_id)].append(i)
    for (account, action_id), rows in sorted(steps.items()):
        if len({i.node for i in rows}) < 2:
            continue
        rows.sort(key=lambda i: i.at)
        for earlier, later in itertools.pairwise(rows):
            if earlier.node == later.node:
                continue
            done = earlier.finished_at
            what = f"action {action_id} accepted from {earlier.node} then {later.node}"
            if done is None or later.at < done:
                found.append(
                    Duplicate("c", account, f"{what} (journaled before the first one's outcome)")
                )
            else:
                found.append(
                    Duplicate(CONTINUED, account, f"{what} ({later.at - done:.2f} s after)")
                )
    return found


# ---------------------------------------------------------------------------- helpers
_METRIC = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_values(text: str, name: str, label: str, *, agg: str = "sum") -> dict[str, float]:
    """``{label value: sample}`` of the samples of ``name`` in a Prometheus text page; samples
    with the same ``label`` value are summed (``agg="max"``: the largest is kept)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _METRIC.match(line)
        if m is None or m.group("name") != name:
            continue
        labels = dict(_LABEL.findall(m.group("labels") or ""))
        key = labels.get(label, "")
        try:
            value = float(m.group("value"))
        except ValueError:
            continue
        if agg == "max":
            out[key] = max(out.get(key, value), value)
        else:
            out[key] = out.get(key, 0.0) + value
    return out


#: "node X" in a fenced event's summary ("… node node2 no longer owns it …").
_NODE_IN_TEXT = re.compile(r"\bnode (\S+) no longer owns")


def _iso_ts(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _seconds(text: str) -> float:
    from riskd.durations import parse_duration

    return parse_duration(text)


def _ts(value: object) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(str(value))


def _json_obj(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(str(raw)) if raw is not None else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _intent(row: tuple[Any, ...], node: str | None) -> IntentRow:
    return IntentRow(
        intent_id=str(row[0]),
        at=_ts(row[1]),
        account=str(row[2]),
        scope=str(row[3]),
        kind=str(row[4]),
        rule=str(row[5]),
        action_id=str(row[6]),
        status=str(row[7]),
        ref=None if row[8] is None else str(row[8]),
        dry_run=bool(row[9]),
        finished_at=None if row[10] is None else _ts(row[10]),
        node=node if node is not None else (None if row[11] is None else str(row[11])),
        fence=None if row[12] is None else int(row[12]),
    )
