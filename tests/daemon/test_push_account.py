"""Account pushes: the v2 private login (signed by riskd.bitget.auth), subscriptions, and the
scopes a push concerns, against the simulator's /v2/ws/private over a loopback socket."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from riskd.bitget.credentials import Credentials
from riskd.daemon.account_push import AccountPushClient, login_message, push_scopes
from riskd.sim import Simulator
from riskd.sim.serve import serve_in_thread

from .harness import make_sim


def _creds(sim: Simulator, secret: str | None = None) -> Credentials:
    keys = sim.keys("alice")
    return Credentials(
        api_key=SecretStr(keys.api_key),
        passphrase=SecretStr(keys.passphrase),
        secret=SecretStr(secret or keys.secret),
    )


async def _until(cond: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_login_signs_the_reference_vector() -> None:
    """Secret test-secret at 1700000000 s signs GET/user/verify as ENDPOINTS-v2.md §3 says."""
    creds = Credentials(
        api_key=SecretStr("k"), passphrase=SecretStr("p"), secret=SecretStr("test-secret")
    )
    (arg,) = json.loads(login_message(creds, 1_700_000_000))["args"]
    assert arg == {
        "apiKey": "k",
        "passphrase": "p",
        "timestamp": "1700000000",
        "sign": "QKXMEacdjBcrVZaxWVJypn62KNrQGzBErbiQtYn6KO8=",
    }


def test_push_scopes_per_channel() -> None:
    """account-crossed/orders-crossed → cross; account-isolated → each row's symbol;
    orders-isolated → its instId; acks and empty pushes → nothing."""

    def push(arg: dict[str, str], data: list[dict[str, str]]) -> str:
        return json.dumps({"action": "update", "arg": arg, "data": data, "ts": 1})

    iso = [{"symbol": "BTCUSDT", "coin": "USDT"}, {"symbol": "ETHUSDT", "coin": "ETH"}]
    assert push_scopes(push({"channel": "account-crossed"}, [{"coin": "USDT"}])) == {"cross"}
    assert push_scopes(push({"channel": "orders-crossed", "instId": "BTCUSDT"}, [{}])) == {"cross"}
    assert push_scopes(push({"channel": "account-isolated"}, iso)) == {
        "isolated:BTCUSDT",
        "isolated:ETHUSDT",
    }
    assert push_scopes(push({"channel": "orders-isolated", "instId": "ETHUSDT"}, [{}])) == {
        "isolated:ETHUSDT"
    }
    assert push_scopes(push({"channel": "account-crossed"}, [])) == frozenset()
    assert push_scopes(json.dumps({"event": "subscribe", "arg": {}})) == frozenset()
    assert push_scopes("pong") == frozenset()


async def test_login_then_account_and_order_pushes(tmp_path: Path) -> None:
    """The client logs in, subscribes to both account channels and the isolated symbol's
    orders, and reports the scopes of the snapshot pushes that follow."""
    sim = make_sim(tmp_path)
    sim.add_account("alice")
    got: list[tuple[str, frozenset[str]]] = []
    with serve_in_thread(sim) as server:
        client = AccountPushClient(
            "alice",
            _creds(sim),
            url=server.url.replace("http://", "ws://") + "/v2/ws/private",
            timestamp_s=lambda: sim.server_time_ms() // 1000,
            on_push=lambda account, scopes: got.append((account, scopes)),
            symbols=lambda: [("isolated", "BTCUSDT")],
        )
        await client.start()
        try:
            await _until(lambda: {s for _, ss in got for s in ss} >= {"cross", "isolated:BTCUSDT"})
        finally:
            await client.stop()
    assert client.logged_in
    assert {a for a, _ in got} == {"alice"}
    assert client.pushes == len(got)


async def test_a_wrong_signature_is_refused_and_no_secret_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong secret: the simulator answers 30015 and closes; riskd logs the refusal (no key,
    passphrase or secret in it), stays logged out and waits before trying again."""
    caplog.set_level(logging.DEBUG)
    sim = make_sim(tmp_path)
    sim.add_account("alice")
    creds = _creds(sim, secret="0" * 64)
    got: list[frozenset[str]] = []
    with serve_in_thread(sim) as server:
        client = AccountPushClient(
            "alice",
            creds,
            url=server.url.replace("http://", "ws://") + "/v2/ws/private",
            timestamp_s=lambda: sim.server_time_ms() // 1000,
            on_push=lambda _a, scopes: got.append(scopes),
        )
        await client.start()
        try:
            await _until(lambda: "login refused" in caplog.text)
            assert client.socket is not None
            await _until(lambda: not client.socket.connected)  # type: ignore[union-attr]
        finally:
            await client.stop()
    assert not client.logged_in and got == []
    assert "30015" in caplog.text
    keys = sim.keys("alice")
    for secret in (keys.api_key, keys.passphrase, keys.secret, "0" * 64):
        assert secret not in caplog.text
