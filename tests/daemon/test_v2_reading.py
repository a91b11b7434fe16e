"""The risk-rate direction decision (riskd.risk.reading): both readings, mismatch, no debt."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.daemon.snapshots import own_risk_rate, with_reading
from riskd.risk.reading import (
    DIRECT,
    INVERSE,
    NO_DEBT,
    OWN,
    Tolerance,
    read_risk_rate,
)
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot


def test_liabilities_over_assets_reading_is_taken_as_is() -> None:
    """A figure that matches riskd's own rate directly is the risk rate."""
    r = read_risk_rate(D("0.42"), D("0.40"), owes=True)
    assert (r.risk_rate, r.reading, r.checked, r.mismatch) == (D("0.42"), DIRECT, True, False)


def test_assets_over_liabilities_reading_is_inverted() -> None:
    """A figure that matches riskd's own rate inverted becomes 1/figure (higher = riskier)."""
    r = read_risk_rate(D("2.5"), D("0.41"), owes=True)
    assert r.reading == INVERSE
    assert r.risk_rate == D(1) / D("2.5")
    assert not r.mismatch


def test_neither_reading_matches_acts_on_own_figure_and_flags_mismatch() -> None:
    """No reading within tolerance: riskd's own figure, flagged, both figures named."""
    r = read_risk_rate(D("0.1"), D("0.6"), owes=True)
    assert (r.risk_rate, r.reading, r.mismatch) == (D("0.6"), OWN, True)
    text = r.describe()
    assert "0.1" in text and "0.6" in text and "10" in text


def test_no_debt_is_zero_whatever_was_reported() -> None:
    """Without a liability the rate is 0, even if the exchange sent something else."""
    r = read_risk_rate(D("5"), D(0), owes=False)
    assert (r.risk_rate, r.reading, r.mismatch) == (D(0), NO_DEBT, False)


def test_zero_reported_with_debt_matches_only_a_tiny_own_rate() -> None:
    """0 reported has no inverse: it matches only an own rate within the absolute slack."""
    assert read_risk_rate(D(0), D("0.005"), owes=True).reading == DIRECT
    r = read_risk_rate(D(0), D("0.5"), owes=True)
    assert r.mismatch and r.risk_rate == D("0.5")


def test_zero_liability_side_of_a_debt_free_scope_never_divides_by_zero() -> None:
    """A reported 0 with no local figure falls back to the direct reading, unchecked."""
    r = read_risk_rate(D(0), None, owes=True)
    assert (r.risk_rate, r.reading, r.checked) == (D(0), DIRECT, False)


def test_unknown_own_figure_keeps_previous_reading_unchecked() -> None:
    """Without prices or tiers the reading confirmed before is kept (not re-checked)."""
    r = read_risk_rate(D(2), None, owes=True, previous=INVERSE)
    assert (r.risk_rate, r.reading, r.checked) == (D("0.5"), INVERSE, False)
    assert read_risk_rate(D(2), None, owes=True).reading == DIRECT


def test_both_readings_agree_near_one_prefers_previous_else_riskier() -> None:
    """Close to 1 both readings fit: the previous one is kept, else the higher rate."""
    r = read_risk_rate(D("0.98"), D("1.0"), owes=True, previous=DIRECT)
    assert r.reading == DIRECT and r.risk_rate == D("0.98")
    r = read_risk_rate(D("0.98"), D("1.0"), owes=True)
    assert r.reading == INVERSE and r.risk_rate > 1


def test_uncontested_v1_figure_is_used_as_sent() -> None:
    """API v1's documented riskRate is not second-guessed."""
    r = read_risk_rate(D("0.3"), D("0.9"), owes=True, contested=False)
    assert (r.risk_rate, r.mismatch) == (D("0.3"), False)


def test_a_figure_from_the_middle_of_a_slow_read_agrees() -> None:
    """A slow read in a fast market: riskd's own rate was 0.25 at the read's start and 0.40
    at its answer; the exchange's 0.30 (computed in between) settles the reading, no mismatch,
    and the rules see the fresher 0.40; so does its inverse; a figure outside both ends and
    their tolerance is still a mismatch."""
    between = read_risk_rate(D("0.30"), D("0.40"), owes=True, local_then=D("0.25"))
    assert (between.risk_rate, between.reading, between.mismatch) == (D("0.40"), DIRECT, False)
    assert read_risk_rate(D("0.30"), D("0.40"), owes=True).mismatch  # the answer's end alone
    inverse = read_risk_rate(D(1) / D("0.3"), D("0.40"), owes=True, local_then=D("0.25"))
    assert inverse.reading == INVERSE and not inverse.mismatch
    outside = read_risk_rate(D("0.1"), D("0.40"), owes=True, local_then=D("0.25"))
    assert outside.mismatch and outside.risk_rate == D("0.40")


def test_infinite_own_rate_with_negative_equity_is_a_mismatch() -> None:
    """Equity at or below zero (own rate infinite) never matches a finite figure."""
    r = read_risk_rate(D("0.9"), D("Infinity"), owes=True)
    assert r.mismatch and r.risk_rate.is_infinite()
    assert "infinite" in r.describe()


@pytest.mark.parametrize(("a", "b", "ok"), [("0.5", "0.54", True), ("0.5", "0.6", False)])
def test_tolerance_is_absolute_plus_relative(a: str, b: str, ok: bool) -> None:
    """0.02 + 10 % of the larger figure."""
    assert Tolerance().agree(D(a), D(b)) is ok


def test_reported_missing_uses_own_figure() -> None:
    """No reported figure (not asked) but a local one: the local one, no mismatch."""
    r = read_risk_rate(None, D("0.3"), owes=True)
    assert (r.risk_rate, r.reading, r.mismatch) == (D("0.3"), OWN, False)
    with pytest.raises(ValueError, match="no risk figure"):
        read_risk_rate(None, None, owes=True)


def _snap(prices: dict[str, D], reading: str | None = None) -> ScopeSnapshot:
    return ScopeSnapshot(
        account="a",
        scope="cross",
        risk_rate=D(0),
        balances={
            "USDT": CoinBalance("USDT", D(1000), D(0), D(500), D(0)),
            "BTC": CoinBalance("BTC", D("0.1"), D(0), D(0), D(0)),
        },
        observed_at=0.0,
        maintain_margin_rate={"USDT": D("0.1")},
        prices_usdt=prices,
        risk_reading=reading,
    )


def test_own_rate_needs_no_tier_for_coins_owed_nothing() -> None:
    """BTC held but not owed needs a price, not a maintenance margin rate."""
    snap = _snap({"BTC": D(30000)})
    assert own_risk_rate(snap) == D(50) / (D(4000) - D(500))
    assert own_risk_rate(_snap({})) is None


def test_with_reading_keeps_both_figures_and_the_previous_reading() -> None:
    """The snapshot carries reported, own and reading; unchecked keeps the last reading."""
    own = D(50) / D(3500)
    new, reading = with_reading(
        _snap({"BTC": D(30000)}), reported=1 / own, contested=True, previous=None
    )
    assert (new.risk_reading, new.reading_checked, reading.mismatch) == (INVERSE, True, False)
    assert new.reported_risk_rate == 1 / own and new.local_risk_rate == own
    later, _ = with_reading(_snap({}), reported=D(70), contested=True, previous=new)
    assert (later.risk_reading, later.reading_checked) == (INVERSE, False)
    assert later.risk_rate == 1 / D(70)
