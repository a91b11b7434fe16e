"""What the dashboard's JSON endpoints return, read from the journal like ``riskd status``.

The dashboard opens its own short-lived connection to the journal database for each read
(WAL: the daemon's connection and its cycle are never waited on). When the journal cannot be
read (the daemon restarts, the file is missing or locked) the answer says
``not running (last seen …)`` — never a stack trace.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import aiosqlite

from riskd.daemon.events import EventKind
from riskd.daemon.journal import Journal, JournalOpenError
from riskd.daemon.journal_backend import SqliteBackend
from riskd.daemon.journal_types import JournalUnavailable
from riskd.daemon.status import DEFAULT_STALE_AFTER, load_report
from riskd.daemon.status_report import DaemonState, StatusReport
from riskd.rules.state import EngineState, StateError

log = logging.getLogger(__name__)

#: Journal errors that mean "cannot read it now" (shown as not running, logged).
READ_ERRORS = (OSError, sqlite3.Error, JournalOpenError, JournalUnavailable, ValueError)


class RuleView(Protocol):
    """A loaded rule, as far as the rule-state panel reads it."""

    @property
    def name(self) -> str: ...
    @property
    def scope(self) -> ScopeMatcher: ...


class ScopeMatcher(Protocol):
    def matches(self, scope: str) -> bool: ...


#: account → the rules loaded for it (the daemon's current rule sets).
RulesProvider = Callable[[], Mapping[str, Sequence[RuleView]]]
#: coin → index price in USDT, as the daemon saw it last.
PricesProvider = Callable[[], Mapping[str, Decimal]]


def when(at: float | None) -> str:
    """``2026-12-05 10:12:32 UTC``, or ``never``."""
    if at is None:
        return "never"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class DaemonLine:
    """One line about the daemon: whether it runs, and when it was last seen."""

    running: bool
    text: str
    last_seen: float | None

    def to_json(self) -> dict[str, object]:
        return {"running": self.running, "text": self.text, "last_seen": self.last_seen}


def daemon_line(report: StatusReport | None, last_seen: float | None = None) -> DaemonLine:
    """``running`` or ``not running (last seen …)`` from a report (None: journal unreadable)."""
    if report is None:
        return DaemonLine(False, f"not running (last seen {when(last_seen)})", last_seen)
    info = report.daemon
    seen = info.last_cycle_at if info.last_cycle_at is not None else info.started_at
    if info.state == DaemonState.RUNNING:
        return DaemonLine(True, "running", seen)
    if info.state == DaemonState.NOT_RESPONDING:
        return DaemonLine(False, f"not responding (last seen {when(seen)})", seen)
    if info.state == DaemonState.NEVER_RAN:
        return DaemonLine(False, "not running (never ran on this journal)", None)
    return DaemonLine(False, f"not running (last seen {when(seen)})", seen)


def rule_states(
    report: StatusReport, saved: Mapping[str, EngineState], rules: Mapping[str, Sequence[RuleView]]
) -> list[dict[str, object]]:
    """Per account × scope × rule: inactive, pending or firing (rules loaded now, or that
    have a saved state)."""
    out: list[dict[str, object]] = []
    for acc in report.accounts:
        state = saved.get(acc.name, EngineState())
        for row in acc.scopes:
            names = {r.name for r in rules.get(acc.name, ()) if r.scope.matches(row.scope)}
            names |= {r for (a, s, r), _ in state.items() if (a, s) == (acc.name, row.scope)}
            for rule in sorted(names):
                status = state.get(acc.name, row.scope, rule).status.value
                if rule in row.firing:
                    status = "firing"
                elif rule in row.pending:
                    status = "pending"
                out.append(
                    {"account": acc.name, "scope": row.scope, "rule": rule, "status": status}
                )
    return out


class JournalReader:
    """Reads the journal at ``path`` for the dashboard; remembers when the daemon was last
    seen so that an unreadable journal still says when."""

    def __init__(self, path: Path | str, *, stale_after: float = DEFAULT_STALE_AFTER) -> None:
        self.path = path
        self.stale_after = stale_after
        self.last_seen: float | None = None
        #: Reads that failed (the page said "not running").
        self.failures = 0

    async def _open(self) -> Journal | None:
        """A read-only connection (it can neither create, change nor lock the journal for
        writing); None when there is no journal (never created here: the daemon's job)."""
        if isinstance(self.path, str):  # the cluster's PostgreSQL
            return await Journal.open_target(self.path)
        if not self.path.is_file():
            return None
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        db = await aiosqlite.connect(uri, uri=True)
        ready = False
        try:
            await db.execute("PRAGMA busy_timeout=1000")
            await db.execute("SELECT 1 FROM meta LIMIT 1")  # a readable riskd journal?
            ready = True
        finally:
            if not ready:
                await db.close()
        return Journal(SqliteBackend(db, self.path))

    async def report(
        self,
        now: float,
        *,
        rules: RulesProvider | None = None,
        prices: PricesProvider | None = None,
    ) -> tuple[DaemonLine, dict[str, object] | None]:
        """The daemon line and the state document (None when the journal cannot be read)."""
        try:
            journal = await self._open()
            if journal is None:
                return daemon_line(None, self.last_seen), None
            try:
                report = await load_report(journal, now, stale_after=self.stale_after)
                saved = {a.name: await _saved_state(journal, a.name) for a in report.accounts}
            finally:
                await journal.close()
        except READ_ERRORS as exc:
            self.failures += 1
            log.warning("dashboard: cannot read the journal %s: %s", self.path, exc)
            return daemon_line(None, self.last_seen), None
        line = daemon_line(report, self.last_seen)
        if line.last_seen is not None:
            self.last_seen = line.last_seen
        doc = report.to_json()
        doc["rules"] = rule_states(report, saved, rules() if rules is not None else {})
        doc["index_prices"] = (
            {} if prices is None else {c: str(p) for c, p in sorted(prices().items())}
        )
        doc["daemon_line"] = line.to_json()
        return line, doc

    async def events(
        self,
        *,
        since: float | None,
        kinds: Sequence[str],
        account: str | None,
        limit: int,
    ) -> list[dict[str, object]] | None:
        """Journal events, oldest first, filtered; None when the journal cannot be read."""
        try:
            journal = await self._open()
            if journal is None:
                return None
            try:
                # The account filter runs here: fetch more so that `limit` rows can remain.
                fetch = limit if account is None else limit * 20
                events = await journal.events(since=since, kinds=kinds, limit=fetch)
            finally:
                await journal.close()
        except READ_ERRORS as exc:
            self.failures += 1
            log.warning("dashboard: cannot read the journal %s: %s", self.path, exc)
            return None
        if account is not None:
            events = [e for e in events if e.account == account][-limit:]
        return [
            {
                "seq": e.seq,
                "at": e.at,
                "kind": e.kind,
                "account": e.account,
                "scope": e.scope,
                "rule": e.rule,
                "intent_id": e.intent_id,
                "summary": e.summary,
            }
            for e in events
        ]


async def _saved_state(journal: Journal, account: str) -> EngineState:
    text = await journal.load_rule_state(account)
    if text is None:
        return EngineState()
    try:
        return EngineState.from_json(text)
    except StateError as exc:
        log.warning("dashboard: rule state of %s unreadable: %s", account, exc)
        return EngineState()


#: The kinds the journal filter offers.
EVENT_KINDS = tuple(k.value for k in EventKind)

__all__ = [
    "EVENT_KINDS",
    "DaemonLine",
    "JournalReader",
    "PricesProvider",
    "RuleView",
    "RulesProvider",
    "daemon_line",
    "rule_states",
    "when",
]
