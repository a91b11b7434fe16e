"""The push path's pure parts: the risk-rate estimate, the trigger and the rules' lines."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from riskd.daemon.push import lines_for, thresholds
from riskd.risk.estimate import estimate_risk_rate, trigger
from riskd.risk.math import risk_rate
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.rules import loader
from riskd.settings import PushSettings

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
Z = D(0)


def _long(price: D, polled: D | None = None, *, btc: D = D(1), debt: D = D(9000)) -> ScopeSnapshot:
    """An isolated BTC long holding ``btc`` and owing ``debt`` USDT, polled at ``price``."""
    balances = {
        "BTC": CoinBalance("BTC", btc, Z, Z, Z),
        "USDT": CoinBalance("USDT", D(100), Z, debt, Z),
    }
    mmr = {"BTC": D("0.05"), "USDT": D("0.05")}
    local = risk_rate(balances.values(), {"BTC": price}, mmr)
    return ScopeSnapshot(
        account="a",
        scope="isolated:BTCUSDT",
        risk_rate=local if polled is None else polled,
        balances=balances,
        observed_at=0.0,
        maintain_margin_rate=mmr,
        prices_usdt={"BTC": price},
    )


def test_estimate_is_the_formula_when_the_poll_agreed_with_it() -> None:
    """Polled rate = riskd's formula: the estimate at new prices is the formula at them."""
    snap = _long(D(30000))
    expected = risk_rate(snap.balances.values(), {"BTC": D(25000)}, snap.maintain_margin_rate)
    estimate = estimate_risk_rate(snap, {"BTC": D(25000)})
    assert estimate is not None and abs(estimate - expected) < D("1e-20")


def test_estimate_scales_the_exchanges_figure() -> None:
    """A polled rate 10 % above the formula stays 10 % above it at the new price."""
    base = _long(D(30000))
    snap = _long(D(30000), polled=base.risk_rate * D("1.1"))
    at = risk_rate(base.balances.values(), {"BTC": D(25000)}, base.maintain_margin_rate)
    estimate = estimate_risk_rate(snap, {"BTC": D(25000)})
    assert estimate is not None
    assert abs(estimate - at * D("1.1")) < D("1e-20")


def test_estimate_without_debt_is_zero_and_unknown_prices_give_none() -> None:
    """No debt: 0. A held coin that never had a price, or a debt without a tier: None."""
    assert estimate_risk_rate(_long(D(30000), debt=Z), {"BTC": D(1)}) == 0
    snap = _long(D(30000))
    no_price = ScopeSnapshot(**{**_fields(snap), "prices_usdt": {}})
    assert estimate_risk_rate(no_price, {}) is None
    no_tier = ScopeSnapshot(**{**_fields(snap), "maintain_margin_rate": {"BTC": D("0.05")}})
    assert estimate_risk_rate(no_tier, {"BTC": D(25000)}) is None


def _fields(snap: ScopeSnapshot) -> dict[str, object]:
    return {f: getattr(snap, f) for f in snap.__dataclass_fields__}


@given(
    st.decimals(min_value=D(20000), max_value=D(60000), places=2),
    st.decimals(min_value=D("0.5"), max_value=D("1.5"), places=3),
)
def test_estimate_of_a_long_rises_as_the_price_falls(price: D, factor: D) -> None:
    """For a long, the estimate moves against the price, and equals the polled rate when
    the price has not moved."""
    snap = _long(price, polled=D("0.4"))
    assert estimate_risk_rate(snap, {"BTC": price}) == D("0.4")
    moved = estimate_risk_rate(snap, {"BTC": price * factor})
    assert moved is not None
    if factor < 1:
        assert moved > D("0.4")
    elif factor > 1:
        assert moved < D("0.4")


@given(
    st.decimals(min_value=Z, max_value=D(2), places=3),
    st.decimals(min_value=Z, max_value=D(2), places=3),
)
def test_trigger_fires_only_on_an_upward_crossing_or_a_big_rise(polled: D, est: D) -> None:
    """A line between polled and estimate, or a rise ≥ 0.05, triggers; a fall never does."""
    lines = (D("0.5"), D("0.7"), D("0.9"))
    why = trigger(polled, est, lines, D("0.05"))
    crossed = any(polled < line <= est for line in lines)
    assert (why is not None) == (crossed or est - polled >= D("0.05"))
    if est <= polled:
        assert why is None


def test_trigger_names_the_highest_line_crossed() -> None:
    """A jump over several lines names the highest; rise 0 turns the rise trigger off."""
    assert trigger(D("0.4"), D("0.95"), (D("0.5"), D("0.9")), Z) == "crosses 0.9"
    assert trigger(D("0.55"), D("0.65"), (D("0.5"), D("0.9")), Z) is None
    assert trigger(D("0.55"), D("0.65"), (), D("0.1")) == "rose 0.1000 (>= 0.1)"


def test_thresholds_found_inside_and_or_and_either_side() -> None:
    """riskRate >= / > literal and literal <= riskRate count; other comparisons do not."""
    src = "riskRate >= 0.7 or (0.5 < riskRate and dataAge > 60) or riskRate < 0.2"
    assert thresholds(src) == {D("0.7"), D("0.5")}
    assert thresholds("dataAge > 60") == set()


def test_shipped_ladder_lines() -> None:
    """The shipped ladder's lines on an isolated scope: its thresholds, and 0.1 below the
    lowest acting one (0.5 → 0.4), plus any configured line; 0.5 is where it acts."""
    result = loader.load([REPO_RULES])
    assert result.ruleset is not None
    push = PushSettings(lines=(D("0.3"),))
    found = lines_for(result.ruleset, "isolated:BTCUSDT", push)
    assert D("0.3") in found.lines and D("0.4") in found.lines
    assert {D("0.5"), D("0.7"), D("0.9")} <= set(found.lines)
    assert list(found.lines) == sorted(found.lines)
    assert found.acting == D("0.5")
