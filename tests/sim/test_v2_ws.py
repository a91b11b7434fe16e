"""WebSocket v2 over a real server: index-price, login, account and order channels, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal as D
from typing import Any

from websockets.sync.client import ClientConnection, connect

from riskd.clock import ManualClock
from riskd.sim import SimKeys, Simulator
from riskd.sim.orders import OrderRequest
from riskd.sim.serve import serve_in_thread

INDEX = {"instType": "MARGIN", "channel": "index-price", "instId": "default"}
CROSS_ACCOUNT = {"instType": "MARGIN", "channel": "account-crossed", "coin": "default"}
ISO_ACCOUNT = {"instType": "MARGIN", "channel": "account-isolated", "coin": "default"}
CROSS_ORDERS = {"instType": "MARGIN", "channel": "orders-crossed", "instId": "BTCUSDT"}


def _sim() -> tuple[Simulator, ManualClock]:
    protocol = ManualClock(1_750_000_000)
    sim = Simulator(ManualClock(), protocol_clock=protocol)
    sim.ws_push_interval_s = 0.05
    return sim, protocol


def _url(http_url: str, kind: str) -> str:
    return http_url.replace("http://", "ws://") + f"/v2/ws/{kind}"


def _recv(ws: ClientConnection) -> Any:
    return json.loads(ws.recv(timeout=5))


def _sub(ws: ClientConnection, arg: dict[str, str]) -> Any:
    ws.send(json.dumps({"op": "subscribe", "args": [arg]}))
    return _recv(ws)


def _login(ws: ClientConnection, keys: SimKeys, stamp: str, sign: str | None = None) -> Any:
    prehash = f"{stamp}GET/user/verify".encode()
    good = base64.b64encode(hmac.new(keys.secret.encode(), prehash, hashlib.sha256).digest())
    arg = {
        "apiKey": keys.api_key,
        "passphrase": keys.passphrase,
        "timestamp": stamp,
        "sign": sign or good.decode(),
    }
    ws.send(json.dumps({"op": "login", "args": [arg]}))
    return _recv(ws)


def test_public_index_price_snapshot_and_pong() -> None:
    """index-price (MARGIN, default) pushes every symbol; 'ping' gets 'pong'."""
    sim, _ = _sim()
    with serve_in_thread(sim) as server, connect(_url(server.url, "public")) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "pong"
        assert _sub(ws, INDEX) == {"event": "subscribe", "arg": INDEX}
        snap = _recv(ws)
        assert snap["action"] == "snapshot" and snap["arg"] == INDEX
        assert isinstance(snap["ts"], int)
        prices = {d["symbol"]: d["indexPrice"] for d in snap["data"]}
        assert prices == {"BTCUSDT": "30000.00000000", "ETHUSDT": "2000.00000000"}
        assert set(snap["data"][0]) == {"symbol", "baseCoin", "quoteCoin", "indexPrice", "ts"}
        assert _sub(ws, CROSS_ACCOUNT)["code"] == 30001  # private channel on the public URL


def test_private_channels_need_login_and_push_updates() -> None:
    """After a seconds-timestamp login, account-crossed snapshots then pushes the borrow."""
    sim, protocol = _sim()
    keys = sim.add_account("alice")
    with serve_in_thread(sim) as server, connect(_url(server.url, "private")) as ws:
        assert _sub(ws, CROSS_ACCOUNT)["code"] == 30004
        assert _login(ws, keys, str(int(protocol.now()))) == {"event": "login", "code": 0}
        assert _sub(ws, CROSS_ACCOUNT)["event"] == "subscribe"
        snap = _recv(ws)
        usdt = next(d for d in snap["data"] if d["coin"] == "USDT")
        assert usdt["borrow"] == "0.00000000" and "symbol" not in usdt
        assert set(usdt) == {"uTime", "id", "coin", "available", "borrow", "frozen"} | {
            "interest",
            "coupon",
        }
        with sim.lock:
            account = sim.exchange.account("alice")
            sim.exchange.ledger.borrow(account, account.cross(), "USDT", D(100), sim.clock.now())
        update = _recv(ws)
        assert update["action"] == "update"
        assert [(d["coin"], d["borrow"]) for d in update["data"]] == [("USDT", "100.00000000")]
        assert _sub(ws, ISO_ACCOUNT)["event"] == "subscribe"
        iso = _recv(ws)
        assert {d["symbol"] for d in iso["data"]} == {"BTCUSDT", "ETHUSDT"}
        assert _sub(ws, INDEX)["code"] == 30001  # public channel on the private URL


def test_orders_channel_pushes_new_orders() -> None:
    """orders-crossed (instId = symbol) pushes an order placed after subscribing, v2 fields."""
    sim, protocol = _sim()
    keys = sim.add_account("alice")
    with serve_in_thread(sim) as server, connect(_url(server.url, "private")) as ws:
        _login(ws, keys, str(int(protocol.now())))
        assert _sub(ws, CROSS_ORDERS)["event"] == "subscribe"
        assert _recv(ws)["data"] == []
        req = OrderRequest("BTCUSDT", "sell", "market", "normal", "gtc", base_quantity=D("0.01"))
        with sim.lock:
            account = sim.exchange.account("alice")
            sim.exchange.trading.place(account, account.cross(), req, sim.clock.now())
        update = _recv(ws)
        order = update["data"][0]
        assert (order["status"], order["baseVolume"], order["force"]) == (
            "filled",
            "0.01000000",
            "gtc",
        )
        assert order["feeDetail"][0]["feeCoin"] == "USDT"
        bad = {**CROSS_ORDERS, "instId": "NOPE"}
        assert _sub(ws, bad)["code"] == 30016


def test_bad_login_closes_and_bad_messages_are_errors() -> None:
    """A wrong sign answers 30015 and closes; junk is 30002, unknown ops 30003."""
    sim, protocol = _sim()
    keys = sim.add_account("alice")
    with serve_in_thread(sim) as server:
        with connect(_url(server.url, "private")) as ws:
            ws.send("{not json")
            assert _recv(ws)["code"] == 30002
            ws.send(json.dumps({"op": "dance"}))
            assert _recv(ws)["code"] == 30003
            assert _login(ws, keys, str(int(protocol.now())), sign="AAAA")["code"] == 30015
        with connect(_url(server.url, "public")) as ws:
            assert _login(ws, keys, str(int(protocol.now())))["code"] == 30002
