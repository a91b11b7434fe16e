"""The simulator's v3 private WebSocket: login, the UTA ``account`` topic, event-only pushes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

from starlette.websockets import WebSocket

from riskd.bitget.models_uta import account_push_items
from riskd.sim import SimKeys
from riskd.sim.orders import OrderRequest
from riskd.sim.ws_v3 import ACCOUNT_TOPIC, PRIVATE_PATH_V3, stream_endpoints_v3
from tests.uta.conftest import Env


class Socket:
    """An in-process ASGI WebSocket client of one endpoint (no server, no thread)."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        await self.outbox.put(message)

    def send_text(self, text: str) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": text})

    async def receive_text(self) -> str:
        message = await asyncio.wait_for(self.outbox.get(), timeout=2)
        assert message["type"] == "websocket.send", message
        return str(message["text"])

    async def receive_json(self) -> Any:
        return json.loads(await self.receive_text())


@asynccontextmanager
async def connect(env: Env) -> AsyncIterator[Socket]:
    """Open the v3 private endpoint of ``env``'s simulator; closes it on exit."""
    env.sim.ws_push_interval_s = 0.02
    endpoint = stream_endpoints_v3(env.sim)[PRIVATE_PATH_V3]
    sock = Socket()
    scope = {"type": "websocket", "path": PRIVATE_PATH_V3, "headers": [], "query_string": b""}
    sock.inbox.put_nowait({"type": "websocket.connect"})
    task = asyncio.create_task(endpoint(WebSocket(scope, sock.receive, sock.send)))
    accepted = await asyncio.wait_for(sock.outbox.get(), timeout=2)
    assert accepted["type"] == "websocket.accept"
    try:
        yield sock
    finally:
        sock.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(task, timeout=2)


async def _login(ws: Socket, env: Env, keys: SimKeys) -> Any:
    stamp = str(env.sim.server_time_ms() // 1000)
    sign = hmac.new(keys.secret.encode(), f"{stamp}GET/user/verify".encode(), hashlib.sha256)
    arg = {
        "apiKey": keys.api_key,
        "passphrase": keys.passphrase,
        "timestamp": stamp,
        "sign": base64.b64encode(sign.digest()).decode(),
    }
    ws.send_text(json.dumps({"op": "login", "args": [arg]}))
    return await ws.receive_json()


async def _subscribe(ws: Socket) -> Any:
    ws.send_text(json.dumps({"op": "subscribe", "args": [ACCOUNT_TOPIC]}))
    return await ws.receive_json()


async def test_account_topic_snapshot_is_the_assets_figures() -> None:
    """After login the account topic snapshots mgnRatio, mmr, effEquity and per-coin debts."""
    env = Env()
    async with connect(env) as ws:
        ws.send_text("ping")
        assert await ws.receive_text() == "pong"
        assert (await _subscribe(ws))["code"] == 30004
        assert await _login(ws, env, env.keys["uta"]) == {"event": "login", "code": 0}
        assert await _subscribe(ws) == {"event": "subscribe", "arg": ACCOUNT_TOPIC}
        snapshot = await ws.receive_json()
    assert snapshot["action"] == "snapshot"
    (item,) = account_push_items(snapshot)
    assert D("0.2") < item.mgn_ratio < D("0.21") and item.mmr > 0
    assert {c.coin: c.debts > 0 for c in item.coins} == {"USDT": True, "BTC": False}


async def test_a_classic_account_cannot_subscribe() -> None:
    """A classic account logs in but its account-topic subscription is refused."""
    env = Env()
    async with connect(env) as ws:
        assert (await _login(ws, env, env.keys["classic"]))["code"] == 0
        refused = await _subscribe(ws)
    assert refused["event"] == "error" and refused["code"] == 30001
    assert "40084" in refused["msg"]


async def test_pushes_follow_account_events_not_prices() -> None:
    """A price move alone pushes nothing; a repay pushes an update with the new figures."""
    env = Env()
    async with connect(env) as ws:
        await _login(ws, env, env.keys["uta"])
        await _subscribe(ws)
        await ws.receive_json()
        env.sim.control.set_price("BTCUSDT", D(29000))
        await asyncio.sleep(0.1)
        assert ws.outbox.empty()
        ex = env.sim.exchange
        account = ex.account("uta")
        with env.sim.lock:
            book = account.cross()
            ex.ledger.repay(account, book, "USDT", D(500), ex.now())
        update = await ws.receive_json()
    assert update["action"] == "update"
    (item,) = account_push_items(update)
    usdt = next(c for c in item.coins if c.coin == "USDT")
    assert usdt.available == D(500)
    btc = next(c for c in item.coins if c.coin == "BTC")
    assert btc.usd_value == btc.equity * D(29000)


async def test_an_order_is_an_account_event() -> None:
    """Placing a resting order pushes an update (its cost is locked)."""
    env = Env()
    async with connect(env) as ws:
        await _login(ws, env, env.keys["uta"])
        await _subscribe(ws)
        await ws.receive_json()
        ex = env.sim.exchange
        account = ex.account("uta")
        req = OrderRequest("BTCUSDT", "sell", "limit", "normal", "gtc", D(40000), D("0.01"))
        with env.sim.lock:
            ex.trading.place(account, account.cross(), req, ex.now())
        update = await ws.receive_json()
    (item,) = account_push_items(update)
    btc = next(c for c in item.coins if c.coin == "BTC")
    assert btc.locked == D("0.01")
