"""Heartbeat: a GET to the dead-man's-switch URL every interval, only while healthy."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from riskd.clock import LoopClock, ManualClock
from riskd.notify.heartbeat import Heartbeat
from riskd.notify.notifier import Notifier
from riskd.notify.settings import parse_notify_settings
from riskd.virtual_time import run_virtual

T0 = 1_700_000_000.0


async def test_beat_pings_only_when_healthy(http_sink: Any) -> None:
    """A beat GETs the URL when healthy, skips it when not, and counts a 5xx as failed."""
    healthy = True
    url = SecretStr(f"http://127.0.0.1:{http_sink.port}/ping/hb-key-0001")
    beat = Heartbeat(url, 60, ManualClock(T0), lambda: healthy, timeout=2)
    assert await beat.beat() is True
    assert http_sink.requests == [("GET", "/ping/hb-key-0001", b"")]
    healthy = False
    assert await beat.beat() is None
    assert len(http_sink.requests) == 1
    healthy = True
    http_sink.status = 503
    assert await beat.beat() is False
    status = beat.status()
    assert (status.pings_ok, status.pings_failed, status.skipped_unhealthy) == (1, 1, 1)
    assert status.url == "http://***" and status.last_ok_at == T0
    assert status.last_error is not None and "503" in status.last_error
    assert "hb-key-0001" not in status.last_error + repr(beat)
    await beat.aclose()


def test_notifier_heartbeat_stops_when_unhealthy(http_sink: Any, until: Any) -> None:
    """The running notifier pings every interval; when the daemon reports unhealthy the pings
    stop and the skips are visible in status (on virtual time paced at 20× the wall: the pings
    are real HTTP; the sink's server thread is foreign to the loop)."""
    run_virtual(_heartbeat_stops(http_sink, until), speed=20, foreign_after_s=0.05)


async def _heartbeat_stops(http_sink: Any, until: Any) -> None:
    daemon_ok = True
    settings = parse_notify_settings(
        {
            "routes": [{"name": "hook", "urls": [f"json://127.0.0.1:{http_sink.port}/h"]}],
            "heartbeat_url": f"http://127.0.0.1:{http_sink.port}/ping/abc-key",
            "heartbeat_interval": 1,
        },
        "t",
    )
    notifier = Notifier(settings, LoopClock(T0), health_check=lambda: daemon_ok)
    await notifier.start()
    await until(lambda: len(http_sink.requests) >= 2, 60)
    daemon_ok = False
    await until(lambda: (notifier.status().heartbeat or _none()).skipped_unhealthy >= 2, 60)
    pings = len(http_sink.requests)
    await until(lambda: (notifier.status().heartbeat or _none()).skipped_unhealthy >= 4, 60)
    assert len(http_sink.requests) == pings
    assert not notifier.status().healthy
    await notifier.stop(timeout=1)
    assert not notifier.healthy()


def _none() -> Any:
    raise AssertionError("no heartbeat status")
