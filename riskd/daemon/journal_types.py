"""The journal's value types: intent statuses, intents and their records, events, pause
state; and :func:`dumps`, the JSON every journal text goes through (Decimals as strings,
secrets redacted). :mod:`riskd.daemon.journal` stores them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from riskd.daemon.events import EventKind
from riskd.redact import redact


class IntentStatus(StrEnum):
    """Where an intent stands: open (``pending``, ``accepted``) or final."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_EXECUTED = "not_executed"
    DRY_RUN = "dry_run"
    UNKNOWN = "unknown"


PENDING: Final = IntentStatus.PENDING
ACCEPTED: Final = IntentStatus.ACCEPTED
SUCCEEDED: Final = IntentStatus.SUCCEEDED
FAILED: Final = IntentStatus.FAILED
NOT_EXECUTED: Final = IntentStatus.NOT_EXECUTED
DRY_RUN: Final = IntentStatus.DRY_RUN
UNKNOWN: Final = IntentStatus.UNKNOWN
OPEN_STATUSES: Final = (PENDING, ACCEPTED)
#: Statuses whose amount counts toward the daily caps (the money may have moved).
SPENDING_STATUSES: Final = (PENDING, ACCEPTED, SUCCEEDED, UNKNOWN)

ALL_ACCOUNTS = "*"
#: Events still journaled while the disk is full (with intents, outcomes, rule state and
#: pause control); the rest are skipped until space is back.
ESSENTIAL_EVENTS: Final = frozenset(
    {
        EventKind.LIFECYCLE,
        EventKind.SETTLED,
        EventKind.FOLLOWING,
        EventKind.UNCERTAIN,
        EventKind.RELOAD,
        EventKind.RELOAD_FAILED,
        EventKind.DISK,
    }
)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def dumps(value: object) -> str:
    """JSON with Decimals as strings, passed through redact."""
    return redact(json.dumps(value, default=_default, sort_keys=True, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class Intent:
    """A protective action about to be sent (or, in dry-run, described)."""

    intent_id: str
    at: float
    account: str
    scope: str
    kind: str
    rule: str
    action_id: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    coin: str | None = None
    amount: Decimal | None = None
    value_usdt: Decimal | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class IntentRecord:
    intent: Intent
    status: str
    ref: str | None
    outcome: Mapping[str, Any]
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    at: float
    kind: str
    account: str | None
    scope: str | None
    rule: str | None
    intent_id: str | None
    summary: str
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "account": self.account,
            "scope": self.scope,
            "rule": self.rule,
            "intent_id": self.intent_id,
            "summary": self.summary,
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class PauseState:
    global_paused: bool
    accounts: frozenset[str]

    def paused(self, account: str) -> bool:
        return self.global_paused or account in self.accounts


class JournalOpenError(Exception):
    """The journal database cannot be opened or created; ``cause`` says why (an OSError or an
    sqlite3 error with ``sqlite_errorname``; for PostgreSQL an asyncpg error, an OSError or a
    TimeoutError). ``path`` is the file, or for PostgreSQL the URL without user or password
    (``postgresql://host:port/dbname``); ``problem`` is the one line saying what is wrong.
    :mod:`riskd.preflight` turns it into one line."""

    def __init__(
        self, path: Path | str, cause: BaseException, *, problem: str | None = None
    ) -> None:
        self.problem = redact(problem if problem is not None else str(cause))
        super().__init__(f"journal {path}: {self.problem}")
        self.path = path
        self.where = str(path)
        self.cause = cause
        #: Whether the journal is a database server (PostgreSQL), not a file.
        self.server = isinstance(path, str)


class JournalUnavailable(Exception):
    """The journal's database cannot be reached (PostgreSQL lost at run time): nothing was
    written, so no action may be sent. The message names the database, never a password."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"journal {where} unreachable: {detail}")
        self.where = where
        self.detail = detail


class Fenced(Exception):
    """The intent was not written: this node no longer holds ``account``'s lease under the
    token it showed (another node owns the account now). The action must not be sent."""

    def __init__(self, account: str, node: str, token: int | None) -> None:
        shown = "no lease" if token is None else f"token {token}"
        super().__init__(f"account {account}: node {node} no longer owns it ({shown}); not sent")
        self.account = account
        self.node = node
        self.token = token
