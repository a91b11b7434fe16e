"""A fake Telegram Bot API server on loopback (starlette + uvicorn, a free port).

Enough of the Bot API for riskd's bot: ``getMe``, ``getUpdates`` (long polling, ``offset``),
``sendMessage``, ``answerCallbackQuery``, ``editMessageText``. Tests push updates with
:meth:`FakeBotApi.message` / :meth:`FakeBotApi.press` and read what the bot sent. With
``hang`` set every request is held open until the server stops: a dead Bot API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "riskd", "username": "riskd_test_bot"}


@dataclass
class Sent:
    """One call the bot made (method and its parameters, JSON values decoded)."""

    method: str
    params: dict[str, Any]
    token: str


@dataclass
class FakeBotApi:
    """The server's state; ``token`` is the only one accepted (others get 401)."""

    token: str
    hang: bool = False
    calls: list[Sent] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _next_update: int = 1
    _next_message: int = 100
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    # --- what tests do ------------------------------------------------------------------
    def message(self, chat_id: int, text: str) -> None:
        """A user in ``chat_id`` sends ``text``."""
        self._push(
            {
                "message": {
                    "message_id": self._message_id(),
                    "date": 1_700_000_000,
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "user"},
                    "text": text,
                }
            }
        )

    def press(self, chat_id: int, data: str, message_id: int = 1) -> None:
        """A user in ``chat_id`` presses an inline button carrying ``data``."""
        self._push(
            {
                "callback_query": {
                    "id": f"cb{self._next_update}",
                    "from": {"id": chat_id, "is_bot": False, "first_name": "user"},
                    "chat_instance": "x",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": 1_700_000_000,
                        "chat": {"id": chat_id, "type": "private"},
                        "text": "confirm?",
                    },
                }
            }
        )

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Sent]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(c.params["text"]) for c in self.sent("sendMessage", chat_id)]

    def buttons(self, chat_id: int) -> list[str]:
        """callback_data of every inline button sent to ``chat_id``, in order."""
        out: list[str] = []
        for c in self.sent("sendMessage", chat_id):
            markup = c.params.get("reply_markup")
            for row in (markup or {}).get("inline_keyboard", []):
                out.extend(b["callback_data"] for b in row)
        return out

    # --- the server ---------------------------------------------------------------------
    def _message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    def _push(self, body: dict[str, Any]) -> None:
        self._updates.append({"update_id": self._next_update, **body})
        self._next_update += 1
        self._arrived.set()

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        raw = (await request.body()).decode()
        params: dict[str, Any] = {}
        for key, value in parse_qsl(raw):
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        self.calls.append(Sent(method, params, token))
        if self.hang:
            await self._stopping.wait()
        if token != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        return JSONResponse({"ok": True, "result": await self._answer(method, params)})

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            wait = min(float(params.get("timeout") or 0), 0.2)
            ready = [u for u in self._updates if u["update_id"] >= offset]
            if not ready and wait and not self._stopping.is_set():
                self._arrived.clear()
                waiters = {
                    asyncio.ensure_future(self._arrived.wait()),
                    asyncio.ensure_future(self._stopping.wait()),
                }
                await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
                ready = [u for u in self._updates if u["update_id"] >= offset]
            return ready
        if method in ("sendMessage", "editMessageText"):
            return {
                "message_id": int(params.get("message_id") or self._message_id()),
                "date": 1_700_000_000,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        if method == "answerCallbackQuery":
            return True
        return True


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


@contextlib.asynccontextmanager
async def serve(api: FakeBotApi):  # type: ignore[no-untyped-def]
    """Run ``api`` on 127.0.0.1 (a free port); yields the base URL to give the bot."""
    app = Starlette(routes=[Route("/bot{token}/{method}", api.handle, methods=["POST", "GET"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        api._stopping.set()
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 2.0)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sock.close()
