"""The kept-open WebSocket: pings whatever the traffic, reconnects on a dead or lost link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import websockets

from riskd.daemon.ws_conn import ReconnectingSocket, Send, SocketRefused
from riskd.sim.serve import serve_in_thread

from .harness import make_sim


class Recorder:
    """A handler that subscribes to index prices and keeps what it receives."""

    def __init__(self, refuse: bool = False) -> None:
        self.opened_count = 0
        self.messages: list[str] = []
        self.ticks = 0
        self.refuse = refuse

    async def opened(self, send: Send) -> None:
        self.opened_count += 1
        await send(
            '{"op":"subscribe","args":[{"instType":"MARGIN","channel":"index-price",'
            '"instId":"default"}]}'
        )

    async def message(self, text: str, send: Send) -> None:
        self.messages.append(text)
        if self.refuse:
            raise SocketRefused("refused for the test")

    async def tick(self, send: Send) -> None:
        self.ticks += 1


async def _until(cond: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_pings_go_out_while_pushes_flow_and_pongs_come_back(tmp_path: Path) -> None:
    """With pushes every 10 ms the socket still pings every 50 ms; the simulator's pongs are
    counted and never reach the handler."""
    sim = make_sim(tmp_path)
    sim.ws_push_interval_s = 0.01
    handler = Recorder()
    with serve_in_thread(sim) as server:
        url = server.url.replace("http://", "ws://") + "/v2/ws/public"
        sock = ReconnectingSocket(url, handler, name="test", ping_s=0.05, pong_timeout_s=1.0)
        sock.start()
        try:
            await _until(lambda: sock.pongs >= 3 and len(handler.messages) >= 5)
        finally:
            await sock.stop()
    assert sock.connections == 1
    assert sock.pings >= sock.pongs >= 3
    assert handler.ticks == sock.pings
    assert "pong" not in handler.messages


async def test_a_connection_without_pong_is_dropped_and_reopened() -> None:
    """A server that never answers ping: after pong_timeout the socket reconnects."""
    accepted = 0

    async def mute(ws: websockets.ServerConnection) -> None:
        nonlocal accepted
        accepted += 1
        async for _ in ws:
            pass

    async with websockets.serve(mute, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        handler = Recorder()
        sock = ReconnectingSocket(
            f"ws://127.0.0.1:{port}",
            handler,
            name="test",
            ping_s=0.02,
            pong_timeout_s=0.05,
            backoff_min_s=0.01,
            backoff_max_s=0.02,
        )
        sock.start()
        try:
            await _until(lambda: sock.connections >= 3)
        finally:
            await sock.stop()
    assert handler.opened_count == sock.connections >= 3


async def test_refused_waits_the_long_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises SocketRefused closes the socket and waits refused_backoff_s."""
    sim = make_sim(tmp_path)
    handler = Recorder(refuse=True)
    with serve_in_thread(sim) as server:
        url = server.url.replace("http://", "ws://") + "/v2/ws/public"
        sock = ReconnectingSocket(
            url, handler, name="test", backoff_min_s=0.01, refused_backoff_s=30.0
        )
        sock.start()
        try:
            await _until(lambda: bool(handler.messages) and not sock.connected)
            await asyncio.sleep(0.1)
        finally:
            await sock.stop()
    assert sock.connections == 1
    assert "refused for the test; trying again in 30s" in caplog.text
