"""A confirmed repayment applied to a snapshot without reading the scope again (pure)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from riskd.risk.estimate import after_repay
from riskd.risk.math import risk_rate
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot

Z = D(0)
MMR = {"BTC": D("0.05"), "USDT": D("0.05")}


def _long(*, free: D = D(700), debt: D = D(9000), interest: D = D(3), polled: D | None = None):
    """An isolated BTC long at 25000 with ``free`` USDT, owing ``debt`` + ``interest``."""
    balances = {
        "BTC": CoinBalance("BTC", D("0.4"), Z, Z, Z),
        "USDT": CoinBalance("USDT", free, Z, debt, interest),
    }
    own = risk_rate(balances.values(), {"BTC": D(25000)}, MMR)
    return ScopeSnapshot(
        account="a",
        scope="isolated:BTCUSDT",
        risk_rate=own if polled is None else polled,
        balances=balances,
        observed_at=10.0,
        maintain_margin_rate=MMR,
        prices_usdt={"BTC": D(25000)},
        base_coin="BTC",
        quote_coin="USDT",
    )


def test_the_repayment_comes_off_interest_first_and_the_free_balance() -> None:
    """700 USDT repaid: interest first, then principal, out of the free balance; the data
    keeps the read's time, the adjustment its own."""
    after = after_repay(_long(), "USDT", D(700), None, {}, at=12.5)
    assert after is not None
    assert after.balance("USDT") == CoinBalance("USDT", Z, Z, D(8303), Z)
    assert after.balance("BTC") == _long().balance("BTC")
    assert (after.observed_at, after.adjusted_at) == (10.0, 12.5)
    expected = risk_rate(after.balances.values(), {"BTC": D(25000)}, MMR)
    assert after.local_risk_rate == expected
    assert after.risk_rate == expected.quantize(D("1e-8"))


def test_the_answers_remaining_debt_wins() -> None:
    """The exchange's remainDebtAmount is what is still owed (interest accrued since the
    read included)."""
    after = after_repay(_long(), "USDT", D(700), D("8303.5"), {}, at=12.5)
    assert after is not None
    assert after.balance("USDT").liability == D("8303.5")


def test_the_exchanges_figure_is_scaled_not_replaced() -> None:
    """A polled figure that differs from riskd's formula moves by the formula's ratio."""
    own = _long()
    polled = _long(polled=own.risk_rate * D("1.1"))
    after = after_repay(polled, "USDT", D(700), None, {}, at=11)
    plain = after_repay(own, "USDT", D(700), None, {}, at=11)
    assert after is not None and plain is not None
    assert plain.local_risk_rate is not None
    scaled = polled.risk_rate * plain.local_risk_rate / own.risk_rate
    assert after.risk_rate == scaled.quantize(D("1e-8"))


def test_an_answer_that_does_not_fit_the_snapshot_is_not_applied() -> None:
    """More repaid than was free or owed, a remaining debt above the old one, or a coin
    without a price: None (the caller reads the scope instead)."""
    snap = _long(free=D(100))
    assert after_repay(snap, "USDT", D(200), None, {}, at=11) is None
    assert after_repay(_long(debt=D(50), interest=Z), "USDT", D(60), None, {}, at=11) is None
    assert after_repay(_long(), "USDT", D(100), D(9100), {}, at=11) is None
    no_price = ScopeSnapshot(
        account="a",
        scope="cross",
        risk_rate=D("0.5"),
        balances={
            "ETH": CoinBalance("ETH", D(1), Z, Z, Z),
            "USDT": CoinBalance("USDT", D(100), Z, D(1000), Z),
        },
        observed_at=0.0,
        maintain_margin_rate=MMR,
    )
    assert after_repay(no_price, "USDT", D(100), None, {}, at=1) is None


def test_the_balances_are_valued_at_the_latest_prices() -> None:
    """As a poll's answer is: the repaid balances at the feed's latest price (the BTC fell
    since the read), the rate scaled to it; a coin not in the scope is not added."""
    snap = _long()
    after = after_repay(snap, "USDT", D(700), None, {"BTC": D(24000), "ETH": D(2000)}, at=11)
    assert after is not None and dict(after.prices_usdt) == {"BTC": D(24000)}
    expected = risk_rate(after.balances.values(), {"BTC": D(24000)}, MMR)
    assert after.local_risk_rate == expected
    assert after.risk_rate == expected.quantize(D("1e-8"))


@given(st.decimals(min_value=D("0.01"), max_value=D(700), places=2))
def test_a_repayment_never_raises_the_rate(amount: D) -> None:
    """Repaying from the free balance keeps equity and lowers the debt: the rate only falls."""
    snap = _long()
    after = after_repay(snap, "USDT", amount, None, {}, at=11)
    assert after is not None and after.risk_rate < snap.risk_rate
