"""v2 account endpoints: loanId/repayId, clientOid, riskRateRatio in both readings, flash repay."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_DOWN
from decimal import Decimal as D
from typing import Any

import pytest

from riskd.sim.handlers_v2_common import risk_rate_ratio
from riskd.sim.scenario import flat_scenario

V2: dict[str, Any] = {"api": "v2"}
ISO = {"symbol": "BTCUSDT"}
Q8 = D("0.00000001")


def q8(x: D) -> str:
    return str(x.quantize(Q8, rounding=ROUND_DOWN))


async def _cross_ratio(api, keys) -> D:
    return D((await api.data("cross_risk_rate", {}, keys, **V2))["riskRateRatio"])


async def test_borrow_returns_loan_id_and_raises_the_ratio(api, alice, sim) -> None:
    """A v2 borrow with clientOid answers loanId; riskRateRatio equals the v1 riskRate."""
    assert await _cross_ratio(api, alice) == 0
    body = {"coin": "USDT", "borrowAmount": "30000", "clientOid": "riskd-b1"}
    data = await api.data("cross_borrow", body, alice, **V2)
    assert data["loanId"].isdigit() and data["borrowAmount"] == "30000.00000000"
    assert set(data) == {"loanId", "coin", "borrowAmount"}
    ratio = await _cross_ratio(api, alice)
    assert str(ratio) == q8(D("3000.025") / D("15999.75"))
    v1 = await api.data("cross_risk_rate", {"coin": "USDT"}, alice)
    assert D(v1["riskRate"]) == ratio
    loans = await api.data("cross_loans", {"startTime": "1", "loanId": data["loanId"]}, alice, **V2)
    assert [r["loanId"] for r in loans["resultList"]] == [data["loanId"]]


async def test_the_same_client_oid_twice_is_refused_and_not_executed(api, alice, sim) -> None:
    """A repeated borrow clientOid answers 50060 naming the first loan; one loan is booked."""
    body = {"coin": "USDT", "borrowAmount": "100", "clientOid": "dup-1"}
    first = await api.data("cross_borrow", body, alice, **V2)
    status, code, msg = await api.error("cross_borrow", body, alice, **V2)
    assert (status, code) == (400, "50060") and first["loanId"] in msg
    assert sim.control.state("alice").scope("cross").balance("USDT").borrow == D(100)
    repay = {**ISO, "coin": "USDT", "repayAmount": "1", "clientOid": "dup-1"}
    assert (await api.error("isolated_repay", repay, alice, **V2))[1] == "50060"
    long_oid = {"coin": "USDT", "borrowAmount": "1", "clientOid": "x" * 51}
    assert (await api.error("cross_borrow", long_oid, alice, **V2))[1] == "40305"


async def test_repay_returns_repay_id_and_remaining_debt(api, alice) -> None:
    """Cross repay answers repayId and remainDebtAmount and lowers riskRateRatio."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "30000"}, alice, **V2)
    before = await _cross_ratio(api, alice)
    data = await api.data("cross_repay", {"coin": "USDT", "repayAmount": "10000"}, alice, **V2)
    assert data["repayId"].isdigit() and data["repayAmount"] == "10000.00000000"
    assert data["remainDebtAmount"] == "20000.25000000"  # 30000 + 0.25 interest - 10000
    assert await _cross_ratio(api, alice) < before
    rows = await api.data("cross_repays", {"startTime": "1"}, alice, **V2)
    row = rows["resultList"][0]
    assert row["repayId"] == data["repayId"] and row["repayType"] == "manual_repay"
    assert (row["repayInterest"], row["repayPrincipal"]) == ("0.25000000", "9999.75000000")


async def test_isolated_repay_with_client_oid(api, alice) -> None:
    """Isolated borrow and repay take clientOid and name the symbol in their replies."""
    body = {**ISO, "coin": "BTC", "borrowAmount": "0.1", "clientOid": "ib-1"}
    loan = await api.data("isolated_borrow", body, alice, **V2)
    assert loan["symbol"] == "BTCUSDT" and loan["loanId"].isdigit()
    repay = {**ISO, "coin": "BTC", "repayAmount": "0.05", "clientOid": "ir-1"}
    data = await api.data("isolated_repay", repay, alice, **V2)
    assert data["symbol"] == "BTCUSDT" and D(data["remainDebtAmount"]) > D("0.05")


