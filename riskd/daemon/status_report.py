"""The report ``riskd status`` shows: :class:`StatusReport`, built from the journal.

It gathers the status rows (:class:`~riskd.daemon.status_model.ScopeRow`) per account, the
daemon's liveness (:class:`DaemonInfo`), recent actions, liquidations, the budget and the
notifier. :meth:`StatusReport.to_json` is the documented, stable schema of
``riskd status --json`` (``schema_version`` :data:`~riskd.daemon.status_model.SCHEMA_VERSION`,
docs/operations.md#status-json): amounts and risk figures are decimal strings, times POSIX
seconds, counts JSON numbers — never preformatted text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from riskd.daemon.status_model import SCHEMA_VERSION, ScopeRow


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class DaemonState(StrEnum):
    """Whether the daemon that writes the journal runs."""

    RUNNING = "running"
    #: Its pid is alive but it has completed no cycle for a while (hung, or very slow).
    NOT_RESPONDING = "not_responding"
    #: Stopped cleanly, or its process is gone (a crash: the next start reconciles).
    NOT_RUNNING = "not_running"
    #: The journal holds no daemon facts: ``riskd run`` never ran on it.
    NEVER_RAN = "never_ran"


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """The daemon's facts from the journal's ``meta`` table, and what they mean now."""

    state: DaemonState
    pid: int | None = None
    started_at: float | None = None
    last_cycle_at: float | None = None
    #: False: the journal says it was running but its process is gone (a crash).
    clean_stop: bool | None = None

    def to_json(self, now: float) -> dict[str, object]:
        age = None if self.last_cycle_at is None else round(now - self.last_cycle_at, 1)
        return {
            "state": self.state.value,
            "pid": self.pid,
            "started_at": self.started_at,
            "last_cycle_at": self.last_cycle_at,
            "last_cycle_age_s": age,
            "clean_stop": self.clean_stop,
        }


@dataclass(frozen=True, slots=True)
class BudgetKey:
    """One rate-limit key of the budget at the daemon's last cycle."""

    key: str
    used: int
    capacity: int
    limit: int
    window_s: int
    used_by_polls: int
    poll_capacity: int
    http_429: int
    waits: int
    wait_time_s: float
    exhausted: int
    backoff_remaining_s: float = 0.0

    def line(self) -> str:
        text = (
            f"{self.key}: {self.used}/{self.capacity} of {self.limit}/{self.window_s}s "
            f"(polls {self.used_by_polls}/{self.poll_capacity}), 429s {self.http_429}, "
            f"waits {self.waits} ({self.wait_time_s:.2f}s), exhausted {self.exhausted}"
        )
        if self.backoff_remaining_s > 0:
            text += f", backing off {self.backoff_remaining_s:.1f}s"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "used": self.used,
            "capacity": self.capacity,
            "limit": self.limit,
            "window_s": self.window_s,
            "used_by_polls": self.used_by_polls,
            "poll_capacity": self.poll_capacity,
            "http_429": self.http_429,
            "waits": self.waits,
            "wait_time_s": self.wait_time_s,
            "exhausted": self.exhausted,
            "backoff_remaining_s": self.backoff_remaining_s,
        }


#: :meth:`riskd.budget.status.KeyStatus.line`, as daemons write it into the meta table.
_BUDGET_LINE = re.compile(
    r"(?P<key>\S+): (?P<used>\d+)/(?P<capacity>\d+) of (?P<limit>\d+)/(?P<window_s>\d+)s "
    r"\(polls (?P<used_by_polls>\d+)/(?P<poll_capacity>-?\d+)\), 429s (?P<http_429>\d+), "
    r"waits (?P<waits>\d+) \((?P<wait_time_s>[\d.]+)s\), exhausted (?P<exhausted>\d+)"
    r"(?:, backing off (?P<backoff>[\d.]+)s)?$"
)


