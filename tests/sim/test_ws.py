"""WebSocket /spot/v1/stream over a real server: ping/pong, indexPrice, login."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from websockets.sync.client import connect

from riskd.clock import ManualClock
from riskd.sim import Simulator
from riskd.sim.serve import serve_in_thread

SUB = {
    "op": "subscribe",
    "args": [{"instType": "mabl", "channel": "indexPrice", "instId": "default"}],
}


def _ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/spot/v1/stream"


def _sim() -> tuple[Simulator, ManualClock]:
    protocol = ManualClock(1_750_000_000)
    return Simulator(ManualClock(), protocol_clock=protocol), protocol


def test_ping_and_index_price_snapshot() -> None:
    """'ping' answers 'pong'; subscribing to indexPrice pushes a snapshot of every symbol."""
    sim, _ = _sim()
    with serve_in_thread(sim) as server, connect(_ws_url(server.url)) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "pong"
        ws.send(json.dumps(SUB))
        assert json.loads(ws.recv(timeout=5))["event"] == "subscribe"
        snap = json.loads(ws.recv(timeout=5))
        assert snap["action"] == "snapshot" and snap["arg"]["channel"] == "indexPrice"
        prices = {d["symbol"]: d["indexPrice"] for d in snap["data"]}
        assert prices == {"BTCUSDT": "30000.00000000", "ETHUSDT": "2000.00000000"}


def test_errors_and_private_channels() -> None:
    """Unknown ops are 30003; private channels need a login (30004)."""
    sim, _ = _sim()
    with serve_in_thread(sim) as server, connect(_ws_url(server.url)) as ws:
        ws.send(json.dumps({"op": "dance"}))
        assert json.loads(ws.recv(timeout=5))["code"] == "30003"
        private = {
            "op": "subscribe",
            "args": [{"instType": "mabl", "channel": "cross_account", "instId": "default"}],
        }
        ws.send(json.dumps(private))
        assert json.loads(ws.recv(timeout=5))["code"] == "30004"


def test_login_with_seconds_timestamp() -> None:
    """login signs timestamp(seconds)+GET+/user/verify; a bad signature closes with 30015."""
    sim, protocol = _sim()
    keys = sim.add_account("alice")
    stamp = str(int(protocol.now()))
    sign = base64.b64encode(
        hmac.new(keys.secret.encode(), f"{stamp}GET/user/verify".encode(), hashlib.sha256).digest()
    ).decode()
    login = {
        "op": "login",
        "args": [
            {
                "apiKey": keys.api_key,
                "passphrase": keys.passphrase,
                "timestamp": stamp,
                "sign": sign,
            }
        ],
    }
    with serve_in_thread(sim) as server, connect(_ws_url(server.url)) as ws:
        ws.send(json.dumps(login))
        assert json.loads(ws.recv(timeout=5)) == {"event": "login", "code": "0", "msg": ""}
    login["args"][0]["sign"] = "AAAA"
    with serve_in_thread(sim) as server, connect(_ws_url(server.url)) as ws:
        ws.send(json.dumps(login))
        assert json.loads(ws.recv(timeout=5))["code"] == "30015"