async def test_isolated_risk_rate_is_a_paged_get_list_over_all_symbols(api, alice) -> None:
    """One GET answers every isolated symbol; pageNum/pageSize page it; symbol filters."""
    await api.data("isolated_borrow", {**ISO, "coin": "BTC", "borrowAmount": "0.5"}, alice, **V2)
    rows = await api.data("isolated_risk_rate", {}, alice, **V2)
    assert [r["symbol"] for r in rows] == ["BTCUSDT", "ETHUSDT"]
    assert D(rows[0]["riskRateRatio"]) > 0 and rows[1]["riskRateRatio"] == "0.00000000"
    page2 = await api.data("isolated_risk_rate", {"pageNum": 2, "pageSize": 1}, alice, **V2)
    assert [r["symbol"] for r in page2] == ["ETHUSDT"]
    assert await api.data("isolated_risk_rate", {"pageNum": 3, "pageSize": 1}, alice, **V2) == []
    one = await api.data("isolated_risk_rate", {"symbol": "ETHUSDT"}, alice, **V2)
    assert [r["symbol"] for r in one] == ["ETHUSDT"]
    bad = await api.error("isolated_risk_rate", {"pageSize": 501}, alice, **V2)
    assert bad[1] == "40020"


@pytest.mark.parametrize("reading", ["liabilities_over_assets", "assets_over_liabilities"])
async def test_risk_rate_reading_is_a_scenario_setting(make, connect, reading) -> None:
    """The scenario's risk_rate_reading serves the risk rate or its reciprocal."""
    scenario = dataclasses.replace(flat_scenario(), risk_rate_reading=reading)
    sim, _, protocol = make(scenario=scenario)
    keys = sim.add_account("alice")
    async with connect(sim, protocol) as api:
        empty = await _cross_ratio(api, keys)
        await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "30000"}, keys, **V2)
        ratio = await _cross_ratio(api, keys)
        iso = await api.data("isolated_risk_rate", ISO, keys, **V2)
    rate = sim.control.state("alice").risk_rate("cross")
    if reading == "liabilities_over_assets":
        assert empty == 0 and str(ratio) == q8(rate)
    else:
        assert empty == D("99999999") and str(ratio) == q8(1 / rate)
        assert D(iso[0]["riskRateRatio"]) == D("99999999")
    assert ratio == D(q8(risk_rate_ratio(rate, reading)))


def test_risk_rate_ratio_caps_and_reciprocates() -> None:
    """An infinite rate is capped (or 0 read as assets/liabilities); 0.5 reads as 2."""
    inf = D("Infinity")
    assert risk_rate_ratio(inf, "liabilities_over_assets") == D("99999999")
    assert risk_rate_ratio(inf, "assets_over_liabilities") == 0
    assert risk_rate_ratio(D("0.5"), "assets_over_liabilities") == 2
    assert risk_rate_ratio(D("0.5"), "liabilities_over_assets") == D("0.5")


async def test_max_borrowable_and_transfer_out_take_only_a_symbol(api, alice) -> None:
    """Isolated limits answer base and quote figures for the symbol; cross ones per coin."""
    iso = await api.data("isolated_max_borrowable", ISO, alice, **V2)
    assert (iso["baseCoin"], iso["quoteCoin"]) == ("BTC", "USDT")
    assert D(iso["baseCoinMaxBorrowAmount"]) > 0 and D(iso["quoteCoinMaxBorrowAmount"]) > 0
    out = await api.data("isolated_max_transfer_out", ISO, alice, **V2)
    assert out["quoteCoinMaxTransferOutAmount"] == "5000.00000000"
    cross = await api.data("cross_max_borrowable", {"coin": "USDT"}, alice, **V2)
    assert set(cross) == {"coin", "maxBorrowableAmount"}
    assert (await api.data("cross_max_transfer_out", {"coin": "USDT"}, alice, **V2))[
        "maxTransferOutAmount"
    ] == "10000.00000000"


