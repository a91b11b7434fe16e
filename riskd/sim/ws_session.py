"""The simulator's WebSocket session machinery, shared by every stream version
(:mod:`riskd.sim.ws` v1, :mod:`riskd.sim.ws_v2`, :mod:`riskd.sim.ws_v3`).

A :class:`WsSession` answers text ``ping`` with ``pong``, parses each message, refuses a
malformed one (30002) or an unknown ``op`` (30003), verifies ``login`` (HMAC over
``timestamp(seconds) + "GET" + "/user/verify"``; a failed login answers its 3001x code and
closes), hands each subscribe/unsubscribe ``arg`` to the version, and runs the version's push
loop beside the receive loop. :func:`endpoint` serves one session per connection.

Each version keeps its channels, payloads and error frame in its own module; the defaults
here are the v2/v3 ones (``{"event": "error", "code": <int>, "msg": …}``, login ack
``{"event": "login", "code": 0}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from riskd.sim.auth import Credential
from riskd.sim.book import Account
from riskd.sim.errors import SimError, sim_message
from riskd.sim.host import SimHost

Endpoint = Callable[[WebSocket], Awaitable[None]]


def error_frame(code: str, detail: str | None = None) -> str:
    """The v2/v3 error frame: the integer ``code`` and the document's message (+ ``detail``)."""
    msg = sim_message(code) + (f": {detail}" if detail else "")
    return json.dumps({"event": "error", "code": int(code), "msg": msg})


class WsSession:
    """One connection's protocol state; subclasses supply channels, pushes and frames."""

    #: The frame acknowledging a successful login.
    LOGIN_ACK = json.dumps({"event": "login", "code": 0})

    def __init__(self, sim: SimHost, ws: WebSocket) -> None:
        self.sim = sim
        self.ws = ws
        #: The logged-in account (``None``: not logged in).
        self.account: Account | None = None

    # ------------------------------------------------------------------ frames
    def error(self, code: str, detail: str | None = None) -> str:
        """This version's error frame for ``code``."""
        return error_frame(code, detail)

    def login_refused(self, exc: SimError) -> str:
        """The frame answering a failed login."""
        return self.error(exc.code)

    def args_of(self, msg: Mapping[str, object]) -> list[object] | None:
        """A message's ``args`` (``None``: malformed; a missing ``args`` is empty)."""
        args = msg.get("args", [])
        return args if isinstance(args, list) else None

    # ------------------------------------------------------------------ version hooks
    def push_interval(self) -> float:
        """Wall seconds between two rounds of pushes."""
        return max(0.01, self.sim.ws_push_interval_s)

    async def push_once(self) -> None:
        """Send this round's pushes (none by default)."""

    def on_login(self, cred: Credential) -> None:
        """Record a successful login of ``cred``: its account."""
        with self.sim.lock:
            self.account = self.sim.exchange.account(cred.account)

    def check(self, arg: Mapping[str, Any]) -> tuple[str, str | None] | None:
        """An error (code, detail) for a subscription ``arg``, or ``None`` when it is valid."""
        return "30001", None

    async def on_ack(self, op: str, arg: Mapping[str, Any]) -> None:
        """Follow an acknowledged subscribe/unsubscribe of ``arg`` (snapshot, bookkeeping)."""

    async def subscription(self, op: str, arg: Mapping[str, Any]) -> None:
        """Answer one subscribe/unsubscribe ``arg``: refuse it (:meth:`check`) or acknowledge
        it (``{"event": op, "arg": arg}``) and hand it to :meth:`on_ack`."""
        problem = self.check(arg)
        if problem is not None:
            await self.send(self.error(*problem))
            return
        await self.send(json.dumps({"event": op, "arg": dict(arg)}))
        await self.on_ack(op, arg)

    # ------------------------------------------------------------------ machinery
    async def send(self, text: str) -> None:
        await self.ws.send_text(text)

    async def push(self) -> None:
        """The push loop: one round every :meth:`push_interval`, until cancelled."""
        while True:
            await asyncio.sleep(self.push_interval())
            await self.push_once()

    async def handle(self, text: str) -> bool:
        """Answer one message; ``False`` closes the connection."""
        if text == "ping":
            await self.send("pong")
            return True
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            await self.send(self.error("30002"))
            return True
        args = self.args_of(msg) if isinstance(msg, dict) else None
        if args is None:
            await self.send(self.error("30002"))
            return True
        op = msg.get("op")
        if op == "login":
            return await self.login(args)
        if op in ("subscribe", "unsubscribe"):
            for arg in args:
                if isinstance(arg, Mapping):
                    await self.subscription(op, arg)
                else:
                    await self.send(self.error("30002"))
            return True
        await self.send(self.error("30003"))
        return True

    async def login(self, args: list[object]) -> bool:
        """Verify a ``login``; ``False`` (close) when it fails."""
        arg: Mapping[str, Any] = args[0] if args and isinstance(args[0], Mapping) else {}
        try:
            cred = self.sim.auth.verify_ws_login(
                str(arg.get("apiKey", "")),
                str(arg.get("passphrase", "")),
                str(arg.get("timestamp", "")),
                str(arg.get("sign", "")),
                self.sim.server_time_ms(),
            )
        except SimError as exc:
            await self.send(self.login_refused(exc))
            return False
        self.on_login(cred)
        await self.send(self.LOGIN_ACK)
        return True


def endpoint(new_session: Callable[[WebSocket], WsSession]) -> Endpoint:
    """An ASGI WebSocket endpoint running one ``new_session(ws)`` per connection: its receive
    loop answers each message, its push loop runs beside it and ends with the connection."""

    async def serve(ws: WebSocket) -> None:
        await ws.accept()
        session = new_session(ws)
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

    return serve
