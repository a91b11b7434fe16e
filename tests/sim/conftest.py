"""Fixtures for the simulator tests: a simulator on manual clocks and a tiny signing client.

The signer here is deliberately separate from ``riskd.bitget.auth`` and ``riskd.sim.auth``:
a third HMAC implementation, written from the document's description.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from riskd.bitget.endpoints import Api as ApiVersion
from riskd.bitget.endpoints import endpoint
from riskd.clock import ManualClock
from riskd.sim import SimKeys, Simulator

PROTOCOL_START = 1_750_000_000.0
MARKET_START = 1_700_000_000.0


def hmac_sign(secret: str, prehash: str | bytes) -> str:
    data = prehash.encode() if isinstance(prehash, str) else prehash
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


class Api:
    """Signs (HMAC) and sends requests to a simulator through ASGI."""

    def __init__(self, sim: Simulator, client: httpx.AsyncClient, protocol: ManualClock) -> None:
        self.sim = sim
        self.client = client
        self.protocol = protocol

    def headers(
        self, keys: SimKeys, method: str, path: str, query: str, body: str, ts: int | None = None
    ) -> dict[str, str]:
        stamp = str(self.protocol.now_ms() if ts is None else ts)
        prehash = stamp + method + path + ("?" + query if query else "") + body
        return {
            "ACCESS-KEY": keys.api_key,
            "ACCESS-SIGN": hmac_sign(keys.secret, prehash),
            "ACCESS-TIMESTAMP": stamp,
            "ACCESS-PASSPHRASE": keys.passphrase,
            "Content-Type": "application/json",
            "locale": "en-US",
        }

    async def call(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        keys: SimKeys | None = None,
        *,
        ts: int | None = None,
        override: Mapping[str, str] | None = None,
        api: ApiVersion = "v1",
    ) -> httpx.Response:
        ep = endpoint(name, api)
        params = dict(params or {})
        query = urlencode(params) if ep.method == "GET" else ""
        body = json.dumps(params, separators=(",", ":")) if ep.method == "POST" else ""
        headers: dict[str, str] = {}
        if ep.signed:
            assert keys is not None, f"{name} is signed: pass keys"
            headers = self.headers(keys, ep.method, ep.path, query, body, ts)
        headers.update(override or {})
        url = ep.path + ("?" + query if query else "")
        return await self.client.request(ep.method, url, content=body.encode(), headers=headers)

    async def data(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        keys: SimKeys | None = None,
        *,
        api: ApiVersion = "v1",
    ) -> Any:
        resp = await self.call(name, params, keys, api=api)
        payload = resp.json()
        assert resp.status_code == 200 and payload["code"] == "00000", (name, payload)
        return payload["data"]

    async def error(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        keys: SimKeys | None = None,
        *,
        api: ApiVersion = "v1",
    ) -> tuple[int, str, str]:
        resp = await self.call(name, params, keys, api=api)
        payload = resp.json()
        return resp.status_code, payload["code"], payload["msg"]


def make_sim(**kwargs: Any) -> tuple[Simulator, ManualClock, ManualClock]:
    market = ManualClock(MARKET_START)
    protocol = ManualClock(PROTOCOL_START)
    kwargs.setdefault("rate_limits", False)
    sim = Simulator(clock=market, protocol_clock=protocol, **kwargs)
    return sim, market, protocol


@pytest.fixture
def sim_parts() -> tuple[Simulator, ManualClock, ManualClock]:
    return make_sim()


@pytest.fixture
def sim(sim_parts: tuple[Simulator, ManualClock, ManualClock]) -> Simulator:
    return sim_parts[0]


@pytest.fixture
def market(sim_parts: tuple[Simulator, ManualClock, ManualClock]) -> ManualClock:
    return sim_parts[1]


@pytest.fixture
def protocol(sim_parts: tuple[Simulator, ManualClock, ManualClock]) -> ManualClock:
    return sim_parts[2]


@pytest.fixture
def alice(sim: Simulator) -> SimKeys:
    return sim.add_account("alice")


@pytest.fixture
async def api(sim: Simulator, protocol: ManualClock) -> AsyncIterator[Api]:
    async with _connect(sim, protocol) as client_api:
        yield client_api


@asynccontextmanager
async def _connect(
    sim: Simulator, protocol: ManualClock, ip: str = "127.0.0.1"
) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=sim.app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield Api(sim, client, protocol)


@pytest.fixture
def connect() -> Any:
    """``async with connect(sim, protocol_clock, ip=...) as api``: a client for another sim."""
    return _connect


@pytest.fixture
def make() -> Any:
    """``make(**Simulator kwargs) -> (sim, market_clock, protocol_clock)``."""
    return make_sim
