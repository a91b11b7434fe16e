"""The hindsight oracle against hand-computed figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskd.demo.oracle import (
    PricePoint,
    ScopeStart,
    after_repay,
    first_crossing,
    oracle,
    scope_oracle,
)
from riskd.risk import math as riskmath
from riskd.risk.snapshot import CoinBalance

D = Decimal
MMR = {"BTC": D("0.05"), "USDT": D("0.05")}


def bal(coin: str, available: str, borrow: str = "0", interest: str = "0") -> CoinBalance:
    return CoinBalance(coin, D(available), D(0), D(borrow), D(interest))


def long_btc(usdt_available: str = "5000", btc: str = "1") -> ScopeStart:
    """1 BTC held, 9000 USDT owed: with 5000 USDT free, rate = 450 / (p − 4000)."""
    return ScopeStart(
        "main",
        "isolated:BTCUSDT",
        (bal("BTC", btc), bal("USDT", usdt_available, borrow="9000")),
        MMR,
    )


def path(*prices: str, step: float = 1.0) -> list[PricePoint]:
    return [PricePoint(i * step, {"BTC": D(p)}) for i, p in enumerate(prices)]


def peak(balances: tuple[CoinBalance, ...], points: list[PricePoint]) -> Decimal:
    return max(
        riskmath.risk_rate(balances, {"BTC": p.prices["BTC"], "USDT": D(1)}, MMR) for p in points
    )


def test_from_balance_closed_form() -> None:
    """At 4300 equity is 300 and N is 450: 150 / 0.05 = 3000 USDT, repaid from free USDT."""
    result = scope_oracle(long_btc(), path("10000", "6000", "4300", "5000"))
    assert result.repay_usdt == D(3000)
    assert result.coin == "USDT"
    assert result.worst_t == 2.0
    assert result.feasible and result.from_balance
    assert result.max_risk_rate == D(450) / D(300)


def test_shortfall_is_raised_by_selling_at_the_start() -> None:
    """With 1000 USDT free, x must satisfy 450 − 0.05x ≤ 130 + 0.17x at 8300: x ≈ 1454.55."""
    result = scope_oracle(long_btc("1000"), path("10000", "9000", "8300"))
    assert result.feasible and not result.from_balance
    assert result.sold == "BTC"
    exact = D(320) / D("0.22")
    assert exact <= result.repay_usdt <= exact + D("0.01")


def test_calm_path_needs_nothing() -> None:
    """A path that never reaches the liquidation ratio needs no repayment."""
    result = scope_oracle(long_btc(), path("10000", "9500", "8500"))
    assert result.repay_usdt == 0
    assert result.coin is None
    assert result.feasible


def test_short_position_binds_on_the_rise() -> None:
    """A borrowed BTC (short) needs BTC repaid where the price peaks, valued at that price."""
    start = ScopeStart(
        "main", "isolated:BTCUSDT", (bal("USDT", "11000"), bal("BTC", "1", borrow="1")), MMR
    )
    # E = 11000 − 0 (1 BTC held, 1 owed), N = 0.05 p: never liquidated; owe 2 BTC instead
    assert scope_oracle(start, path("10000", "10500")).repay_usdt == 0
    start = ScopeStart(
        "main", "isolated:BTCUSDT", (bal("USDT", "9950"), bal("BTC", "0.1", borrow="1")), MMR
    )
    # at 10500: E = 9950 − 0.9 × 10500 = 500, N = 0.05 × 10500 = 525: 25 / 525 BTC
    result = scope_oracle(start, path("10000", "10500", "10200"))
    assert result.coin == "BTC" and result.from_balance
    assert result.amount == D(25) / (D("0.05") * D(10500))
    assert result.repay_usdt == D(500)


def test_already_bust_is_infeasible() -> None:
    """Assets below the debt at the start: even selling everything cannot repay enough."""
    result = scope_oracle(long_btc("1000", btc="0.5"), path("10000", "9000"))
    assert not result.feasible
    assert result.repay_usdt == D(9000)


def test_interest_counts_as_debt() -> None:
    """Interest owed at the start is part of the liability to be covered."""
    with_interest = ScopeStart(
        "main",
        "isolated:BTCUSDT",
        (bal("BTC", "1"), bal("USDT", "5000", borrow="9000", interest="100")),
        MMR,
    )
    plain = scope_oracle(long_btc(), path("10000", "4300"))
    more = scope_oracle(with_interest, path("10000", "4300"))
    assert more.repay_usdt > plain.repay_usdt


def test_after_repay_pays_interest_first_and_sells_the_rest() -> None:
    """The balances after a repayment: interest first, then principal; the shortfall sold."""
    start = ScopeStart(
        "main",
        "isolated:BTCUSDT",
        (bal("BTC", "1"), bal("USDT", "100", borrow="9000", interest="10")),
        MMR,
    )
    after = after_repay(start, "USDT", D(1100), {"BTC": D(10000), "USDT": D(1)})
    assert after is not None
    balances, sold = after
    by_coin = {b.coin: b for b in balances}
    assert sold == "BTC"
    assert by_coin["USDT"].interest == 0
    assert by_coin["USDT"].borrow == D(9000) - D(1090)
    assert by_coin["USDT"].available == 0
    assert by_coin["BTC"].available == D(1) - D(1000) / D(10000)
    assert after_repay(start, "USDT", D(20000), {"BTC": D(10000), "USDT": D(1)}) is None


def test_total_sums_scopes_and_finds_them() -> None:
    """The result totals every scope and finds each by account and scope."""
    cross = ScopeStart(
        "main",
        "cross",
        (bal("BTC", "1"), bal("USDT", "8000", borrow="16000")),
        {"BTC": D("0.1"), "USDT": D("0.1")},
    )
    prices = path("10000", "8300")
    result = oracle([long_btc(), cross], prices)
    iso = result.for_scope("main", "isolated:BTCUSDT")
    cr = result.for_scope("main", "cross")
    assert iso is not None and cr is not None
    assert result.total_usdt == iso.repay_usdt + cr.repay_usdt
    # cross at 8300: N = 1600, E = 300, excess 1300 → 1300 / 0.1 = 13000 > 8000 free: a sale
    assert not cr.from_balance and cr.feasible
    assert result.for_scope("other", "cross") is None


def test_first_crossing_of_the_warning_line() -> None:
    """The warning line 0.8 is crossed where 450 / (p − 4000) ≥ 0.8, i.e. p ≤ 4562.5."""
    prices = path("10000", "6000", "4600", "4562.5", "4000")
    assert first_crossing(long_btc(), prices) == 3.0
    assert first_crossing(long_btc(), path("10000", "9000")) is None


def test_empty_path_is_an_error() -> None:
    """An empty path is refused with a message naming it."""
    with pytest.raises(ValueError, match="price path is empty"):
        scope_oracle(long_btc(), [])


def test_missing_price_names_the_coin() -> None:
    """A path without a price for a held coin names that coin."""
    with pytest.raises(KeyError, match="BTC"):
        scope_oracle(long_btc(), [PricePoint(0.0, {"ETH": D(1)})])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=6000, max_value=12000), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=9000),
)
def test_oracle_is_least_and_sufficient(prices: list[int], available: int) -> None:
    """Repaying the oracle amount keeps the rate ≤ 1 everywhere; 1 % less does not."""
    start = long_btc(str(available), btc="1.2")
    points = [PricePoint(float(i), {"BTC": D(p)}) for i, p in enumerate([10000, *prices])]
    result = scope_oracle(start, points)
    assert result.feasible  # 1.2 BTC at 10000 always covers the 9000 debt
    prices0 = {"BTC": D(10000), "USDT": D(1)}

    def after(value: Decimal) -> tuple[CoinBalance, ...]:
        if result.from_balance:  # repaid at the instant it binds: same balances either way
            return (bal("BTC", "1.2"), bal("USDT", str(available - value), str(9000 - value)))
        got = after_repay(start, "USDT", value, prices0)
        assert got is not None
        return got[0]

    assert peak(after(result.repay_usdt), points) <= 1
    if result.repay_usdt > 1:
        assert peak(after(result.repay_usdt * D("0.99")), points) > 1
