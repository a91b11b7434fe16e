"""``riskd status``: the rows the running daemon writes each cycle, and the report read back.

The daemon calls :func:`status_rows` once per account and cycle: per scope the risk rate
(with the exchange's reported figure, riskd's own figure and how the reported one was read —
:mod:`riskd.risk.reading`), warning and liquidation ratios, the price move that liquidates,
recent risk samples (the trend), data age, stale data and the last poll error, firing and
pending rules, the last action, live or dry-run; for a dry-run scope with a shadow ledger
the real figures, and the shadow's rate beside them (``shadow_risk_rate``). An account
stopped because it is a Unified Trading Account has one row, scope ``account``, saying so.
The rows are :class:`~riskd.daemon.status_model.ScopeRow` values, stored as JSON in the journal.

``riskd status`` reads them back with :func:`load_report` (with the daemon's liveness, recent
actions, liquidations, budget and notifier) and shows the
:class:`~riskd.daemon.status_report.StatusReport` (:mod:`riskd.daemon.status_render`: risk
first, then recent actions, then the budget; ``report.to_json()`` for ``--json``).

This module knows the daemon only through the narrow protocols below (never
:mod:`riskd.daemon.app`), so the two import in one direction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from riskd.amounts import fmt8, to_wire
from riskd.daemon.journal import IntentRecord, Journal
from riskd.daemon.shadow_exchange import shadow_of
from riskd.daemon.status_model import ACCOUNT_ROW, LastAction, ScopeRow
from riskd.daemon.status_report import (
    AccountStatus,
    DaemonInfo,
    DaemonState,
    Liquidation,
    NotifierInfo,
    RecentAction,
    StatusReport,
    budget_key,
)
from riskd.risk import derived
from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules.state import EngineState, Status

if TYPE_CHECKING:
    from riskd.daemon.push import PushSources

#: The daemon counts as not responding after this long without a completed cycle (the
#: health endpoint's default limit, docs/operations.md#metrics-and-health).
DEFAULT_STALE_AFTER = 30.0
#: What ``riskd status`` looks back on: recent actions and liquidations.
RECENT_S = 86_400.0
RECENT_ACTIONS = 20


# --- what the daemon gives ------------------------------------------------------------------
class PollerView(Protocol):
    """An account's poller, as far as the status rows read it."""

    @property
    def snapshots(self) -> Mapping[str, ScopeSnapshot]: ...
    @property
    def errors(self) -> Mapping[str, str]: ...
    @property
    def next_due(self) -> Mapping[str, float]: ...
    @property
    def stopped(self) -> str | None: ...


class AccountView(Protocol):
    """One account of the running daemon (:class:`riskd.daemon.app.AccountRuntime`)."""

    @property
    def name(self) -> str: ...
    @property
    def poller(self) -> PollerView: ...
    @property
    def state(self) -> EngineState: ...
    @property
    def stale(self) -> Collection[str]: ...
    @property
    def dry_run(self) -> bool: ...


class StatusJournal(Protocol):
    """The journal reads the rows need: the last intent and the previous rows (trend)."""

    async def last_intent(self, account: str, scope: str) -> IntentRecord | None: ...
    async def read_status(self) -> list[tuple[str, str, float, dict[str, Any]]]: ...


class DaemonView(Protocol):
    """The running daemon (:class:`riskd.daemon.app.Daemon`)."""

    @property
    def journal(self) -> StatusJournal: ...

    #: When each push source last spoke for an account (None: the push path is off).
    push_sources: Callable[[str], PushSources] | None


