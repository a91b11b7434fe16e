"""Fixtures for the UTA tests: a simulator with UTA and classic accounts, and v3 clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from riskd.bitget.client import BitgetClient
from riskd.bitget.client_uta import UtaMethods
from riskd.bitget.credentials import Credentials
from riskd.clock import ManualClock
from riskd.sim import SimKeys, Simulator
from riskd.sim.scenario import parse_scenario

START = 1_700_000_000.0

#: Every account: 1000 USDT in cross, then a 3x long of BTC (borrows 2000 USDT, buys BTC).
_POSITION = '[{ scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "3" }]'
SCENARIO = f"""
name = "uta_test"
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"

[tiers.cross.USDT]
mmr = "0.1"

[tiers.cross.BTC]
mmr = "0.15"

[[accounts]]
name = "uta"
unified = true
funding = {{ cross = {{ USDT = "1000" }} }}
positions = {_POSITION}

[[accounts]]
name = "uta_low"
unified = true
uta_liquidation_level = "0.5"
funding = {{ cross = {{ USDT = "1000" }} }}
positions = {_POSITION}

[[accounts]]
name = "classic"
funding = {{ cross = {{ USDT = "1000" }} }}
positions = {_POSITION}
"""


class UtaClient(UtaMethods):
    """The UTA methods on their own (the lead adds them to BitgetClient's bases)."""


class Env:
    """A simulator on a manual clock with the three scenario accounts, reached over ASGI."""

    def __init__(self) -> None:
        self.clock = ManualClock(start=START)
        self.sim = Simulator(clock=self.clock, scenario=parse_scenario(SCENARIO))
        self.keys: dict[str, SimKeys] = self.sim.add_scenario_accounts()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.sim.app))

    def credentials(self, account: str) -> Credentials:
        k = self.keys[account]
        return Credentials.hmac(k.api_key, k.secret, k.passphrase)

    def uta(self, account: str = "uta", **kw: Any) -> UtaClient:
        return UtaClient(self.credentials(account), http=self.http, base_url="http://sim", **kw)

    def classic(self, account: str = "classic", **kw: Any) -> BitgetClient:
        return BitgetClient(
            self.credentials(account), http=self.http, base_url="http://sim", api="v2", **kw
        )


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e = Env()
    yield e
    await e.http.aclose()
