"""The ops server mounts the dashboard under /dashboard; ``riskd run`` builds it from the
settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from riskd.clock import ManualClock
from riskd.daemon.prices import NoPrices
from riskd.daemon.service import create_service
from riskd.dashboard.app import DashboardProviders, make_dashboard
from riskd.dashboard.settings import DashboardSettings, DashboardSetupError
from riskd.dashboard.wiring import daemon_dashboard
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.server import OpsApp

from ..daemon.harness import make_settings, make_sim
from .conftest import TOKEN, Dash


async def test_ops_app_routes_dashboard_paths_only(tmp_path: Path) -> None:
    """/dashboard/… goes to the dashboard, /metrics and /healthz stay; without a dashboard
    /dashboard is 404."""
    dash = make_dashboard(DashboardProviders(journal_path=tmp_path / "j.sqlite3"))
    for mounted, status in ((dash, 200), (None, 404)):
        app = OpsApp(Metrics(), HealthState(), dashboard=mounted)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            assert (await c.get("/dashboard/api/state")).status_code == status
            assert (await c.get("/dashboard")).status_code == status
            assert (await c.get("/dashboardx")).status_code == 404
            assert (await c.get("/metrics")).status_code == 200


@dataclass(frozen=True)
class _Metrics:
    enabled: bool
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class _Settings:
    metrics: _Metrics
    dashboard: DashboardSettings


async def test_run_builds_it_from_the_settings(dash: Dash, tmp_path: Path) -> None:
    """Off with the ops endpoint or with dashboard.enabled false; a token makes it writable;
    a short token is a setup error."""
    daemon, clock = dash.world.daemon, dash.world.clock

    def build(enabled: bool, settings: DashboardSettings) -> object:
        return daemon_dashboard(
            _Settings(_Metrics(enabled), settings), daemon, clock=clock, stale_after=30, env={}
        )

    assert build(False, DashboardSettings()) is None
    assert build(True, DashboardSettings(enabled=False)) is None
    app = build(True, DashboardSettings(write_token=TOKEN))
    assert app is not None and app.p.write_token == TOKEN  # type: ignore[attr-defined]
    assert app.p.journal_path == dash.world.settings.journal_path  # type: ignore[attr-defined]
    read_only = build(True, DashboardSettings())
    assert read_only.p.write_token is None  # type: ignore[attr-defined]
    with pytest.raises(DashboardSetupError):
        build(True, DashboardSettings(write_token="short-token"))


async def test_riskd_run_serves_it_on_the_ops_port(tmp_path: Path) -> None:
    """The service `riskd run` builds mounts the dashboard on its ops endpoint (a real
    loopback port), read-only by default."""
    sim = make_sim(tmp_path)
    sim.add_account("alice")
    settings = make_settings(
        tmp_path, sim, live=False, top={"metrics": {"enabled": True, "port": 0}}
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim"
    ) as http:
        service = await create_service(
            settings, clock=ManualClock(), http=http, prices=NoPrices(), env={}
        )
        try:
            assert service.dashboard is not None
            await service._start()
            assert service.ops is not None
            async with httpx.AsyncClient(base_url=service.ops.url) as web:
                state = (await web.get("/dashboard/api/state")).json()
                assert state["writes"] is False
                page = await web.get("/dashboard/")
                assert page.status_code == 200 and "riskd dashboard" in page.text
                assert (await web.get("/healthz")).status_code in (200, 503)
        finally:
            if service.ops is not None:
                await service.ops.stop()
            await service.built.aclose()
