"""Providers read from a running :class:`~riskd.daemon.app.Daemon` (in the same process):
its rule sets, the index prices of its latest snapshots, its account names. Known only
through the narrow protocols below, so the dashboard never imports the daemon's app."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from riskd.clock import Clock
from riskd.daemon.events import EventBroker
from riskd.dashboard.app import DashboardProviders
from riskd.dashboard.settings import DashboardSettings
from riskd.dashboard.state import RuleView
from riskd.risk.snapshot import ScopeSnapshot


class _Rules(Protocol):
    @property
    def rules(self) -> Sequence[RuleView]: ...


class _Poller(Protocol):
    @property
    def snapshots(self) -> Mapping[str, ScopeSnapshot]: ...


class _Account(Protocol):
    @property
    def rules(self) -> _Rules: ...
    @property
    def poller(self) -> _Poller: ...


class _Settings(Protocol):
    @property
    def journal_target(self) -> Path | str: ...


class DaemonLike(Protocol):
    """What the providers read of :class:`riskd.daemon.app.Daemon`."""

    @property
    def accounts(self) -> Mapping[str, _Account]: ...
    @property
    def events(self) -> EventBroker: ...
    @property
    def settings(self) -> _Settings: ...


def daemon_rules(daemon: DaemonLike) -> Mapping[str, Sequence[RuleView]]:
    """account → its loaded rules (follows reloads: read at each request)."""
    return {name: tuple(acc.rules.rules) for name, acc in daemon.accounts.items()}


def daemon_prices(daemon: DaemonLike) -> Mapping[str, Decimal]:
    """coin → the index price (USDT) of the newest snapshot that has one."""
    newest: dict[str, tuple[float, Decimal]] = {}
    for acc in daemon.accounts.values():
        for snap in acc.poller.snapshots.values():
            for coin, price in snap.prices_usdt.items():
                seen = newest.get(coin)
                if seen is None or snap.observed_at >= seen[0]:
                    newest[coin] = (snap.observed_at, price)
    return {coin: price for coin, (_, price) in newest.items() if coin != "USDT"}


def daemon_accounts(daemon: DaemonLike) -> Collection[str]:
    return tuple(daemon.accounts)


def providers_for(
    daemon: DaemonLike,
    *,
    clock: Clock,
    settings: DashboardSettings,
    write_token: str | None,
    stale_after: float,
    bound_host: str,
) -> DashboardProviders:
    """Everything the dashboard reads, from the running daemon (``daemon.settings`` gives
    the journal's path; the rest is read live at each request)."""
    return DashboardProviders(
        journal_path=daemon.settings.journal_target,
        clock=clock,
        settings=settings,
        broker=daemon.events,
        rules=lambda: daemon_rules(daemon),
        prices=lambda: daemon_prices(daemon),
        accounts=lambda: daemon_accounts(daemon),
        write_token=write_token,
        stale_after=stale_after,
        bound_host=bound_host,
    )


__all__ = ["DaemonLike", "daemon_accounts", "daemon_prices", "daemon_rules", "providers_for"]
