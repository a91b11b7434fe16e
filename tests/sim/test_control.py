"""The control surface, in process and over HTTP under /_sim/ (never under /api/)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.clock import WallClock
from riskd.sim import Simulator


async def test_http_state_and_prices(api, alice, sim) -> None:
    """GET /_sim/state?account= returns the true state; /_sim/prices the index prices."""
    body = (await api.client.get("/_sim/state", params={"account": "alice"})).json()
    assert body["account"] == "alice"
    assert body["scopes"]["cross"]["balances"]["USDT"]["available"] == "10000.00000000"
    assert (await api.client.get("/_sim/state")).json()["accounts"] == ["alice"]
    prices = (await api.client.get("/_sim/prices")).json()
    assert prices == {"BTCUSDT": "30000.00000000", "ETHUSDT": "2000.00000000"}
    missing = await api.client.get("/_sim/state", params={"account": "nobody"})
    assert missing.status_code == 404


async def test_http_advance_price_and_faults(api, alice, sim, market) -> None:
    """POST /_sim/advance, /_sim/price and /_sim/faults act like the in-process controls."""
    t0 = market.now()
    assert (await api.client.post("/_sim/advance", json={"seconds": 30})).json() == {"ok": True}
    assert market.now() == t0 + 30
    await api.client.post("/_sim/price", json={"symbol": "BTCUSDT", "price": "25000"})
    assert sim.index_price("BTCUSDT") == D(25000)
    await api.client.post("/_sim/price", json={"symbol": "BTCUSDT", "price": None})
    assert sim.index_price("BTCUSDT") == D(30000)
    bad = await api.client.post("/_sim/price", json={"symbol": "NOPEUSDT", "price": "1"})
    assert bad.status_code == 400
    fault = await api.client.post("/_sim/faults", json={"maintenance": True})
    assert fault.json()["id"] >= 1
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "40200"
    await api.client.delete("/_sim/faults")
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "00000"
    unknown = await api.client.post("/_sim/faults", json={"explode": True})
    assert unknown.status_code == 400 and "explode" in unknown.json()["error"]


async def test_http_stats_and_rate_limit_switch(api, alice, sim) -> None:
    """GET /_sim/stats counts requests; POST /_sim/rate-limits switches limiting."""
    await api.call("cross_assets", {}, alice)
    stats = (await api.client.get("/_sim/stats")).json()
    assert stats["requests"]["cross_assets"] == 1 and stats["liquidations"] == 0
    await api.client.post("/_sim/rate-limits", json={"enabled": True})
    assert sim.rate_limits is True


def test_advance_needs_a_manual_clock() -> None:
    """advance() on a wall-clock simulator says why it cannot move time."""
    sim = Simulator(WallClock())
    with pytest.raises(TypeError, match="ManualClock"):
        sim.control.advance(1)


def test_state_of_unknown_account() -> None:
    """state() of an unknown account names it."""
    sim = Simulator()
    with pytest.raises(KeyError, match="nobody"):
        sim.control.state("nobody")


def test_duplicate_account_is_refused() -> None:
    """Opening the same account twice fails clearly."""
    sim = Simulator()
    sim.add_account("a")
    with pytest.raises(ValueError, match="already exists"):
        sim.add_account("a")
