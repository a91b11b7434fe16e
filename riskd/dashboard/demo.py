"""``riskd demo --dashboard``: the dashboard over a demo's in-process daemon and simulator."""

from __future__ import annotations

import logging

from riskd.clock import Clock
from riskd.dashboard.app import make_dashboard
from riskd.dashboard.daemon_view import DaemonLike, providers_for
from riskd.dashboard.settings import DashboardSettings
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.server import DEFAULT_HOST, DEFAULT_PORT, OpsServer, start_ops_server

log = logging.getLogger(__name__)

#: A demo's clock may run faster than the wall clock: never call its daemon "not responding".
DEMO_STALE_AFTER = 365 * 86400.0


async def serve_for_demo(
    daemon: DaemonLike,
    *,
    clock: Clock,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    settings: DashboardSettings | None = None,
    metrics: Metrics | None = None,
) -> OpsServer:
    """Serve the dashboard of ``daemon`` (read-only) on ``host:port`` (``port=0``: a free
    one) in the running loop; ``await server.stop()`` before the loop ends. The URL is
    ``server.url + "/dashboard/"``. Raises :class:`riskd.ops.server.OpsServerError` when the
    address cannot be used."""
    settings = settings or DashboardSettings(refresh=1.0)
    providers = providers_for(
        daemon,
        clock=clock,
        settings=settings,
        write_token=None,
        stale_after=DEMO_STALE_AFTER,
        bound_host=host,
    )
    server = await start_ops_server(
        metrics or Metrics(),
        HealthState(),
        host,
        port,
        clock=clock,
        dashboard=make_dashboard(providers),
    )
    log.info("dashboard on %s/dashboard/", server.url)
    return server


__all__ = ["DEMO_STALE_AFTER", "serve_for_demo"]