def budget_key(item: object) -> BudgetKey | None:
    """A budget key from the meta table: a ``KeyStatus.to_json`` object or its line."""
    if isinstance(item, dict):
        try:
            return BudgetKey(
                key=str(item["key"]),
                used=int(item["used"]),
                capacity=int(item["capacity"]),
                limit=int(item["limit"]),
                window_s=int(item["window_s"]),
                used_by_polls=int(item["used_by_polls"]),
                poll_capacity=int(item["capacity"]) - int(item.get("reserved", 0)),
                http_429=int(item["http_429"]),
                waits=int(item["waits"]),
                wait_time_s=float(item["wait_time_s"]),
                exhausted=int(item["exhausted"]),
                backoff_remaining_s=float(item.get("backoff_remaining_s", 0.0)),
            )
        except (KeyError, TypeError, ValueError):
            return None
    m = _BUDGET_LINE.match(item) if isinstance(item, str) else None
    if m is None:
        return None
    g = m.groupdict()
    ints = {k: int(v) for k, v in g.items() if k not in ("key", "wait_time_s", "backoff") and v}
    return BudgetKey(
        key=g["key"],
        wait_time_s=float(g["wait_time_s"]),
        backoff_remaining_s=float(g["backoff"] or 0.0),
        **ints,
    )


@dataclass(frozen=True, slots=True)
class NotifierInfo:
    """The notifier's health at the daemon's last cycle."""

    healthy: bool
    queued: int
    delivered: int
    failed: int
    dropped: int
    last_error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "healthy": self.healthy,
            "queued": self.queued,
            "delivered": self.delivered,
            "failed": self.failed,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, d: object) -> NotifierInfo | None:
        if not isinstance(d, dict):
            return None

        def count(key: str) -> int:
            v = d.get(key)
            return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0

        err = d.get("last_error")
        return cls(
            healthy=bool(d.get("healthy")),
            queued=count("queued"),
            delivered=count("delivered"),
            failed=count("failed"),
            dropped=count("dropped"),
            last_error=None if err is None else str(err),
        )


@dataclass(frozen=True, slots=True)
class RecentAction:
    """A protective action from the journal's intents (newest last)."""

    at: float
    account: str
    scope: str
    kind: str
    rule: str
    status: str
    dry_run: bool
    coin: str | None = None
    amount: Decimal | None = None
    value_usdt: Decimal | None = None
    finished_at: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "account": self.account,
            "scope": self.scope,
            "kind": self.kind,
            "rule": self.rule,
            "status": self.status,
            "dry_run": self.dry_run,
            "coin": self.coin,
            "amount": _text(self.amount),
            "value_usdt": _text(self.value_usdt),
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A liquidation riskd detected (a ``liquidated`` journal event)."""

    at: float
    account: str | None
    scope: str | None
    summary: str
    data: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "account": self.account,
            "scope": self.scope,
            "summary": self.summary,
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """One account: its mode, pause, and its scopes' rows."""

    name: str
    live: bool
    paused: bool
    scopes: tuple[ScopeRow, ...]
    stopped: str | None = None

    def to_json(self, now: float) -> dict[str, object]:
        return {
            "name": self.name,
            "mode": "live" if self.live else "dry_run",
            "paused": self.paused,
            "stopped": self.stopped,
            "scopes": [s.to_json(now) for s in self.scopes],
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything ``riskd status`` shows, at ``generated_at``."""

    generated_at: float
    daemon: DaemonInfo
    paused_all: bool
    accounts: tuple[AccountStatus, ...]
    recent_actions: tuple[RecentAction, ...] = ()
    liquidations: tuple[Liquidation, ...] = ()
    budget: tuple[BudgetKey, ...] = ()
    notifier: NotifierInfo | None = None

    def to_json(self) -> dict[str, object]:
        """The ``riskd status --json`` document (docs/operations.md#status-json)."""
        now = self.generated_at
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": now,
            "daemon": self.daemon.to_json(now),
            "paused_all": self.paused_all,
            "accounts": [a.to_json(now) for a in self.accounts],
            "recent_actions": [a.to_json() for a in self.recent_actions],
            "liquidations": [x.to_json() for x in self.liquidations],
            "budget": [b.to_json() for b in self.budget],
            "notifier": None if self.notifier is None else self.notifier.to_json(),
        }


__all__ = [
    "AccountStatus",
    "BudgetKey",
    "DaemonInfo",
    "DaemonState",
    "Liquidation",
    "NotifierInfo",
    "RecentAction",
    "StatusReport",
    "budget_key",
]
