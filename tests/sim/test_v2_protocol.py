"""v2 routing, envelope, signing, per-UID/IP limits per version, and the new scenario keys."""

from __future__ import annotations

from typing import Any

import pytest

from riskd.bitget.endpoints import ENDPOINTS_V2, endpoint
from riskd.clock import ManualClock
from riskd.sim import FaultSpec, Simulator
from riskd.sim.scenario import ScenarioError, parse_scenario

V2: dict[str, Any] = {"api": "v2"}


class Mono:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


async def test_every_v2_endpoint_is_routed(api, alice) -> None:
    """Each v2 path answers (success or a parameter error), never 40404."""
    for ep in ENDPOINTS_V2:
        resp = await api.call(ep.name, {}, alice if ep.signed else None, api="v2")
        assert resp.json()["code"] != "40404", ep.path


async def test_wrong_method_and_envelope(api, alice) -> None:
    """A POST to a v2 GET path is 40404; success wraps data with code, msg, requestTime."""
    path = endpoint("cross_risk_rate", api="v2").path
    resp = await api.client.post(path, content=b"{}", headers={"Content-Type": "application/json"})
    assert resp.json()["code"] == "40404" and "takes GET" in resp.json()["msg"]
    body = (await api.call("cross_risk_rate", {}, alice, api="v2")).json()
    assert set(body) == {"code", "msg", "requestTime", "data"}
    assert (body["code"], body["msg"]) == ("00000", "success")
    assert isinstance(body["requestTime"], int)


async def test_server_time_and_public_currencies(api, protocol) -> None:
    """v2 server time is {serverTime: '<ms>'}; currencies are public with the risk ratios."""
    time_data = await api.data("server_time", {}, None, **V2)
    assert time_data == {"serverTime": str(protocol.now_ms())}
    cur = await api.data("currencies", {}, None, **V2)
    assert cur[0]["warningRiskRatio"] == "0.80000000"
    assert cur[0]["liquidationRiskRatio"] == "1.00000000"
    assert cur[0]["maxCrossedLeverage"] == "3"


async def test_tier_and_interest_data_are_signed_on_v2(api, alice) -> None:
    """cross tier data needs a key on v2 (40001 without); signed it answers the mmr."""
    assert (await api.call("cross_tier_data", {"coin": "USDT"}, None, api="v1")).is_success
    resp = await api.client.get(endpoint("cross_tier_data", api="v2").path + "?coin=USDT")
    assert resp.json()["code"] == "40001"
    tiers = await api.data("cross_tier_data", {"coin": "USDT"}, alice, **V2)
    assert tiers[0]["maintainMarginRate"] == "0.10000000"
    rates = await api.data("cross_interest_rate_and_limit", {"coin": "BTC"}, alice, **V2)
    assert set(rates[0]) >= {"annualInterestRate", "vipList", "transferable", "borrowable"}
    iso = await api.data("isolated_interest_rate_and_limit", {"symbol": "BTCUSDT"}, alice, **V2)
    assert "quoteList" in iso[0] and "baseAnnuallyInterestRate" in iso[0]
    record = await api.data("interest_rate_record", {"coin": "USDT"}, alice, **V2)
    assert set(record) == {"coin", "dailyInterestRate", "annualInterestRate", "updatedTime"}


async def test_wrong_secret_is_40009_on_v2(api, sim) -> None:
    """A request signed with another secret is refused with 40009 sign signature error."""
    keys = sim.add_account("alice")
    other = sim.add_account("mallory")
    forged = type(keys)(keys.api_key, other.secret, keys.passphrase, "alice")
    status, code, msg = await api.error(
        "cross_borrow", {"coin": "USDT", "borrowAmount": "1"}, forged, **V2
    )
    assert (status, code, msg) == (400, "40009", "sign signature error")


async def test_reference_signature_vector_is_accepted(connect) -> None:
    """ENDPOINTS-v2.md §3's vector for GET crossed risk-rate at 1700000000000 verifies."""
    sim = Simulator(ManualClock(), protocol_clock=ManualClock(1_700_000_000.0), rate_limits=False)
    sim.add_account("ref", api_key="k", secret="test-secret", passphrase="p")
    headers = {
        "ACCESS-KEY": "k",
        "ACCESS-SIGN": "yBc3KXc2b3pC5W3gF8QK6meA/viFrBG8JJajMCQX9/c=",
        "ACCESS-TIMESTAMP": "1700000000000",
        "ACCESS-PASSPHRASE": "p",
    }
    async with connect(sim, ManualClock(1_700_000_000.0)) as api:
        resp = await api.client.get("/api/v2/margin/crossed/account/risk-rate", headers=headers)
    assert resp.json()["code"] == "00000"


