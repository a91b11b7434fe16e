"""WebSocket ``/spot/v1/stream``: the public ``indexPrice`` channel (instType ``mabl``,
instId ``default``), text ``ping`` → ``pong``, and ``login`` (HMAC over
``timestamp(seconds) + "GET" + "/user/verify"``). Private channels are not simulated: after a
login they answer ``30001 Channel does not exist``; before it ``30004 User needs to log in``.
Snapshots of every symbol are pushed on subscribe and then every ``PUSH_INTERVAL_S`` (wall);
while a symbol's feed is stopped (a scenario's ``[[feed_stops]]``) its row is left out of the
periodic pushes (the subscribe snapshot shows its last price and that price's timestamp).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket

from riskd.amounts import fmt8
from riskd.sim.auth import Credential
from riskd.sim.errors import SimError, sim_message
from riskd.sim.host import SimHost
from riskd.sim.ws_session import Endpoint, WsSession, endpoint

PUSH_INTERVAL_S = 1.0
INDEX_ARG = {"instType": "mabl", "channel": "indexPrice", "instId": "default"}
PRIVATE_CHANNELS = ("cross_account", "isolate_account", "cross_orders", "isolate_orders")


def _error(code: str) -> str:
    return json.dumps({"event": "error", "code": code, "msg": sim_message(code)})


class _Session(WsSession):
    LOGIN_ACK = json.dumps({"event": "login", "code": "0", "msg": ""})

    def __init__(self, sim: SimHost, ws: WebSocket) -> None:
        super().__init__(sim, ws)
        self.subscribed = False
        self.logged_in = False

    # v1 frames: the code is a string; a failed login says the exception's own message.
    def error(self, code: str, detail: str | None = None) -> str:
        return _error(code)

    def login_refused(self, exc: SimError) -> str:
        return json.dumps({"event": "error", "code": exc.code, "msg": exc.msg})

    def args_of(self, msg: Mapping[str, object]) -> list[object] | None:
        args = msg.get("args")
        return args if isinstance(args, list) else []

    def on_login(self, cred: Credential) -> None:
        self.logged_in = True

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

    def push_interval(self) -> float:
        return PUSH_INTERVAL_S

    async def push_once(self) -> None:
        text = self.snapshot(live_only=True) if self.subscribed else None
        if text is not None:
            await self.send(text)

    async def subscription(self, op: str, arg: Mapping[str, Any]) -> None:
        channel = arg.get("channel")
        if channel == "indexPrice" and arg.get("instType") == "mabl":
            if arg.get("instId") != "default":
                await self.send(_error("30001"))
                return
            self.subscribed = op == "subscribe"
            await self.send(json.dumps({"event": op, "arg": INDEX_ARG}))
            text = self.snapshot() if self.subscribed else None
            if text is not None:
                await self.send(text)
            return
        if channel in PRIVATE_CHANNELS and not self.logged_in:
            await self.send(_error("30004"))
            return
        await self.send(_error("30001"))


def stream_endpoint(sim: SimHost) -> Endpoint:
    return endpoint(lambda ws: _Session(sim, ws))
