"""The local dashboard: risk gauges, a live timeline, the journal, rule states and the
request budget in a browser, served by the ops server under ``/dashboard``
(docs/dashboard.md). Read-only unless a write token is configured (pause and resume)."""

from riskd.dashboard.app import DashboardApp, DashboardProviders, make_dashboard
from riskd.dashboard.settings import DashboardSettings, DashboardSetupError

__all__ = [
    "DashboardApp",
    "DashboardProviders",
    "DashboardSettings",
    "DashboardSetupError",
    "make_dashboard",
]