async def status_rows(
    daemon: DaemonView, acc: AccountView, now: float
) -> list[tuple[str, str, Mapping[str, object]]]:
    """The status rows of ``acc`` at ``now``, as (account, scope, JSON record)."""
    previous = {
        scope: ScopeRow.from_record(account, scope, data).risk_samples
        for account, scope, _, data in await daemon.journal.read_status()
        if account == acc.name
    }
    rows: list[tuple[str, str, Mapping[str, object]]] = []
    poller = acc.poller
    shadow = shadow_of(acc)
    sources = daemon.push_sources(acc.name) if daemon.push_sources is not None else None
    if poller.stopped is not None:
        stopped = ScopeRow(acc.name, ACCOUNT_ROW, live=not acc.dry_run, stopped=poller.stopped)
        rows.append((acc.name, ACCOUNT_ROW, stopped.to_record()))
    for scope in sorted(set(poller.snapshots) | set(poller.errors)):
        snap = poller.snapshots.get(scope)
        states = [
            (r, e.status) for (a, s, r), e in acc.state.items() if (a, s) == (acc.name, scope)
        ]
        last = await daemon.journal.last_intent(acc.name, scope)
        row = ScopeRow(
            account=acc.name,
            scope=scope,
            live=not acc.dry_run,
            stale=scope in acc.stale,
            error=poller.errors.get(scope),
            firing=tuple(sorted(r for r, st in states if st == Status.FIRING)),
            pending=tuple(sorted(r for r, st in states if st == Status.PENDING)),
            next_poll_at=poller.next_due.get(scope),
            last_action=None if last is None else _last_action(last),
        )
        # A poll error keeps the samples so far: the trend picks up again with the data.
        row = replace(row, risk_samples=previous.get(scope, ()))
        if sources is not None:
            row = replace(
                row,
                pushes=True,
                price_push_at=sources.price_push_at,
                account_push_at=sources.account_push_at,
            )
        if snap is not None:
            real = shadow.real_snapshot(snap) if shadow is not None else snap
            row = _with_snapshot(row, real, now)
            if real is not snap:
                row = replace(row, shadow_risk_rate=snap.risk_rate)
        rows.append((acc.name, scope, row.to_record()))
    return rows


def _with_snapshot(row: ScopeRow, snap: ScopeSnapshot, now: float) -> ScopeRow:
    return replace(
        row,
        risk_rate=snap.risk_rate,
        warning_risk_ratio=snap.warning_risk_ratio,
        liquidation_risk_ratio=snap.liquidation_risk_ratio,
        reported_risk_rate=_eight(snap.reported_risk_rate),
        local_risk_rate=_eight(snap.local_risk_rate),
        risk_reading=snap.risk_reading,
        reading_checked=snap.reading_checked,
        price_move_to_liquidation=_price_move(snap),
        observed_at=snap.observed_at,
        data_age_s=round(snap.age(now), 1),
        adjusted_at=snap.adjusted_at,
    ).with_sample(row.risk_samples)


def _last_action(last: IntentRecord) -> LastAction:
    i = last.intent
    given = {"coin": i.coin, "amount": None if i.amount is None else to_wire(i.amount)}
    params = MappingProxyType(
        {k: v for k, v in given.items() if v is not None}
        | {str(k): str(v) for k, v in i.params.items()}
    )
    return LastAction(i.at, i.kind, i.rule, str(last.status), i.dry_run, params)


def _eight(value: Decimal | None) -> Decimal | None:
    """8 decimals, like the exchange's figures (riskd's own is computed to 28 digits)."""
    if value is None or not value.is_finite():
        return value
    return Decimal(fmt8(value))


def _price_move(snap: ScopeSnapshot) -> Decimal | None:
    """The signed price move that liquidates, to 4 decimals; None when unknown or none does."""
    try:
        move = derived.distance_to_liquidation(snap)
    except (derived.MissingData, ArithmeticError):
        return None
    return move.quantize(Decimal("1e-4")) if move.is_finite() else None


# --- what the CLI reads ---------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def daemon_info(
    meta: object,
    running: object,
    now: float,
    *,
    alive: Callable[[int], bool] = pid_alive,
    stale_after: float = DEFAULT_STALE_AFTER,
) -> DaemonInfo:
    """What the journal's ``daemon`` and ``running`` meta say about the daemon at ``now``."""
    if not isinstance(meta, dict):
        return DaemonInfo(DaemonState.NEVER_RAN)

    def number(key: str) -> float | None:
        v = meta.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    raw_pid = meta.get("pid")
    pid = raw_pid if isinstance(raw_pid, int) and not isinstance(raw_pid, bool) else None
    started, last = number("started_at"), number("last_cycle_at")
    base = DaemonInfo(DaemonState.RUNNING, pid, started, last)
    if running is False:
        return _info(base, DaemonState.NOT_RUNNING, clean_stop=True)
    if pid is None or not alive(pid):
        return _info(base, DaemonState.NOT_RUNNING, clean_stop=False)
    seen = last if last is not None else started
    if seen is None or now - seen > stale_after:
        return _info(base, DaemonState.NOT_RESPONDING)
    return base


