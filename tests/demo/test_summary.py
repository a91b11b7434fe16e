"""The summary's JSON and text: keys, decimal strings, and the liquidated line."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from riskd.demo.summary import DemoSummary, Liquidation, dec, render_text

Factory = Callable[..., DemoSummary]

REQUIRED = (
    "scenario",
    "liquidated",
    "actions",
    "max_risk_rate",
    "api_calls",
    "rate_limited",
    "reaction_ms",
    "capital_moved",
    "oracle_min",
)


def test_json_has_the_required_keys_with_decimal_strings(summary: DemoSummary) -> None:
    """--json carries every key the issue names; USDT values are decimal strings."""
    data = json.loads(json.dumps(summary.to_json()))
    for key in REQUIRED:
        assert key in data, key
    assert data["liquidated"] is False
    assert data["actions"] == 1
    assert data["capital_moved"] == "2000"
    assert data["oracle_min"] == "1000.5"
    assert data["max_risk_rate"] == "0.9123"
    assert data["reaction_ms"] == 1100
    assert data["moved_over_oracle"] == "1.999"
    assert data["action_log"][0]["detail"] == "repay 2000 USDT"


def test_text_says_liquidated_false_or_true(
    make_summary: Factory, liquidation: Liquidation
) -> None:
    """The plain summary has the literal line the README promises, either way."""
    assert "liquidated: false" in render_text(make_summary()).splitlines()
    text = render_text(make_summary(liquidated=True, liquidations=(liquidation,)))
    assert "liquidated: true" in text.splitlines()
    assert "LIQUIDATION at t=106.4s main/isolated:BTCUSDT" in text


def test_no_oracle_ratio_when_nothing_was_needed(make_summary: Factory) -> None:
    """With a zero oracle there is no ratio (no division by zero)."""
    s = make_summary(oracle_min=Decimal(0))
    assert s.moved_over_oracle is None
    assert s.to_json()["moved_over_oracle"] is None
    assert "moved ×" not in render_text(s)


def test_dec_is_plain_and_bounded() -> None:
    """Decimal strings: no exponent, trailing zeros stripped, infinities named."""
    assert dec(Decimal("1E+3")) == "1000"
    assert dec(Decimal("0.000000001")) == "0"
    assert dec(Decimal("2.50000000")) == "2.5"
    assert dec(Decimal("Infinity")) == "Infinity"
    assert dec(None) is None
