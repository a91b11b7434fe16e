"""Risk-rate math against hand-computed values."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.amounts import AmountError, for_people, to_decimal, to_wire
from riskd.risk.math import (
    INFINITE,
    distance_to_liquidation,
    repay_value_for_target,
    risk_rate,
    value,
)
from riskd.risk.snapshot import CoinBalance, parse_scope


def bal(coin: str, available: str, borrow: str = "0", interest: str = "0") -> CoinBalance:
    return CoinBalance(coin, D(available), D(0), D(borrow), D(interest))


def test_risk_rate_isolated_long_by_hand() -> None:
    """1 BTC at 20000, 15000 USDT borrowed (+10 interest), mmr 0.05: 750.5 / 5990."""
    balances = [bal("BTC", "1"), bal("USDT", "0", "15000", "10")]
    mmr = {"BTC": D("0.05"), "USDT": D("0.05")}
    rate = risk_rate(balances, {"BTC": D(20000)}, mmr)
    assert rate == D("15010") * D("0.05") / D("4990")


def test_no_debt_is_zero_and_negative_equity_is_infinite() -> None:
    """No debt gives 0; debt above assets gives an infinite rate."""
    mmr = {"BTC": D("0.1"), "USDT": D("0.1")}
    assert risk_rate([bal("BTC", "1")], {"BTC": D(1)}, mmr) == 0
    assert risk_rate([bal("USDT", "10", "20")], {}, mmr) == INFINITE


def test_repay_to_target_reaches_the_target() -> None:
    """Repaying the computed value brings the rate to exactly the target."""
    balances = [bal("BTC", "1"), bal("USDT", "12000", "25000")]
    prices = {"BTC": D(20000)}
    mmr = {"BTC": D("0.1"), "USDT": D("0.1")}
    v = value(balances, prices, mmr)
    assert v.risk_rate > D("0.3")
    x = repay_value_for_target(v, D("0.3"), D("0.1"))
    after = [bal("BTC", "1"), bal("USDT", str(D(12000) - x), str(D(25000) - x))]
    assert abs(risk_rate(after, prices, mmr) - D("0.3")) < D("1e-20")


def test_distance_to_liquidation_of_a_long() -> None:
    """The price fall that the formula predicts takes the rate to exactly 1.0."""
    balances = [bal("BTC", "1"), bal("USDT", "0", "15000")]
    prices = {"BTC": D(20000)}
    mmr = {"BTC": D("0.1"), "USDT": D("0.1")}
    d = distance_to_liquidation(balances, prices, mmr, D(1))
    assert d is not None and d < 0
    moved = {"BTC": D(20000) * (1 + d)}
    assert abs(risk_rate(balances, moved, mmr) - 1) < D("1e-20")


def test_wire_format_is_plain_and_at_most_eight_decimals() -> None:
    """Decimals go out as plain strings, rounded toward zero to 8 places."""
    assert to_wire(D("1.500000000")) == "1.5"
    assert to_wire(D("1E+3")) == "1000"
    assert to_wire(D("0.123456789")) == "0.12345678"
    assert to_wire(D("-0.000000001")) == "0"


def test_figures_for_people_are_plain() -> None:
    """For people: at most 4 decimals, no exponent form (0E-8 reads 0), infinity in words."""
    assert for_people(D("0E-8")) == "0"
    assert for_people(D("0.70959365")) == "0.7096"
    assert for_people(D("1E+3")) == "1000"
    assert for_people(D("-0.00001")) == "0"
    assert for_people(D("Infinity")) == "infinite" and for_people(D("NaN")) == "NaN"


def test_floats_and_garbage_are_refused_with_the_field_name() -> None:
    """A float or a non-number is an AmountError naming the field."""
    with pytest.raises(AmountError, match="repayAmount"):
        to_decimal(1.5, field="repayAmount")
    with pytest.raises(AmountError, match="borrow"):
        to_decimal("abc", field="borrow")


def test_scope_ids_parse_and_reject_garbage() -> None:
    """Scope ids are 'cross' or 'isolated:SYMBOL'."""
    assert parse_scope("cross") == ("cross", None)
    assert parse_scope("isolated:BTCUSDT") == ("isolated", "BTCUSDT")
    with pytest.raises(ValueError, match="not a scope"):
        parse_scope("isolated:")
