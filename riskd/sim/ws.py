"""WebSocket ``/spot/v1/stream``: the public ``indexPrice`` channel (instType ``mabl``,
instId ``default``), text ``ping`` → ``pong``, and ``login`` (HMAC over
``timestamp(seconds) + "GET" + "/user/verify"``). Private channels are not simulated: after a
login they answer ``30001 Channel does not exist``; before it ``30004 User needs to log in``.
Snapshots of every symbol are pushed on subscribe and then every ``PUSH_INTERVAL_S`` (wall);
while a symbol's feed is stopped (a scenario's ``[[feed_stops]]``) its row is left out of the
periodic pushes (the subscribe snapshot shows its last price and that price's timestamp).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping

from starlette.websockets import WebSocket, WebSocketDisconnect

from riskd.amounts import fmt8
from riskd.sim.errors import SimError, sim_message
from riskd.sim.host import SimHost

PUSH_INTERVAL_S = 1.0
INDEX_ARG = {"instType": "mabl", "channel": "indexPrice", "instId": "default"}
PRIVATE_CHANNELS = ("cross_account", "isolate_account", "cross_orders", "isolate_orders")


def _error(code: str) -> str:
    return json.dumps({"event": "error", "code": code, "msg": sim_message(code)})


class _Session:
    def __init__(self, sim: SimHost, ws: WebSocket) -> None:
        self.sim = sim
        self.ws = ws
        self.subscribed = False
        self.logged_in = False

    def snapshot(self, live_only: bool = False) -> str | None:
        """Every symbol's published index price (``timestamp`` = when that price was set);
        ``live_only`` leaves out symbols whose feed is stopped (``None`` if that is all)."""
        with self.sim.lock:
            self.sim.exchange.catch_up()
            feed = self.sim.exchange.feed()
            catalog = self.sim.exchange.catalog
        data = [
            {
                "baseCoin": catalog.symbol(sym).base,
                "indexPrice": fmt8(price),
                "key": sym,
                "quoteCoin": catalog.symbol(sym).quote,
                "symbol": sym,
                "timestamp": str(round(t * 1000)),
                "version": str(round(t * 1000)),
            }
            for sym, (price, t, live) in feed.items()
            if live or not live_only
        ]
        if not data:
            return None
        return json.dumps({"action": "snapshot", "arg": INDEX_ARG, "data": data})

    async def push(self) -> None:
        while True:
            await asyncio.sleep(PUSH_INTERVAL_S)
            text = self.snapshot(live_only=True) if self.subscribed else None
            if text is not None:
                await self.ws.send_text(text)

    async def handle(self, text: str) -> bool:
        """Answer one message; ``False`` closes the connection."""
        if text == "ping":
            await self.ws.send_text("pong")
            return True
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            await self.ws.send_text(_error("30002"))
            return True
        if not isinstance(msg, dict):
            await self.ws.send_text(_error("30002"))
            return True
        op = msg.get("op")
        args = msg.get("args")
        if not isinstance(args, list):
            args = []
        if op == "login":
            return await self._login(args)
        if op in ("subscribe", "unsubscribe"):
            for arg in args:
                await self._subscription(op, arg)
            return True
        await self.ws.send_text(_error("30003"))
        return True

    async def _login(self, args: list[object]) -> bool:
        arg = args[0] if args and isinstance(args[0], Mapping) else {}
        try:
            self.sim.auth.verify_ws_login(
                str(arg.get("apiKey", "")),
                str(arg.get("passphrase", "")),
                str(arg.get("timestamp", "")),
                str(arg.get("sign", "")),
                self.sim.server_time_ms(),
            )
        except SimError as exc:
            await self.ws.send_text(
                json.dumps({"event": "error", "code": exc.code, "msg": exc.msg})
            )
            return False
        self.logged_in = True
        await self.ws.send_text(json.dumps({"event": "login", "code": "0", "msg": ""}))
        return True

    async def _subscription(self, op: str, arg: object) -> None:
        if not isinstance(arg, Mapping):
            await self.ws.send_text(_error("30002"))
            return
        channel = arg.get("channel")
        if channel == "indexPrice" and arg.get("instType") == "mabl":
            if arg.get("instId") != "default":
                await self.ws.send_text(_error("30001"))
                return
            self.subscribed = op == "subscribe"
            await self.ws.send_text(json.dumps({"event": op, "arg": INDEX_ARG}))
            text = self.snapshot() if self.subscribed else None
            if text is not None:
                await self.ws.send_text(text)
            return
        if channel in PRIVATE_CHANNELS and not self.logged_in:
            await self.ws.send_text(_error("30004"))
            return
        await self.ws.send_text(_error("30001"))


def stream_endpoint(sim: SimHost) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        session = _Session(sim, ws)
        pusher = asyncio.create_task(session.push())
        try:
            while True:
                if not await session.handle(await ws.receive_text()):
                    await ws.close()
                    return
        except WebSocketDisconnect:
            return
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher

    return endpoint
