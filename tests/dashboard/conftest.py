"""Shared set-up of the dashboard tests: a daemon on the simulator and its dashboard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from riskd.dashboard.app import DashboardApp, make_dashboard
from riskd.dashboard.daemon_view import providers_for
from riskd.dashboard.settings import DashboardSettings

from ..daemon.harness import World, make_world

#: A distinctive write token (≥ 16 characters), registered as a secret when resolved.
TOKEN = "dash-token-7f3b9c1e5a2d4f60"
ORIGIN = "http://127.0.0.1:9464"
GOOD_HEADERS = {"origin": ORIGIN, "x-riskd-token": TOKEN, "content-type": "application/json"}


@dataclass
class Dash:
    world: World
    app: DashboardApp
    client: httpx.AsyncClient


def dashboard_for(world: World, *, token: str | None = TOKEN, refresh: float = 0.2) -> DashboardApp:
    settings = DashboardSettings(refresh=refresh)
    return make_dashboard(
        providers_for(
            world.daemon,
            clock=world.clock,
            settings=settings,
            write_token=token,
            stale_after=1e9,
            bound_host="127.0.0.1",
        )
    )


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[Dash]:
    world = await make_world(tmp_path, live=True)
    await world.daemon.run_cycle()
    app = dashboard_for(world)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)
    try:
        yield Dash(world, app, client)
    finally:
        await client.aclose()
        await world.close()


async def sse_events(
    app: DashboardApp, count: int, *, during: Callable[[], Any] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The first ``count`` server-sent events of ``/dashboard/api/stream`` (the page then
    goes away); ``during`` runs once the stream has sent its first two events."""
    chunks: list[bytes] = []
    enough = asyncio.Event()
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await enough.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            events = b"".join(chunks).count(b"\n\n")
            if events >= 2:
                started.set()
            if events >= count:
                enough.set()

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/dashboard/api/stream",
        "headers": [(b"host", b"127.0.0.1:9464")],
        "query_string": b"",
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(started.wait(), 5)
    if during is not None:
        result = during()
        if asyncio.iscoroutine(result):
            await result
    await asyncio.wait_for(task, 5)
    out = []
    for block in b"".join(chunks).decode().split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if name is not None and data is not None:
            out.append((name, data))
    return out[:count]
