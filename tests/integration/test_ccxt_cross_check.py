"""Cross-check with a client nobody here wrote: ccxt (4.1.87 up to 4.5.90, which still has the
v1 paths) signs v1 margin requests independently; the simulator, served for real as
`riskd sim serve` does, must accept them. The v2 acceptance test is test_ccxt_v2.py."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ccxt = pytest.importorskip("ccxt", minversion="4.1.87")

from riskd.cli.sim import prepare  # noqa: E402
from riskd.sim.serve import RunningServer, serve_in_thread  # noqa: E402

ENV = {
    "RISKD_API_KEY": "bg_ccxt_key",
    "RISKD_API_SECRET": "ccxt-secret-value",
    "RISKD_API_PASSPHRASE": "ccxtpass",
}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, RunningServer]]:
    prepared = prepare("default", None, ENV)
    with serve_in_thread(prepared.sim) as server:
        yield prepared.sim, server


def _exchange(url: str, secret: str = ENV["RISKD_API_SECRET"]) -> Any:
    exchange = ccxt.bitget(
        {
            "apiKey": ENV["RISKD_API_KEY"],
            "secret": secret,
            "password": ENV["RISKD_API_PASSPHRASE"],
            "enableRateLimit": False,
            "timeout": 5000,
        }
    )
    exchange.urls["api"]["margin"] = url
    return exchange


def test_ccxt_borrows_repays_and_reads_risk_rates(served) -> None:
    """ccxt's signatures are accepted for POST bodies and sorted GET queries alike."""
    sim, server = served
    ex = _exchange(server.url)
    before = sim.control.state("main").scope("cross").balance("USDT").borrow

    borrowed = ex.privateMarginPostMarginV1CrossAccountBorrow(
        {"coin": "USDT", "borrowAmount": "25"}
    )
    assert borrowed["code"] == "00000"
    assert borrowed["data"]["borrowAmount"] == "25.00000000"
    assert sim.control.state("main").scope("cross").balance("USDT").borrow == before + 25

    rate = ex.privateMarginGetMarginV1CrossAccountRiskRate({"coin": "USDT"})
    expected = sim.control.state("main").risk_rate("cross")
    assert abs(D(rate["data"]["riskRate"]) - expected) < D("0.0001")

    repaid = ex.privateMarginPostMarginV1CrossAccountRepay({"coin": "USDT", "repayAmount": "25"})
    assert repaid["code"] == "00000" and repaid["data"]["repayAmount"] == "25.00000000"

    iso = ex.privateMarginPostMarginV1IsolatedAccountRiskRate({"symbol": "BTCUSDT"})
    assert iso["data"][0]["symbol"] == "BTCUSDT" and D(iso["data"][0]["riskRate"]) > 0

    out = ex.privateMarginGetMarginV1IsolatedAccountMaxTransferOutAmount(
        {"symbol": "BTCUSDT", "coin": "USDT"}
    )
    assert out["data"]["symbol"] == "BTCUSDT"

    loans = ex.privateMarginGetMarginV1CrossLoanList({"startTime": "1", "coin": "USDT"})
    assert any(r["amount"] == "25.00000000" for r in loans["data"]["resultList"])

    tiers = ex.publicMarginGetMarginV1CrossPublicTierData({"coin": "USDT"})
    assert tiers["data"][0]["maintainMarginRate"] == "0.10000000"


def test_ccxt_with_a_wrong_secret_is_refused(served) -> None:
    """A wrong secret gives 40009, which ccxt maps to AuthenticationError."""
    _, server = served
    ex = _exchange(server.url, secret="not-the-secret")
    with pytest.raises(ccxt.AuthenticationError, match="40009"):
        ex.privateMarginPostMarginV1CrossAccountBorrow({"coin": "USDT", "borrowAmount": "1"})


def test_ccxt_sees_documented_business_errors(served) -> None:
    """A repay below the interest is 50042 for ccxt too (an ExchangeError)."""
    _, server = served
    ex = _exchange(server.url)
    ex.privateMarginPostMarginV1CrossAccountBorrow({"coin": "BTC", "borrowAmount": "0.01"})
    with pytest.raises(ccxt.ExchangeError, match="50042"):
        ex.privateMarginPostMarginV1CrossAccountRepay({"coin": "BTC", "repayAmount": "0.00000001"})