async def test_uid_limits_follow_the_v2_table_per_version(make, connect) -> None:
    """v2 cross assets count per UID across IPs (v1: per IP); v1 and v2 have own windows."""
    mono = Mono()
    sim, _, protocol = make(rate_limits=True, monotonic=mono)
    alice = sim.add_account("alice")
    limit = endpoint("cross_assets", api="v2").limit
    async with (
        connect(sim, protocol, ip="10.0.0.1") as a,
        connect(sim, protocol, ip="10.0.0.2") as b,
    ):
        codes = [
            (await a.call("cross_assets", {}, alice, api="v2")).status_code for _ in range(limit)
        ]
        assert 429 not in codes
        assert (await b.call("cross_assets", {}, alice, api="v2")).status_code == 429
        assert (await b.call("cross_assets", {}, alice)).status_code == 200  # v1: IP 10.0.0.2
        for _ in range(limit):
            assert (await a.call("cross_assets", {}, alice)).status_code == 200
        assert (await a.call("cross_assets", {}, alice)).status_code == 429
        mono.t += 1.01
        assert (await b.call("cross_assets", {}, alice, api="v2")).status_code == 200


async def test_cross_repay_history_counts_per_ip_on_v2(make, connect) -> None:
    """v2 cross repay-history is IP-scoped (sic): two keys on one IP share its window."""
    mono = Mono()
    sim, _, protocol = make(rate_limits=True, monotonic=mono)
    alice, bob = sim.add_account("alice"), sim.add_account("bob")
    since = {"startTime": "1"}
    async with connect(sim, protocol) as api:
        for _ in range(10):
            assert (await api.call("cross_repays", since, alice, api="v2")).status_code == 200
        assert (await api.call("cross_repays", since, bob, api="v2")).status_code == 429
        assert (
            await api.call("isolated_repays", {**since, "symbol": "BTCUSDT"}, bob, api="v2")
        ).is_success


BASE = 'name = "t"\n[markets]\nBTCUSDT = "30000"\n'


def _with_reading(reading: str) -> str:
    return f'risk_rate_reading = "{reading}"\n' + BASE


def test_scenario_keys_risk_rate_reading_and_unified() -> None:
    """risk_rate_reading and accounts[].unified parse; bad values name their key."""
    scenario = parse_scenario(
        _with_reading("assets_over_liabilities") + '[[accounts]]\nname = "u"\nunified = true\n'
    )
    assert scenario.risk_rate_reading == "assets_over_liabilities"
    setup = scenario.account("u")
    assert setup is not None and setup.unified
    assert parse_scenario(BASE).risk_rate_reading == "liabilities_over_assets"
    with pytest.raises(ScenarioError, match="risk_rate_reading: expected one of"):
        parse_scenario(_with_reading("sideways"))
    with pytest.raises(ScenarioError, match=r"accounts\[0\].unified: expected true or false"):
        parse_scenario(BASE + '[[accounts]]\nname = "u"\nunified = "yes"\n')


async def test_scenario_unified_account_answers_40085(make, connect) -> None:
    """An account the scenario marks unified gets 40085 from classic endpoints."""
    scenario = parse_scenario(BASE + '[[accounts]]\nname = "u"\nunified = true\n')
    sim, _, protocol = make(scenario=scenario)
    keys = sim.add_account("u")
    async with connect(sim, protocol) as api:
        assert (await api.error("cross_assets", {}, keys, **V2))[1] == "40085"


async def test_faults_by_logical_name_hit_both_versions(api, alice, sim) -> None:
    """A maintenance fault on cross_assets answers 40200 on v1 and on v2 alike."""
    sim.control.inject_fault(FaultSpec(maintenance=True, endpoints=("cross_assets",)))
    assert (await api.error("cross_assets", {}, alice))[1] == "40200"
    assert (await api.error("cross_assets", {}, alice, **V2))[1] == "40200"
    assert (await api.call("cross_risk_rate", {}, alice, api="v2")).is_success
    assert sim.stats.requests["cross_assets"] == 2
