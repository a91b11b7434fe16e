"""The simulator's account-wide UTA figures, checked against hand-computed cases."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.clock import ManualClock
from riskd.risk.math import INFINITE
from riskd.sim import Simulator
from riskd.sim.book import ScopeBook
from riskd.sim.scenario import parse_scenario
from riskd.sim.uta import RATIO_CAP, ratio_text, uta_figures

SCENARIO = """
name = "uta_math"
[markets]
BTCUSDT = "30000"
[tiers.cross.USDT]
mmr = "0.1"
[tiers.cross.BTC]
mmr = "0.15"
"""


def _book(**coins: tuple[str, str, str]) -> tuple[Simulator, ScopeBook]:
    """A cross book holding ``coin=(available, frozen, borrow)``, no interest."""
    sim = Simulator(clock=ManualClock(start=1_700_000_000.0), scenario=parse_scenario(SCENARIO))
    book = ScopeBook("cross")
    for coin, (available, frozen, borrow) in coins.items():
        bal = book.balance(coin, 0)
        bal.available, bal.frozen, bal.borrow = D(available), D(frozen), D(borrow)
    return sim, book


def test_usdt_debt_against_btc_collateral() -> None:
    """USDT 10000 (debt 8000) + BTC 0.6 at 30000: equity 20000, mmr 800, imr 4000, ratio 0.04."""
    sim, book = _book(USDT=("10000", "0", "8000"), BTC=("0.5", "0.1", "0"))
    f = uta_figures(sim.exchange.ledger, book, sim.exchange.now())
    assert f.account_equity == D(20000) and f.eff_equity == D(20000)
    assert f.mmr == D(800) and f.imr == D(4000)
    assert f.mgn_ratio == D("0.04")
    btc = next(c for c in f.coins if c.coin == "BTC")
    assert (btc.balance, btc.locked, btc.equity, btc.usd_value) == (
        D("0.6"),
        D("0.1"),
        D("0.6"),
        D(18000),
    )


def test_btc_debt_uses_the_btc_maintenance_rate() -> None:
    """USDT 20000, BTC debt 0.5 at 30000 (mmr 0.15): equity 5000, mmr 2250, ratio 0.45."""
    sim, book = _book(USDT=("20000", "0", "0"), BTC=("0", "0", "0.5"))
    f = uta_figures(sim.exchange.ledger, book, sim.exchange.now())
    assert f.account_equity == D(5000) and f.eff_equity == D(5000)
    assert f.mmr == D(2250) and f.imr == D(7500)
    assert f.mgn_ratio == D("0.45")


def test_no_debt_is_ratio_zero_and_no_equity_is_unbounded() -> None:
    """Without debt mgnRatio is 0; with debt above the assets it is unbounded, shown capped."""
    sim, calm = _book(USDT=("100", "0", "0"))
    assert uta_figures(sim.exchange.ledger, calm, 0.0).mgn_ratio == 0
    sim, bust = _book(USDT=("100", "0", "150"))
    f = uta_figures(sim.exchange.ledger, bust, 0.0)
    assert f.account_equity == D(-50) and f.mgn_ratio == INFINITE
    assert ratio_text(f.mgn_ratio) == RATIO_CAP


def test_ratio_equals_the_classic_risk_rate_of_the_same_book() -> None:
    """With collateral ratio 1 the UTA mgnRatio is the classic risk rate of the same balances."""
    sim, book = _book(USDT=("12000", "0", "9000"), BTC=("0.2", "0", "0.05"))
    ledger = sim.exchange.ledger
    assert uta_figures(ledger, book, 0.0).mgn_ratio == ledger.risk_rate(book, 0.0)
