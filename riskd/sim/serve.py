"""Serving the simulator over real HTTP with uvicorn (``riskd sim serve``, integration tests).

Bound to 127.0.0.1 unless told otherwise: the simulator's control surface (``/_sim/``) has no
authentication and must not be reachable from other machines.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from riskd.sim.simulator import Simulator

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
WS_IMPL = "websockets-sansio"


def make_config(sim: Simulator, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(
        sim.app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        ws=WS_IMPL,
        access_log=False,
        log_config=None,
    )


def run_server(sim: Simulator, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    uvicorn.Server(make_config(sim, host, port, log_level="info")).run()


@dataclass
class RunningServer:
    """A simulator served from a background thread."""

    url: str
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)


@contextmanager
def serve_in_thread(
    sim: Simulator, host: str = DEFAULT_HOST, port: int = 0, start_timeout_s: float = 10.0
) -> Iterator[RunningServer]:
    """Serve ``sim`` on ``host:port`` (0 = a free port) in a thread for the ``with`` block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(make_config(sim, host, actual_port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="riskd-sim", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"simulator server did not start on {host}:{actual_port}")
        time.sleep(0.01)
    running = RunningServer(f"http://{host}:{actual_port}", host, actual_port, server, thread)
    try:
        yield running
    finally:
        running.stop()
        sock.close()
