"""Every variable a rule can read, computed from a scope snapshot."""

from __future__ import annotations

import pytest

from riskd.rules.variables import PER_COIN, SCALARS, EvalError, Ref, ScopeContext

from .helpers import D, coin, snap

S = snap(
    "0.75",
    observed_at=95.5,
    leverage=D(5),
    open_orders=2,
    coins=(
        coin("USDT", available="1000", borrow="3000", interest="10", frozen="500"),
        coin("BTC", available="0.5", borrow="0.01"),
    ),
    prices_usdt={"BTC": D(20000)},
    maintain_margin_rate={"USDT": D("0.1"), "BTC": D("0.1")},
    max_borrowable={"USDT": D(777)},
    daily_interest_rate={"USDT": D("0.0002")},
)


def _v(name: str, coin_: str | None = None, s: object = S) -> object:
    return ScopeContext(s, 100.0).value(Ref(name, coin_))  # type: ignore[arg-type]


def test_scalars() -> None:
    """Scalars come from the snapshot or are derived in USDT at index prices."""
    assert _v("riskRate") == D("0.75")
    assert (_v("warningRiskRatio"), _v("liquidationRiskRatio")) == (D("0.8"), D(1))
    assert (_v("leverage"), _v("openOrders"), _v("dataAge")) == (D(5), D(2), D("4.5"))
    assert _v("assets") == D(1500) + D("0.5") * 20000  # 11500
    assert _v("debt") == D(3010) + D("0.01") * 20000  # 3210
    assert _v("equity") == D(11500) - D(3210)
    assert _v("localRiskRate") == D("321.0") / D(8290)
    assert isinstance(_v("distanceToLiquidation"), type(D(0)))


def test_per_coin() -> None:
    """Per-coin values, including derived net and totalAmount."""
    assert _v("available", "USDT") == D(1000)
    assert _v("frozen", "USDT") == D(500)
    assert _v("totalAmount", "USDT") == D(1500)
    assert _v("net", "USDT") == D(1500) - D(3010)
    assert _v("price", "USDT") == 1 and _v("price", "BTC") == D(20000)
    assert _v("maintainMarginRate", "BTC") == D("0.1")
    assert _v("maxBorrowableAmount", "USDT") == D(777)
    assert _v("interestRate", "USDT") == D("0.0002")


@pytest.mark.parametrize(
    ("name", "coin_", "message"),
    [
        ("price", "ETH", "no USDT price for ETH"),
        ("maxBorrowableAmount", "BTC", "maxBorrowableAmount of BTC is not known"),
        ("interestRate", "BTC", "interestRate of BTC is not known"),
        ("maintainMarginRate", "ETH", "maintainMarginRate of ETH is not known"),
        ("available", "@base", "base coin is not known for scope cross"),
    ],
)
def test_missing_values_raise_eval_errors(name: str, coin_: str, message: str) -> None:
    """A value the snapshot does not have is an EvalError naming it (rule goes unhealthy)."""
    with pytest.raises(EvalError, match=message):
        _v(name, coin_)


def test_derived_values_need_prices() -> None:
    """Without a price for a held coin, USDT-valued scalars are errors, not guesses."""
    bare = snap(coins=(coin("BTC", available="1"),))
    for name in ("equity", "debt", "assets", "localRiskRate", "distanceToLiquidation"):
        with pytest.raises(EvalError, match="BTC"):
            _v(name, s=bare)
    with pytest.raises(EvalError, match="leverage is not known"):
        _v("leverage", s=bare)


def test_no_debt_is_infinitely_far_from_liquidation() -> None:
    """distanceToLiquidation is Infinity when no price move reaches liquidation."""
    s = snap("0", coins=(coin("USDT", available="10"),), maintain_margin_rate={"USDT": D("0.1")})
    assert _v("distanceToLiquidation", s=s) == D("Infinity")


def test_catalogue_is_documented() -> None:
    """Every variable has a doc line (docs/rules.md mirrors this catalogue)."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()
    for name in [*SCALARS, *PER_COIN, "base", "quote", "min", "max", "abs", "delta", "rate"]:
        assert f"`{name}" in doc, name
