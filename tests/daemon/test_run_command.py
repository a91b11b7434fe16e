"""The real `riskd run` against `riskd sim serve`: READY, WATCHDOG, metrics, status, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from riskd.ops.fake_notify import FakeNotifySocket

pytestmark = pytest.mark.slow

RISKD = [sys.executable, "-m", "riskd.cli.main"]
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


class _Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_riskd_run_notifies_systemd_and_serves_metrics(tmp_path: Path) -> None:
    """`riskd run` sends READY=1 and WATCHDOG=1 to NOTIFY_SOCKET, serves /metrics and
    /healthz, announces its start through the notifier, writes status for `riskd status`,
    reloads on SIGHUP and stops cleanly on SIGTERM."""
    sim_port, metrics_port = _free_port(), _free_port()
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "RISKD_API_KEY": "bg_test_key_run",
        "RISKD_API_SECRET": "run-test-secret-value-0123456789",
        "RISKD_API_PASSPHRASE": "run-test-passphrase",
        "RISKD_LOG_FORMAT": "json",
        "RISKD_NOTIFY_URLS": f"json://127.0.0.1:{hook.server_port}/hook",
    }
    env.pop("NOTIFY_SOCKET", None)
    config = tmp_path / "riskd.toml"
    config.write_text(
        f"""
base_url = "http://127.0.0.1:{sim_port}"
journal_path = "{tmp_path / "journal.sqlite3"}"
rules_dir = "{REPO / "rules"}"
[poll]
fast_interval = "200ms"
interval = "500ms"
slow_interval = "1s"
[metrics]
port = {metrics_port}
"""
    )
    sim_log = (tmp_path / "sim.log").open("wb")
    sim = subprocess.Popen(
        [*RISKD, "sim", "serve", "--port", str(sim_port)],
        env=env,
        stdout=sim_log,
        stderr=subprocess.STDOUT,
    )
    run: subprocess.Popen[bytes] | None = None
    try:
        _wait_http(f"http://127.0.0.1:{sim_port}/api/spot/v1/public/time", 20)
        with FakeNotifySocket() as fake:
            run = subprocess.Popen(
                [*RISKD, "run", "--config", str(config)],
                env={**env, **fake.env(watchdog_sec=2)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            fake.wait_for("READY", within=30, value="1")
            fake.wait_for("WATCHDOG", within=10, value="1")
            metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
            assert "riskd_up 1.0" in metrics
            assert 'riskd_risk_rate{account="main",scope="cross"}' in metrics
            health = httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=5)
            assert health.status_code == 200
            status = subprocess.run(
                [*RISKD, "status", "--config", str(config), "--json"],
                env=env,
                capture_output=True,
                check=True,
                timeout=30,
            )
            doc = json.loads(status.stdout)
            (main,) = [a for a in doc["accounts"] if a["name"] == "main"]
            assert "cross" in [s["scope"] for s in main["scopes"]]
            assert main["mode"] == "dry_run" and doc["daemon"]["state"] == "running"
            deadline = time.monotonic() + 15
            while not any(b"STARTED" in b.upper() and b"is watching" in b for b in _Hook.bodies):
                assert time.monotonic() < deadline, "no start message through the notifier"
                time.sleep(0.1)
            run.send_signal(signal.SIGHUP)
            fake.wait_for("RELOADING", within=10, value="1")
            run.send_signal(signal.SIGTERM)
            _, err = run.communicate(timeout=30)
            assert run.returncode == 0, err.decode()[-2000:]
            fake.wait_for("STOPPING", within=1, value="1")
            assert b"run-test-secret-value" not in err
            assert b"SIGTERM received: stopping" in err
    finally:
        for p in (run, sim):
            if p is not None and p.poll() is None:
                p.kill()
            if p is not None:
                p.communicate(timeout=10)
        sim_log.close()
        hook.shutdown()
        hook.server_close()
