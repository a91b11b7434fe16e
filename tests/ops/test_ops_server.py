"""/metrics and /healthz: the ASGI app in-process, and once over a real 127.0.0.1 socket."""

from __future__ import annotations

import signal
import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from riskd.clock import ManualClock
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.server import OpsApp, OpsServerError, start_ops_server


def _client(app: OpsApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_metrics_endpoint_serves_the_registry() -> None:
    """GET /metrics answers the Prometheus text format of the daemon's registry."""
    metrics = Metrics(process_collector=False)
    metrics.set_risk_rate("main", "cross", 0.25)
    async with _client(OpsApp(metrics, HealthState(), clock=ManualClock())) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "riskd_up 1.0" in response.text
    assert 'riskd_risk_rate{account="main",scope="cross"} 0.25' in response.text


async def test_metrics_endpoint_speaks_openmetrics_when_asked() -> None:
    """A scraper asking for OpenMetrics gets it (content negotiation of prometheus_client)."""
    app = OpsApp(Metrics(process_collector=False), HealthState(), clock=ManualClock())
    async with _client(app) as client:
        response = await client.get(
            "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_healthz_follows_the_scheduler_ticks() -> None:
    """/healthz is 503 before the first tick, 200 after one, 503 once it is too old."""
    clock = ManualClock()
    health = HealthState()
    app = OpsApp(Metrics(process_collector=False), health, clock=clock, max_tick_age=30)
    async with _client(app) as client:
        before = await client.get("/healthz")
        health.tick(clock.now())
        clock.advance(29)
        fresh = await client.get("/healthz")
        clock.advance(2)
        stale = await client.get("/healthz")

    assert before.status_code == 503
    assert before.json()["reason"] == "the scheduler has not ticked yet"
    assert fresh.status_code == 200
    assert fresh.json() == {
        "status": "ok",
        "healthy": True,
        "reason": "the scheduler ticks",
        "last_tick": 1_700_000_000.0,
        "age_seconds": 29.0,
        "max_age_seconds": 30,
        "ticks": 1,
    }
    assert stale.status_code == 503
    assert stale.json()["status"] == "unhealthy"
    assert "31.0s ago" in stale.json()["reason"]


async def test_unknown_paths_and_methods() -> None:
    """Other paths are 404, other methods 405 with Allow, / is a short index."""
    app = OpsApp(Metrics(process_collector=False), HealthState(), clock=ManualClock())
    async with _client(app) as client:
        missing = await client.get("/admin")
        post = await client.post("/healthz")
        index = await client.get("/")
        head = await client.head("/healthz")
    assert missing.status_code == 404
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    assert "/metrics" in index.text
    assert head.status_code == 503


def test_bad_max_tick_age_is_refused() -> None:
    """A non-positive health limit is an error naming the setting."""
    with pytest.raises(ValueError, match="max_tick_age"):
        OpsApp(Metrics(process_collector=False), HealthState(), max_tick_age=0)
    with pytest.raises(ValueError, match="max_age"):
        HealthState().check(0.0, -1)


async def test_real_socket_serves_and_stops() -> None:
    """start_ops_server listens on 127.0.0.1, answers both endpoints, and stop() closes it."""
    clock = ManualClock()
    health = HealthState()
    metrics = Metrics(process_collector=False)
    sigterm_before = signal.getsignal(signal.SIGTERM)
    server = await start_ops_server(metrics, health, "127.0.0.1", 0, clock=clock)
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert signal.getsignal(signal.SIGTERM) is sigterm_before  # uvicorn left signals alone
        health.tick(clock.now())
        metrics.tick_ok(clock.now())
        async with httpx.AsyncClient(base_url=server.url) as client:
            healthz = await client.get("/healthz")
            scraped = await client.get("/metrics")
        assert healthz.status_code == 200
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(scraped.text)
            for sample in family.samples
        }
        assert samples["riskd_last_tick_timestamp_seconds"] == clock.now()
    finally:
        await server.stop()
    assert not server.running
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0


async def test_port_in_use_is_a_clear_error() -> None:
    """A taken port raises OpsServerError naming host and port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OpsServerError, match=f"127.0.0.1:{port}"):
            await start_ops_server(Metrics(process_collector=False), HealthState(), port=port)
