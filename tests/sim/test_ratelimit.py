"""Rate limits: per endpoint and scope (UID per key, IP per address), the public 20/2 s rule."""

from __future__ import annotations

from typing import Any

import pytest

from riskd.bitget.endpoints import BY_NAME, PUBLIC_GLOBAL_LIMIT, PUBLIC_GLOBAL_WINDOW_S


class Mono:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def limited(make: Any) -> tuple[Any, Any, Mono]:
    mono = Mono()
    sim, _market, protocol = make(rate_limits=True, monotonic=mono)
    return sim, protocol, mono


async def _codes(api, name: str, params: dict[str, str], keys, n: int) -> list[int]:
    return [(await api.call(name, params, keys)).status_code for _ in range(n)]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("cross_max_borrowable", {"coin": "USDT"}),
        ("isolated_place_order", {"symbol": "BTCUSDT"}),
        ("cross_loans", {"startTime": "1"}),
    ],
)
async def test_uid_limit_is_the_tables_per_key(limited, connect, name, params) -> None:
    """The (limit+1)-th request in a second gets HTTP 429; another key is counted apart."""
    sim, protocol, _mono = limited
    alice, bob = sim.add_account("alice"), sim.add_account("bob")
    limit = BY_NAME[name].limit
    async with connect(sim, protocol) as api:
        codes = await _codes(api, name, params, alice, limit + 1)
        assert 429 not in codes[:limit]
        assert codes[limit] == 429
        assert (await api.call(name, params, bob)).status_code != 429


async def test_isolated_order_limit_is_5_and_cross_10(limited, connect) -> None:
    """isolated placeOrder allows 5/s, cross placeOrder 10/s (2024 update of the document)."""
    sim, protocol, _ = limited
    alice = sim.add_account("alice")
    async with connect(sim, protocol) as api:
        iso = await _codes(api, "isolated_place_order", {"symbol": "BTCUSDT"}, alice, 6)
        cross = await _codes(api, "cross_place_order", {"symbol": "BTCUSDT"}, alice, 11)
    assert iso.count(429) == 1 and iso[-1] == 429
    assert cross.count(429) == 1 and cross[-1] == 429


async def test_ip_limit_counts_per_address_not_per_key(limited, connect) -> None:
    """An IP-scoped endpoint (cross assets) counts both keys from one address together."""
    sim, protocol, _ = limited
    alice, bob = sim.add_account("alice"), sim.add_account("bob")
    async with connect(sim, protocol, ip="10.0.0.1") as api:
        codes = await _codes(api, "cross_assets", {}, alice, 5)
        codes += await _codes(api, "cross_assets", {}, bob, 6)
    assert codes[:10].count(429) == 0 and codes[10] == 429
    async with connect(sim, protocol, ip="10.0.0.2") as other:
        assert (await other.call("cross_assets", {}, alice)).status_code == 200


async def test_window_slides_with_the_monotonic_clock(limited, connect) -> None:
    """After the window has passed, requests are accepted again."""
    sim, protocol, mono = limited
    alice = sim.add_account("alice")
    async with connect(sim, protocol) as api:
        codes = await _codes(api, "cross_repays", {"startTime": "1"}, alice, 11)
        assert codes[-1] == 429
        mono.t += 1.0
        assert (await api.call("cross_repays", {"startTime": "1"}, alice)).status_code == 200


async def test_virtual_time_does_not_refill_the_window(limited, connect) -> None:
    """Rate windows use the wall (monotonic), not market time: advancing market time is no help."""
    sim, protocol, _ = limited
    alice = sim.add_account("alice")
    async with connect(sim, protocol) as api:
        await _codes(api, "cross_repays", {"startTime": "1"}, alice, 10)
        sim.control.advance(3600)
        assert (await api.call("cross_repays", {"startTime": "1"}, alice)).status_code == 429


async def test_public_global_limit_20_per_2_seconds(limited, connect) -> None:
    """Public endpoints share 20 requests per 2 s per IP, on top of their own limits."""
    sim, protocol, mono = limited
    calls = [
        ("cross_tier_data", {"coin": "USDT"}),
        ("isolated_tier_data", {"symbol": "BTCUSDT"}),
        ("currencies", {}),
        ("cross_interest_rate_and_limit", {"coin": "BTC"}),
        ("server_time", {}),
    ]
    async with connect(sim, protocol) as api:
        codes = []
        for i in range(PUBLIC_GLOBAL_LIMIT + 1):
            name, params = calls[i % len(calls)]
            codes.append((await api.call(name, params)).status_code)
        assert codes[:PUBLIC_GLOBAL_LIMIT].count(429) == 0
        assert codes[PUBLIC_GLOBAL_LIMIT] == 429
        mono.t += 1.0
        assert (await api.call("currencies")).status_code == 429
        mono.t += PUBLIC_GLOBAL_WINDOW_S
        assert (await api.call("currencies")).status_code == 200


async def test_429_body_and_refusals_are_not_counted(limited, connect) -> None:
    """A 429 carries {"code":"429",...}; refused requests do not extend the window."""
    sim, protocol, mono = limited
    alice = sim.add_account("alice")
    async with connect(sim, protocol) as api:
        await _codes(api, "cross_interests", {"startTime": "1"}, alice, 10)
        for _ in range(5):
            resp = await api.call("cross_interests", {"startTime": "1"}, alice)
            assert resp.status_code == 429
            assert resp.json()["code"] == "429"
        mono.t += 1.0
        codes = await _codes(api, "cross_interests", {"startTime": "1"}, alice, 10)
        assert 429 not in codes
    assert sim.stats.rate_limited == 5


async def test_rate_limiting_can_be_switched_off(limited, connect) -> None:
    """With rate limits off, 30 requests in one instant all pass."""
    sim, protocol, _ = limited
    alice = sim.add_account("alice")
    sim.rate_limits = False
    async with connect(sim, protocol) as api:
        assert 429 not in await _codes(api, "cross_fin_flows", {"startTime": "1"}, alice, 30)
    sim.rate_limits = True
    assert sim.rate_limits is True


async def test_batch_orders_count_one_request_per_ten(limited, connect) -> None:
    """A batch of 25 orders counts as 3 requests of the 5/s isolated batch limit."""
    sim, protocol, _ = limited
    alice = sim.add_account("alice")
    item = {
        "side": "buy",
        "orderType": "limit",
        "price": "20000",
        "baseQuantity": "0.001",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    batch = {"symbol": "BTCUSDT", "orderList": [item] * 25}
    async with connect(sim, protocol) as api:
        assert (await api.call("isolated_batch_place_order", batch, alice)).status_code == 200
        assert (await api.call("isolated_batch_place_order", batch, alice)).status_code == 429
        small = {"symbol": "BTCUSDT", "orderList": [item] * 10}
        assert (await api.call("isolated_batch_place_order", small, alice)).status_code == 200
        assert (await api.call("isolated_batch_place_order", small, alice)).status_code == 200
        assert (await api.call("isolated_batch_place_order", small, alice)).status_code == 429
