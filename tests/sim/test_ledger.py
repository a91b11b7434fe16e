"""Borrow, repay and interest arithmetic in Decimal, and the borrowing limits."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.sim.ledger import hourly_interest

BORROW_1000 = {"coin": "USDT", "borrowAmount": "1000"}


async def _asset(api, keys, coin: str) -> dict[str, str]:
    return (await api.data("cross_assets", {"coin": coin}, keys))[0]


def test_hourly_interest_rounds_up_to_8_decimals() -> None:
    """1000 USDT at 0.0002/day for an hour is 0.00833333… → 0.00833334."""
    assert hourly_interest(D(1000), D("0.0002")) == D("0.00833334")
    assert hourly_interest(D(24), D("0.0002")) == D("0.0002")


async def test_borrow_credits_and_charges_first_interest(api, alice) -> None:
    """Borrowing credits available and borrow and charges one hour of interest at once."""
    data = await api.data("cross_borrow", BORROW_1000, alice)
    assert data == {"clientOid": None, "coin": "USDT", "borrowAmount": "1000.00000000"}
    usdt = await _asset(api, alice, "USDT")
    assert usdt["available"] == "11000.00000000"
    assert usdt["borrow"] == "1000.00000000"
    assert usdt["interest"] == "0.00833334"
    assert usdt["net"] == "9999.99166666"


async def test_interest_accrues_hourly_on_principal(api, alice, sim) -> None:
    """Each full hour of market time adds borrow × daily / 24; partial hours add nothing."""
    await api.data("cross_borrow", BORROW_1000, alice)
    sim.control.advance(3599)
    assert (await _asset(api, alice, "USDT"))["interest"] == "0.00833334"
    sim.control.advance(1)
    assert (await _asset(api, alice, "USDT"))["interest"] == "0.01666668"
    sim.control.advance(2 * 3600)
    assert (await _asset(api, alice, "USDT"))["interest"] == "0.03333336"


async def test_repay_below_interest_fails_with_50042(api, alice, sim) -> None:
    """A repayAmount smaller than the interest is refused (the document's rule)."""
    await api.data("cross_borrow", BORROW_1000, alice)
    sim.control.advance(3 * 3600)
    status, code, msg = await api.error(
        "cross_repay", {"coin": "USDT", "repayAmount": "0.01"}, alice
    )
    assert (status, code) == (400, "50042")
    assert msg.startswith("The repayment amount must be more than the interest")


async def test_repay_pays_interest_first(api, alice, sim) -> None:
    """Repaying 500 after 3 h pays 0.03333336 interest and 499.96666664 principal."""
    await api.data("cross_borrow", BORROW_1000, alice)
    sim.control.advance(3 * 3600)
    data = await api.data("cross_repay", {"coin": "USDT", "repayAmount": "500"}, alice)
    assert data["repayAmount"] == "500.00000000"
    assert data["remainDebtAmount"] == "500.03333336"
    usdt = await _asset(api, alice, "USDT")
    assert usdt["interest"] == "0.00000000"
    assert usdt["borrow"] == "500.03333336"
    assert usdt["available"] == "10500.00000000"
    rec = (await api.data("cross_repays", {"startTime": "1"}, alice))["resultList"][0]
    assert rec["amount"] == "499.96666664"
    assert rec["interest"] == "0.03333336"
    assert rec["totalAmount"] == "500.00000000"
    assert rec["type"] == "manualRepay"


async def test_repay_more_than_available_fails_with_50041(api, alice) -> None:
    """A repayAmount above the available balance is refused."""
    await api.data("cross_borrow", BORROW_1000, alice)
    status, code, _ = await api.error(
        "cross_repay", {"coin": "USDT", "repayAmount": "11000.00000001"}, alice
    )
    assert (status, code) == (400, "50041")


async def test_repay_zero_or_without_debt(api, alice) -> None:
    """Zero repays are 50040; repaying without debt is refused (50011)."""
    assert (await api.error("cross_repay", {"coin": "USDT", "repayAmount": "0"}, alice))[1] == (
        "50040"
    )
    assert (await api.error("cross_repay", {"coin": "USDT", "repayAmount": "1"}, alice))[1] == (
        "50011"
    )


async def test_overpaying_repays_the_debt_only_and_stops_interest(api, alice, sim) -> None:
    """Repaying more than the debt repays the debt; no interest accrues afterwards."""
    await api.data("cross_borrow", BORROW_1000, alice)
    data = await api.data("cross_repay", {"coin": "USDT", "repayAmount": "2000"}, alice)
    assert data["repayAmount"] == "1000.00833334"
    assert data["remainDebtAmount"] == "0.00000000"
    sim.control.advance(10 * 3600)
    usdt = await _asset(api, alice, "USDT")
    assert usdt["borrow"] == usdt["interest"] == "0.00000000"
    assert usdt["available"] == "9999.99166666"


async def test_cross_max_borrowable_follows_equity_and_leverage(api, alice) -> None:
    """Equity 16000 at leverage 3 allows 32000 USDT, or 32000/30000 BTC (8 decimals down)."""
    usdt = await api.data("cross_max_borrowable", {"coin": "USDT"}, alice)
    btc = await api.data("cross_max_borrowable", {"coin": "BTC"}, alice)
    assert usdt == {"coin": "USDT", "maxBorrowableAmount": "32000.00000000"}
    assert btc["maxBorrowableAmount"] == "1.06666666"
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "30000"}, alice)
    # equity 46000 - 30000.25 = 15999.75; 2 × 15999.75 − 30000.25 = 1999.25
    usdt = await api.data("cross_max_borrowable", {"coin": "USDT"}, alice)
    assert usdt["maxBorrowableAmount"] == "1999.25000000"