async def _all_in(api, keys) -> None:
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "20000"}, keys, **V2)
    order = {
        "symbol": "BTCUSDT",
        "side": "buy",
        "orderType": "market",
        "quoteSize": "30000",
        "loanType": "normal",
        "force": "gtc",
    }
    await api.data("cross_place_order", order, keys, **V2)


async def test_cross_flash_repay_reaches_finish_and_leaves_no_debt(api, alice, sim) -> None:
    """v2 flash repay answers repayId; its status query reaches FINISH with the debt gone."""
    await _all_in(api, alice)
    data = await api.data("cross_flash_repay", {"coin": "USDT"}, alice, **V2)
    assert set(data) == {"repayId", "coin"} and data["repayId"].isdigit()
    status = await api.data("cross_flash_repay_status", {"idList": [data["repayId"]]}, alice, **V2)
    assert status == [{"repayId": data["repayId"], "status": "BEGIN"}]
    sim.control.advance(2)
    status = await api.data("cross_flash_repay_status", {"idList": [data["repayId"]]}, alice, **V2)
    assert status == [{"repayId": data["repayId"], "status": "FINISH"}]
    usdt = sim.control.state("alice").scope("cross").balance("USDT")
    assert usdt.borrow == 0 and usdt.interest == 0
    repays = await api.data("cross_repays", {"startTime": "1"}, alice, **V2)
    assert repays["resultList"][0]["repayType"] == "auto_repay"


async def test_isolated_flash_repay_takes_symbol_list(api, alice, sim) -> None:
    """symbolList names the pairs; each answers repayId, symbol and result success."""
    await api.data("isolated_borrow", {**ISO, "coin": "BTC", "borrowAmount": "0.1"}, alice, **V2)
    data = await api.data("isolated_flash_repay", {"symbolList": ["BTCUSDT"]}, alice, **V2)
    assert [(d["symbol"], d["result"]) for d in data] == [("BTCUSDT", "success")]
    everything = await api.data("isolated_flash_repay", {}, alice, **V2)
    assert [d["symbol"] for d in everything] == ["BTCUSDT"]
    sim.control.advance(2)
    ids = {"idList": [data[0]["repayId"]]}
    assert (await api.data("isolated_flash_repay_status", ids, alice, **V2))[0]["status"] == (
        "FINISH"
    )
    assert sim.control.state("alice").scope("isolated:BTCUSDT").balance("BTC").borrow == 0
    repays = await api.data("isolated_repays", {**ISO, "startTime": "1"}, alice, **V2)
    assert repays["resultList"][0]["repayType"] == "auto-repay"


async def test_v1_and_v2_share_one_ledger(api, alice) -> None:
    """A v2 borrow shows in v1 assets and a v1 repay in v2 assets."""
    await api.data("cross_borrow", {"coin": "BTC", "borrowAmount": "0.2"}, alice, **V2)
    v1 = await api.data("cross_assets", {"coin": "BTC"}, alice)
    assert v1[0]["borrow"] == "0.20000000"
    await api.data("cross_repay", {"coin": "BTC", "repayAmount": "0.3"}, alice)
    v2 = await api.data("cross_assets", {"coin": "BTC"}, alice, **V2)
    assert v2[0]["borrow"] == "0.00000000" and v2[0]["coupon"] == "0.00000000"
    assert set(v2[0]) >= {"net", "uTime", "cTime", "totalAmount"}


async def test_unified_account_gets_40085_on_every_classic_endpoint(api, sim) -> None:
    """A Unified Trading Account is refused with 40085 on v1 and v2; others are served."""
    uta = sim.add_account("uta", unified=True)
    classic = sim.add_account("classic")
    for api_version in ("v1", "v2"):
        params = {} if api_version == "v2" else {"coin": "USDT"}
        status, code, msg = await api.error("cross_risk_rate", params, uta, api=api_version)
        assert (status, code) == (400, "40085") and "Unified Account" in msg
        await api.data("cross_risk_rate", params, classic, api=api_version)
    assert (await api.data("currencies", {}, None, **V2))[0]["symbol"] == "BTCUSDT"
