"""The dashboard of ``riskd run``: built once at start from the settings and the daemon."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from riskd.clock import Clock
from riskd.dashboard.app import DashboardApp, make_dashboard
from riskd.dashboard.daemon_view import DaemonLike, providers_for
from riskd.dashboard.settings import DashboardSettings


class _Metrics(Protocol):
    @property
    def enabled(self) -> bool: ...
    @property
    def host(self) -> str: ...


class SettingsLike(Protocol):
    """What is read of :class:`riskd.settings.Settings` (its ``dashboard`` table, if any)."""

    @property
    def metrics(self) -> _Metrics: ...


def dashboard_settings(settings: SettingsLike) -> DashboardSettings:
    """``settings.dashboard``, or the defaults while Settings has no such table."""
    found = getattr(settings, "dashboard", None)
    return found if isinstance(found, DashboardSettings) else DashboardSettings()


def daemon_dashboard(
    settings: SettingsLike,
    daemon: DaemonLike,
    *,
    clock: Clock,
    stale_after: float,
    env: Mapping[str, str] | None = None,
) -> DashboardApp | None:
    """The dashboard for the ops server, or None (ops server or dashboard off). Raises
    :class:`~riskd.dashboard.settings.DashboardSetupError` for an unusable write token."""
    dash = dashboard_settings(settings)
    if not settings.metrics.enabled or not dash.enabled:
        return None
    token = dash.resolve_token(os.environ if env is None else env)
    return make_dashboard(
        providers_for(
            daemon,
            clock=clock,
            settings=dash,
            write_token=token,
            stale_after=stale_after,
            bound_host=settings.metrics.host,
        )
    )


__all__ = ["SettingsLike", "daemon_dashboard", "dashboard_settings"]