async def test_borrow_beyond_limits_is_50035(api, alice) -> None:
    """More than maxBorrowableAmount is refused; so is more than the isolated tier."""
    status, code, msg = await api.error(
        "cross_borrow", {"coin": "USDT", "borrowAmount": "32000.00000001"}, alice
    )
    assert (status, code) == (400, "50035")
    assert "32000.00000000" in msg
    iso = await api.data("isolated_max_borrowable", {"coin": "USDT", "symbol": "BTCUSDT"}, alice)
    assert iso == {"symbol": "BTCUSDT", "coin": "USDT", "maxBorrowableAmount": "20000.00000000"}
    params = {"coin": "USDT", "borrowAmount": "20001", "symbol": "BTCUSDT"}
    assert (await api.error("isolated_borrow", params, alice))[1] == "50035"


async def test_isolated_base_limit_uses_equity_times_nine(api, alice) -> None:
    """Isolated BTCUSDT equity 6500 at leverage 10: 58500 USDT of room → 1.95 BTC."""
    data = await api.data("isolated_max_borrowable", {"coin": "BTC", "symbol": "BTCUSDT"}, alice)
    assert data["maxBorrowableAmount"] == "1.95000000"


async def test_isolated_interest_uses_the_symbol_rate(api, alice) -> None:
    """Isolated quote interest is 0.000049/day: 1000 USDT → 0.00204167 for the first hour."""
    params = {"coin": "USDT", "borrowAmount": "1000", "symbol": "BTCUSDT"}
    await api.data("isolated_borrow", params, alice)
    rows = await api.data("isolated_assets", {"symbol": "BTCUSDT"}, alice)
    usdt = next(r for r in rows if r["coin"] == "USDT")
    assert usdt["interest"] == "0.00204167"
    rec = (await api.data("isolated_interests", {"symbol": "BTCUSDT", "startTime": "1"}, alice))[
        "resultList"
    ][0]
    assert rec["type"] == "first" and rec["interestRate"] == "0.00004900"
    assert rec["symbol"] == "BTCUSDT" and rec["loanCoin"] == "USDT"


async def test_max_transfer_out(api, alice) -> None:
    """Without debt the available balance; with debt what keeps E × 2 ≥ liabilities."""
    data = await api.data("cross_max_transfer_out", {"coin": "USDT"}, alice)
    assert data == {"coin": "USDT", "maxTransferOutAmount": "10000.00000000"}
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "30000"}, alice)
    # E = 15999.75, liabilities 30000.25: 15999.75 − 15000.125 = 999.625
    data = await api.data("cross_max_transfer_out", {"coin": "USDT"}, alice)
    assert data["maxTransferOutAmount"] == "999.62500000"
    iso = await api.data("isolated_max_transfer_out", {"coin": "BTC", "symbol": "BTCUSDT"}, alice)
    assert iso == {"coin": "BTC", "symbol": "BTCUSDT", "maxTransferOutAmount": "0.05000000"}
