"""Message templates and durations."""

from __future__ import annotations

import re

import pytest

from riskd.durations import DurationError, format_duration
from riskd.rules.durations import rule_duration
from riskd.rules.expressions import Env, ExpressionError
from riskd.rules.templates import compile_template, format_value, render
from riskd.rules.variables import ScopeContext

from .helpers import D, coin, snap

WORDS = {"rule": "r", "scope": "cross", "account": "main", "symbol": "", "severity": "warning"}


def _render(text: str, s: object = None) -> str:
    ctx = ScopeContext(s or snap("0.8512", coins=(coin("USDT", borrow="12.5"),)), 0.0)  # type: ignore[arg-type]
    return render(compile_template(text), ctx, WORDS)


def test_placeholders_words_expressions_and_formats() -> None:
    """Words, expressions, :.Nf and :.N% formats, and {{ }} escapes render as written."""
    assert _render("{rule} on {account} {scope}") == "r on main cross"
    assert _render("rate {riskRate} ({riskRate:.2f}, {riskRate:.1%})") == (
        "rate 0.8512 (0.85, 85.1%)"
    )
    assert _render('debt {borrow["USDT"] * 2} {{literal}}') == "debt 25 {literal}"
    assert _render("high? {riskRate > 0.8}") == "high? yes"


def test_values_that_cannot_be_computed_render_as_question_marks() -> None:
    """Rendering never fails: a missing price shows as ?."""
    assert _render('BTC at {price["BTC"]}') == "BTC at ?"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{riskrate}", "did you mean 'riskRate'?"),
        ("{0.__class__}", "syntax error"),
        ("{riskRate.__class__}", "attribute access"),
        ("{riskRate:>99999}", "format ':>99999'"),
        ("{riskRate!r}", "syntax error"),
        ("oops {", "unmatched '{'"),
        ("oops }", "unmatched '}'"),
        ("x" * 1001, "longer than 1000"),
        ("{riskRate}" * 21, "more than 20 placeholders"),
        ("{base}", "only exists in isolated scopes"),
    ],
)
def test_bad_templates_are_load_errors(text: str, message: str) -> None:
    """Templates are checked at load like expressions; str.format tricks do not work."""
    with pytest.raises(ExpressionError, match=re.escape(message)):
        compile_template(text, Env())


def test_format_value_is_plain_decimal_text() -> None:
    """No exponents, ≤ 8 decimals, trailing zeros dropped, infinities readable."""
    assert format_value(D("1E+3")) == "1000"
    assert format_value(D("0.123456789123")) == "0.12345679"
    assert format_value(D("2.50000000")) == "2.5"
    assert format_value(D("Infinity")) == "∞"
    assert format_value(True) == "yes"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        ("250ms", 0.25),
    ],
)
def test_durations_parse(text: str, seconds: float) -> None:
    """Rule durations are strings with units; they round-trip through format_duration."""
    assert rule_duration(text) == seconds
    assert rule_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (30, "has no unit"),
        ("30", "has no unit"),
        ("-1s", "is negative"),
        ("5 minutes", "unknown unit 'minutes'"),
        ("8d", "longer than 7d"),
        (True, "is not a duration"),
        (None, "is not a duration"),
    ],
)
def test_bad_durations(value: object, message: str) -> None:
    """Bad rule durations (a bare number included) say what is wrong."""
    with pytest.raises(DurationError, match=message):
        rule_duration(value)
