"""The operations endpoint: ``/metrics`` and ``/healthz`` over HTTP, in the daemon's loop.

A tiny ASGI app (:class:`OpsApp`) run by uvicorn as a task of the daemon's own asyncio loop:

- ``GET /metrics`` — Prometheus text format (or OpenMetrics / gzip when the scraper asks),
  served by prometheus_client's ASGI app from the daemon's own registry;
- ``GET /healthz`` — 200 while the scheduler ticked within ``max_tick_age`` seconds, 503
  otherwise; a JSON body says why.

It listens on 127.0.0.1:9464 by default. uvicorn's own signal handling is switched off: the
daemon owns SIGTERM, SIGINT and SIGHUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator

import uvicorn
from prometheus_client import make_asgi_app

from riskd.clock import Clock, WallClock
from riskd.ops.asgi import NO_STORE, ASGIApp, Receive, Scope, Send, is_loopback, respond_with
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics

log = logging.getLogger(__name__)

__all__ = [
    "DASHBOARD_PREFIX",
    "DEFAULT_HOST",
    "DEFAULT_MAX_TICK_AGE",
    "DEFAULT_PORT",
    "OpsApp",
    "OpsServer",
    "OpsServerError",
    "start_ops_server",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
#: Default health limit: the watchdog's 30 s (``WatchdogSec=`` in systemd/riskd.service).
DEFAULT_MAX_TICK_AGE = 30.0

_INDEX = b"riskd operations endpoint: /metrics (Prometheus), /healthz (scheduler liveness)\n"
#: Where a dashboard given to :func:`start_ops_server` is mounted (riskd.dashboard).
DASHBOARD_PREFIX = "/dashboard"


class OpsServerError(Exception):
    """The operations endpoint could not start (address in use, bad host…)."""


class OpsApp:
    """ASGI app serving ``/metrics``, ``/healthz`` and a one-line index at ``/``."""

    def __init__(
        self,
        metrics: Metrics,
        health: HealthState,
        *,
        clock: Clock | None = None,
        max_tick_age: float = DEFAULT_MAX_TICK_AGE,
        dashboard: ASGIApp | None = None,
    ) -> None:
        if max_tick_age <= 0:
            raise ValueError(f"max_tick_age must be > 0 seconds, got {max_tick_age}")
        self.metrics = metrics
        self.health = health
        self.clock: Clock = clock if clock is not None else WallClock()
        self.max_tick_age = max_tick_age
        self._metrics_app: ASGIApp = make_asgi_app(metrics.registry)
        #: Everything under ``/dashboard`` goes to it (None: 404 there).
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are not served
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if self.dashboard is not None and (
            path == DASHBOARD_PREFIX or path.startswith(DASHBOARD_PREFIX + "/")
        ):
            await self.dashboard(scope, receive, send)
            return
        if path not in ("/", "/metrics", "/healthz"):
            await respond_with(
                send, 404, b"not found; try /metrics or /healthz\n", headers=NO_STORE
            )
            return
        if method not in ("GET", "HEAD"):
            allow = (*NO_STORE, (b"allow", b"GET, HEAD"))
            await respond_with(send, 405, b"method not allowed\n", headers=allow)
            return
        if path == "/metrics":
            await self._metrics_app(scope, receive, send)
        elif path == "/healthz":
            report = self.health.check(self.clock.now(), self.max_tick_age)
            body = json.dumps(report.as_dict()).encode() + b"\n"
            status = 200 if report.healthy else 503
            await respond_with(send, status, body, b"application/json", NO_STORE)
        else:
            await respond_with(send, 200, _INDEX, headers=NO_STORE)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the daemon handles signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise OpsServerError(f"ops endpoint: cannot resolve host {host!r}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise OpsServerError(f"ops endpoint: cannot listen on {host}:{port}: {reason}") from None
    return sock


class OpsServer:
    """A running operations endpoint; :meth:`stop` it before the loop ends."""

    def __init__(
        self, server: uvicorn.Server, task: asyncio.Task[None], host: str, port: int
    ) -> None:
        self._server = server
        self._task = task
        self.host = host
        self.port = port
        task.add_done_callback(self._on_done)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def stop(self, grace: float = 5.0) -> None:
        """Close the listener and wait (at most ``grace`` s) for open requests to end."""
        if self._task.done():
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            log.warning("ops endpoint did not stop within %ss; cancelled", grace)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("ops endpoint stopped with an error: %r", exc)

    def __repr__(self) -> str:
        return f"OpsServer({self.url}, running={self.running})"


async def start_ops_server(
    metrics: Metrics,
    health: HealthState,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    clock: Clock | None = None,
    max_tick_age: float = DEFAULT_MAX_TICK_AGE,
    dashboard: ASGIApp | None = None,
) -> OpsServer:
    """Listen on ``host:port`` (``port=0`` picks a free port) and serve in the running loop.

    ``dashboard`` (:func:`riskd.dashboard.make_dashboard`) is served under ``/dashboard``.
    Raises :class:`OpsServerError` when the address cannot be used.
    """
    app = OpsApp(metrics, health, clock=clock, max_tick_age=max_tick_age, dashboard=dashboard)
    sock = _bind(host, port)
    bound_port = int(sock.getsockname()[1])
    if not is_loopback(host):
        log.warning(
            "ops endpoint listens on %s, not on a loopback address: /metrics shows account "
            "names and risk rates to anyone who can reach it",
            host,
        )
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        http="h11",
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="riskd-ops-server")
    try:
        while not server.started:
            if task.done():
                sock.close()
                exc = task.exception() if not task.cancelled() else None
                raise OpsServerError(
                    f"ops endpoint on {host}:{bound_port} failed to start: {exc!r}"
                )
            await asyncio.sleep(0.005)
    except asyncio.CancelledError:
        task.cancel()  # the caller gave up (shutdown during start): leave nothing running
        raise
    handle = OpsServer(server, task, host, bound_port)
    log.info("ops endpoint listening on %s (/metrics, /healthz)", handle.url)
    return handle