def _info(base: DaemonInfo, state: DaemonState, clean_stop: bool | None = None) -> DaemonInfo:
    return DaemonInfo(state, base.pid, base.started_at, base.last_cycle_at, clean_stop)


def build_report(
    rows: list[tuple[str, str, float, dict[str, Any]]],
    daemon: DaemonInfo,
    meta: object,
    paused: Mapping[str, bool],
    now: float,
    *,
    intents: Sequence[IntentRecord] = (),
    liquidations: Sequence[Liquidation] = (),
) -> StatusReport:
    """The report from what the journal holds (all read by :func:`load_report`)."""
    by_account: dict[str, list[ScopeRow]] = {}
    for account, scope, at, data in rows:
        by_account.setdefault(account, []).append(ScopeRow.from_record(account, scope, data, at))
    accounts = []
    for name, scope_rows in by_account.items():
        stopped = next((r.stopped for r in scope_rows if r.stopped is not None), None)
        accounts.append(
            AccountStatus(
                name=name,
                live=any(r.live for r in scope_rows),
                paused=bool(paused.get(name)),
                scopes=tuple(r for r in scope_rows if r.stopped is None),
                stopped=stopped,
            )
        )
    extra = meta if isinstance(meta, dict) else {}
    budget = tuple(k for k in (budget_key(b) for b in extra.get("budget") or ()) if k is not None)
    recent = tuple(
        RecentAction(
            at=r.intent.at,
            account=r.intent.account,
            scope=r.intent.scope,
            kind=r.intent.kind,
            rule=r.intent.rule,
            status=str(r.status),
            dry_run=r.intent.dry_run,
            coin=r.intent.coin,
            amount=r.intent.amount,
            value_usdt=r.intent.value_usdt,
            finished_at=r.finished_at,
        )
        for r in intents[-RECENT_ACTIONS:]
    )
    return StatusReport(
        generated_at=now,
        daemon=daemon,
        paused_all=bool(paused.get("*")),
        accounts=tuple(accounts),
        recent_actions=recent,
        liquidations=tuple(liquidations),
        budget=budget,
        notifier=NotifierInfo.from_json(extra.get("notifier")),
    )


async def load_report(
    journal: Journal,
    now: float,
    *,
    alive: Callable[[int], bool] = pid_alive,
    stale_after: float = DEFAULT_STALE_AFTER,
) -> StatusReport:
    """Everything ``riskd status`` shows, read from the journal at ``now``."""
    meta = await journal.get_meta("daemon")
    running = await journal.get_meta("running")
    pause = await journal.pause_state()
    paused = {"*": pause.global_paused, **{a: True for a in pause.accounts}}
    events = await journal.events(since=now - RECENT_S, kinds=("liquidated",), limit=10)
    liquidations = [Liquidation(e.at, e.account, e.scope, e.summary, e.data) for e in events]
    return build_report(
        await journal.read_status(),
        daemon_info(meta, running, now, alive=alive, stale_after=stale_after),
        meta,
        paused,
        now,
        intents=await journal.intents(since=now - RECENT_S),
        liquidations=liquidations,
    )


def render_status(
    rows: list[tuple[str, str, float, dict[str, Any]]],
    meta: object,
    paused: Mapping[str, bool],
    now: float,
) -> str:
    """Text of raw journal rows (the former entry point; :func:`load_report` and
    :mod:`riskd.daemon.status_render` are the current one)."""
    from riskd.daemon.status_render import render_text

    info = daemon_info(meta, None, now)
    return render_text(build_report(rows, info, meta, paused, now))


__all__ = [
    "AccountView",
    "DaemonView",
    "StatusJournal",
    "build_report",
    "daemon_info",
    "load_report",
    "pid_alive",
    "render_status",
    "status_rows",
]
