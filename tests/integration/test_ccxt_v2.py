"""Acceptance (issue 14): ccxt 4.5.90 — its own v2 path table and signing — drives the
simulator over the margin API v2, served for real on a loopback port as `riskd sim serve`
does (the default scenario; a manual market clock so that flash repay's 2 s pass on demand)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

ccxt = pytest.importorskip("ccxt", minversion="4.5.90")

from riskd.clock import ManualClock  # noqa: E402
from riskd.sim import Simulator  # noqa: E402
from riskd.sim.serve import RunningServer, serve_in_thread  # noqa: E402

KEY, SECRET, PASSPHRASE = "bg_ccxt_v2_key", "ccxt-v2-secret-value", "ccxtv2pass"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, RunningServer]]:
    sim = Simulator(clock=ManualClock(1_700_000_000.0), scenario="default")
    sim.add_account("main", KEY, SECRET, PASSPHRASE)
    with serve_in_thread(sim) as server:
        yield sim, server


def _exchange(url: str, secret: str = SECRET) -> Any:
    exchange = ccxt.bitget(
        {
            "apiKey": KEY,
            "secret": secret,
            "password": PASSPHRASE,
            "enableRateLimit": False,
            "timeout": 5000,
        }
    )
    exchange.urls["api"]["margin"] = url
    return exchange


def _cross_ratio(ex: Any) -> D:
    return D(ex.privateMarginGetV2MarginCrossedAccountRiskRate()["data"]["riskRateRatio"])


def test_borrow_with_client_oid_returns_loan_id_and_raises_the_ratio(served) -> None:
    """A v2 borrow with clientOid answers loanId; riskRateRatio rises; the id is unique."""
    sim, server = served
    ex = _exchange(server.url)
    before = _cross_ratio(ex)
    body = {"coin": "BTC", "borrowAmount": "0.002", "clientOid": "ccxt-borrow-1"}
    loan = ex.privateMarginPostV2MarginCrossedAccountBorrow(body)
    assert loan["code"] == "00000" and loan["data"]["loanId"].isdigit()
    assert loan["data"]["borrowAmount"] == "0.00200000"
    assert _cross_ratio(ex) > before
    assert sim.control.state("main").scope("cross").balance("BTC").borrow == D("0.002")
    with pytest.raises(ccxt.ExchangeError, match="50060"):
        ex.privateMarginPostV2MarginCrossedAccountBorrow(body)


def test_repay_returns_repay_id_and_remaining_debt_and_lowers_the_ratio(served) -> None:
    """A v2 repay answers repayId and remainDebtAmount; riskRateRatio falls."""
    _, server = served
    ex = _exchange(server.url)
    before = _cross_ratio(ex)
    repaid = ex.privateMarginPostV2MarginCrossedAccountRepay(
        {"coin": "BTC", "repayAmount": "0.0005"}
    )
    data = repaid["data"]
    assert data["repayId"].isdigit() and data["repayAmount"] == "0.00050000"
    assert D("0.0015") < D(data["remainDebtAmount"]) < D("0.002")
    assert _cross_ratio(ex) < before


def test_isolated_risk_rate_is_a_get_list(served) -> None:
    """One GET lists every isolated symbol with its riskRateRatio (BTCUSDT is leveraged)."""
    _, server = served
    rows = _exchange(server.url).privateMarginGetV2MarginIsolatedAccountRiskRate()["data"]
    assert isinstance(rows, list)
    ratios = {r["symbol"]: D(r["riskRateRatio"]) for r in rows}
    assert ratios["BTCUSDT"] > 0


def test_cross_tier_data_is_signed(served) -> None:
    """ccxt's signed tier-data call answers the mmr; the same path unsigned is 40001."""
    _, server = served
    tiers = _exchange(server.url).privateMarginGetV2MarginCrossedTierData({"coin": "USDT"})
    assert tiers["data"][0]["maintainMarginRate"] == "0.10000000"
    unsigned = httpx.get(server.url + "/api/v2/margin/crossed/tier-data?coin=USDT", timeout=5)
    assert unsigned.json()["code"] == "40001"


def test_repay_history_pages_with_limit_and_id_less_than(served) -> None:
    """Repay history pages inside resultList: limit=2, then idLessThan = the page's minId."""
    _, server = served
    ex = _exchange(server.url)
    for amount in ("0.0001", "0.0002", "0.0003"):
        ex.privateMarginPostV2MarginCrossedAccountRepay({"coin": "BTC", "repayAmount": amount})
    query = {"startTime": "1", "coin": "BTC", "limit": "2"}
    first = ex.privateMarginGetV2MarginCrossedRepayHistory(query)["data"]
    amounts = [r["repayAmount"] for r in first["resultList"]]
    assert amounts == ["0.00030000", "0.00020000"]
    assert first["minId"] == first["resultList"][-1]["repayId"]
    second = ex.privateMarginGetV2MarginCrossedRepayHistory(
        {**query, "idLessThan": first["minId"]}
    )["data"]
    assert [r["repayAmount"] for r in second["resultList"]] == ["0.00010000", "0.00050000"]
    assert int(second["maxId"]) < int(first["minId"])


def test_flash_repay_reaches_finish_and_leaves_no_debt(served) -> None:
    """Cross flash repay answers repayId; the status query reaches FINISH; no USDT debt left."""
    sim, server = served
    ex = _exchange(server.url)
    assert sim.control.state("main").scope("cross").balance("USDT").borrow > 0
    started = ex.privateMarginPostV2MarginCrossedAccountFlashRepay({"coin": "USDT"})["data"]
    repay_id = started["repayId"]
    assert repay_id.isdigit()
    sim.control.advance(2)
    status = ex.privateMarginPostV2MarginCrossedAccountQueryFlashRepayStatus(
        {"idList": [repay_id]}
    )["data"]
    assert status == [{"repayId": repay_id, "status": "FINISH"}]
    usdt = sim.control.state("main").scope("cross").balance("USDT")
    assert usdt.borrow == 0 and usdt.interest == 0


def test_wrong_secret_gets_40009(served) -> None:
    """A wrong secret gives 40009, which ccxt maps to AuthenticationError."""
    _, server = served
    ex = _exchange(server.url, secret="not-the-secret")
    with pytest.raises(ccxt.AuthenticationError, match="40009"):
        ex.privateMarginPostV2MarginCrossedAccountBorrow({"coin": "USDT", "borrowAmount": "1"})
