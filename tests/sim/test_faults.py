"""Faults on demand: 5xx, 429 storms, maintenance, latency, timeouts, malformed bodies, windows."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

import pytest

from riskd.sim import FaultSpec
from riskd.sim.faults import Faults

BORROW = {"coin": "USDT", "borrowAmount": "10"}


def usdt_borrow(sim) -> D:
    return sim.control.state("alice").scope("cross").balance("USDT").borrow


async def test_error_rate_answers_5xx_without_executing(api, alice, sim) -> None:
    """error_rate 1 answers 503 with no JSON body, and the borrow does not happen."""
    sim.control.inject_fault(FaultSpec(error_rate=1.0, endpoints=("cross_borrow",)))
    resp = await api.call("cross_borrow", BORROW, alice)
    assert resp.status_code == 503
    with pytest.raises(json.JSONDecodeError):
        resp.json()
    assert usdt_borrow(sim) == 0
    assert (await api.call("cross_assets", {}, alice)).status_code == 200
    assert sim.stats.faults == 1


async def test_429_storm(api, alice, sim) -> None:
    """rate_limit_rate 1 answers HTTP 429 regardless of the real limits."""
    sim.control.inject_fault(FaultSpec(rate_limit_rate=1.0))
    resp = await api.call("cross_assets", {}, alice)
    assert resp.status_code == 429 and resp.json()["code"] == "429"
    assert sim.stats.rate_limited == 1


async def test_maintenance_answers_40200(api, alice, sim) -> None:
    """maintenance answers 40200 (server upgrade) and executes nothing."""
    sim.control.inject_fault(FaultSpec(maintenance=True))
    status, code, msg = await api.error("cross_borrow", BORROW, alice)
    assert (status, code, msg) == (400, "40200", "Server upgrade, please try again later")
    assert usdt_borrow(sim) == 0


async def test_malformed_body_after_execution(api, alice, sim) -> None:
    """malformed_rate 1: the answer is truncated JSON, but the borrow did happen."""
    sim.control.inject_fault(FaultSpec(malformed_rate=1.0))
    resp = await api.call("cross_borrow", BORROW, alice)
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)
    assert usdt_borrow(sim) == D(10)


async def test_timeout_executes_then_withholds_the_answer(api, alice, sim) -> None:
    """timeout_rate 1: the borrow happens, the answer does not come within a client's wait."""
    sim.control.inject_fault(FaultSpec(timeout_rate=1.0, timeout_s=5.0))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(api.call("cross_borrow", BORROW, alice), 0.2)
    assert usdt_borrow(sim) == D(10)


async def test_timeout_ends_with_a_504_gateway_answer(api, alice, sim) -> None:
    """After timeout_s the simulator answers 504 without a JSON body (a gateway timeout)."""
    sim.control.inject_fault(FaultSpec(timeout_rate=1.0, timeout_s=0.01))
    resp = await api.call("cross_assets", {}, alice)
    assert resp.status_code == 504


async def test_latency_delays_the_answer(api, alice, sim) -> None:
    """latency_s holds the answer back on the wall clock (a shorter wait gives up)."""
    sim.control.inject_fault(FaultSpec(latency_s=5.0, endpoints=("cross_assets",)))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(api.call("cross_assets", {}, alice), 0.2)
    assert (await api.call("cross_max_transfer_out", {"coin": "USDT"}, alice)).status_code == 200


async def test_faults_respect_their_time_window(api, alice, sim) -> None:
    """A fault with start_s/end_s applies only within that window of scenario time."""
    sim.control.inject_fault(FaultSpec(maintenance=True, start_s=10, end_s=20))
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "00000"
    sim.control.advance(10)
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "40200"
    sim.control.advance(10)
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "00000"


async def test_clear_faults(api, alice, sim) -> None:
    """clear_faults removes every fault; remove_fault one of them."""
    fid = sim.control.inject_fault(FaultSpec(maintenance=True))
    sim.control.remove_fault(fid)
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "00000"
    sim.control.inject_fault(FaultSpec(maintenance=True))
    sim.control.clear_faults()
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "00000"


def test_shares_are_seeded_and_reproducible() -> None:
    """The same seed gives the same sequence of faulted requests; the share is about right."""

    def run(seed: int) -> list[bool]:
        faults = Faults(seed=seed)
        faults.add(FaultSpec(error_rate=0.3))
        return [faults.decide("cross_assets", 0.0).error_status is not None for _ in range(400)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 80 < sum(first) < 160


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_status": 404}, "5xx"),
        ({"endpoints": ("cross_asets",)}, "cross_asets"),
        ({"start_s": 10, "end_s": 5}, "end_s"),
        ({"latency_s": -1}, "latency_s"),
    ],
)
def test_bad_fault_specs_are_refused(kwargs, text) -> None:
    """Impossible fault specs fail at once with a message naming the field."""
    with pytest.raises(ValueError, match=text):
        FaultSpec(**kwargs)
