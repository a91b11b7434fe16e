"""riskd.durations: the one duration syntax of settings, notify settings, rules and the CLI."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from riskd.cli.main import cli
from riskd.durations import (
    DURATION,
    MAX_SECONDS,
    POSITIVE_DURATION,
    Duration,
    DurationError,
    PositiveDuration,
    backoff_delay,
    format_duration,
    parse_duration,
)
from riskd.notify.settings import NotifySettingsError, parse_notify_settings
from riskd.rules.durations import rule_duration


class Times(BaseModel):
    wait: Duration = 0.0
    every: PositiveDuration = 1.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("250ms", 0.25),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1.5s", 1.5),
        ("1d2h3m4s5ms", 93784.005),
        (" 10s ", 10.0),
        ("0s", 0.0),
        ("10", 10.0),
        ("0.5", 0.5),
        (10, 10.0),
        (0.1, 0.1),
        (Decimal("2.5"), 2.5),
    ],
)
def test_parses(value: object, seconds: float) -> None:
    """Units, compounds, decimals and bare numbers (seconds) give float seconds."""
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "an empty text is not a duration; write a number and a unit"),
        ("   ", "an empty text is not a duration"),
        ("-5s", "'-5s' is negative (a duration is 0s or more)"),
        (-1, "-1 is negative"),
        (-0.5, "-0.5 is negative"),
        (math.nan, "nan is not a finite number of seconds"),
        (math.inf, "inf is not a finite number of seconds"),
        (Decimal("NaN"), "Decimal('NaN') is not a finite number of seconds"),
        (True, "True is not a duration"),
        (None, "None is not a duration"),
        ([5], "[5] is not a duration"),
        ("5x", "'5x' is not a duration: unknown unit 'x'"),
        ("5 minutes", "unknown unit 'minutes'"),
        ("5M", "unknown unit 'M'"),
        ("1m30", "'1m30' is not a duration: 30 has no unit"),
        ("30m1h", "units must go from the largest to the smallest, each once"),
        ("5m5m", "units must go from the largest to the smallest, each once"),
        ("nan", "'nan' is not a duration"),
        ("inf", "'inf' is not a duration"),
        ("1e5s", "unknown unit 'e'"),
        ("+5s", "'+5s' is not a duration"),
        (".5s", "'.5s' is not a duration"),
        ("366d", "'366d' is longer than 365d"),
        (1e300, "1e+300 is longer than 365d"),
    ],
)
def test_refuses_with_a_message(value: object, message: str) -> None:
    """Every bad input is refused with a message naming the value and what is wrong."""
    with pytest.raises(DurationError, match=re.escape(message)):
        parse_duration(value)


def test_message_states_the_syntax_and_where() -> None:
    """The message starts with ``where`` and states the accepted syntax."""
    with pytest.raises(DurationError) as caught:
        parse_duration("soon", where="--over")
    assert str(caught.value) == (
        "--over: 'soon' is not a duration; write a number and a unit (ms, s, m, h, d), "
        'e.g. "250ms", "90s", "5m", "1h30m"; a bare number is seconds'
    )


def test_bare_numbers_can_be_refused() -> None:
    """With bare_seconds=False a number without a unit says which units to add."""
    for value in (30, "30", 2.5):
        with pytest.raises(DurationError, match=f'has no unit: write "{value}s" or "{value}m"'):
            parse_duration(value, bare_seconds=False)
    with pytest.raises(DurationError) as caught:
        parse_duration("x", bare_seconds=False)
    assert "bare number" not in str(caught.value)


def test_positive_and_maximum() -> None:
    """positive=True refuses zero; maximum bounds the length."""
    assert parse_duration("0s") == 0.0
    with pytest.raises(DurationError, match="'0s' must be longer than 0s"):
        parse_duration("0s", positive=True)
    with pytest.raises(DurationError, match="0 must be longer than 0s"):
        parse_duration(0, positive=True)
    assert parse_duration("1m", maximum=60) == 60.0
    with pytest.raises(DurationError, match="'61s' is longer than 1m"):
        parse_duration("61s", maximum=60)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (0.25, "250ms"),
        (0.0005, "0.5ms"),
        (1.5, "1.5s"),
        (90.5, "1m30.5s"),
        (86400, "1d"),
        (93784.005, "1d2h3m4.005s"),
        (3600.0, "1h"),
    ],
)
def test_formats(seconds: float, text: str) -> None:
    """format_duration writes the largest units first, sub-second times in ms."""
    assert format_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_format_refuses_what_is_no_duration(bad: float) -> None:
    """Negative, NaN and infinite seconds cannot be written as a duration."""
    with pytest.raises(DurationError, match="is not a duration"):
        format_duration(bad)


@given(st.floats(min_value=0, max_value=MAX_SECONDS, allow_nan=False))
def test_format_parse_round_trip(seconds: float) -> None:
    """Every accepted float is written as text that reads back to exactly that float."""
    assert parse_duration(format_duration(seconds)) == seconds


_COUNTS = st.tuples(*(st.integers(0, n) for n in (364, 23, 59, 59, 999)))


@given(_COUNTS)
def test_compound_text_round_trip(counts: tuple[int, int, int, int, int]) -> None:
    """Compound text parses to the sum of its parts, and its canonical form to the same."""
    parts = [f"{n}{u}" for n, u in zip(counts, ("d", "h", "m", "s", "ms"), strict=True) if n]
    text = "".join(parts) or "0s"
    days, hours, minutes, secs, ms = counts
    expected = float(
        Decimal(days * 86400 + hours * 3600 + minutes * 60 + secs) + Decimal(ms) / 1000
    )
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


def test_rule_durations_need_a_unit_and_stay_within_a_week() -> None:
    """Rule files use the same syntax, but refuse bare numbers and more than 7 days."""
    assert rule_duration("1h30m") == parse_duration("1h30m")
    with pytest.raises(DurationError, match='has no unit: write "30s" or "30m"'):
        rule_duration(30)
    with pytest.raises(DurationError, match="'8d' is longer than 7d"):
        rule_duration("8d")


def test_pydantic_fields_read_and_dump_the_syntax() -> None:
    """Duration fields read text or bare seconds and dump back to the text form."""
    times = Times.model_validate({"wait": "0s", "every": "1h30m"})
    assert (times.wait, times.every) == (0.0, 5400.0)
    assert Times(wait=2, every=0.25).model_dump() == {"wait": "2s", "every": "250ms"}
    assert Times.model_validate_json(times.model_dump_json()) == times


def test_positive_duration_field_refuses_zero() -> None:
    """PositiveDuration refuses 0s with the field's location; Duration takes it."""
    with pytest.raises(ValidationError) as caught:
        Times(every="0s")
    (error,) = caught.value.errors()
    assert error["loc"] == ("every",)
    assert "'0s' must be longer than 0s" in error["msg"]


def test_json_schema_shows_the_syntax() -> None:
    """The JSON schema describes a duration as text in the syntax (or bare seconds)."""
    schema = Times.model_json_schema()["properties"]
    for name in ("wait", "every"):
        assert schema[name]["examples"][:3] == ["250ms", "90s", "5m"]
        assert {"type": "string", "pattern": schema[name]["anyOf"][0]["pattern"]} in schema[name][
            "anyOf"
        ]
    assert {"type": "number", "minimum": 0} in schema["wait"]["anyOf"]
    assert {"type": "number", "exclusiveMinimum": 0} in schema["every"]["anyOf"]


def test_notify_times_take_the_syntax_and_bare_seconds() -> None:
    """Every [notify] time takes the syntax; bare numbers stay seconds; waits may be 0s."""
    settings = parse_notify_settings(
        {"repeat_interval": "2h", "group_wait": "0s", "flood_window": "1m30s", "retry_max": 300},
        "riskd.toml",
    )
    assert settings.repeat_interval == 7200.0
    assert settings.group_wait == 0.0
    assert settings.flood_window == 90.0
    assert settings.retry_max == 300.0
    assert settings.model_dump()["repeat_interval"] == "2h"


def test_notify_time_errors_name_the_key() -> None:
    """A bad [notify] time names the file, the key and what is wrong."""
    with pytest.raises(NotifySettingsError) as caught:
        parse_notify_settings({"send_timeout": "0s", "group_wait": "soon"}, "riskd.toml")
    text = str(caught.value)
    assert text.startswith("invalid notify settings in riskd.toml:")
    assert "send_timeout: Value error, '0s' must be longer than 0s" in text
    assert "group_wait: Value error, 'soon' is not a duration" in text


def test_click_param_type() -> None:
    """DURATION gives seconds; a bad value is a usage error naming the option."""

    @click.command()
    @click.option("--over", type=DURATION, default="1m", show_default=True)
    @click.option("--every", type=POSITIVE_DURATION, default=None)
    def show(over: float, every: float | None) -> None:
        click.echo(f"{over} {every}")

    runner = CliRunner()
    assert runner.invoke(show, []).output == "60.0 None\n"
    assert runner.invoke(show, ["--over", "0s", "--every", "90"]).output == "0.0 90.0\n"
    bad = runner.invoke(show, ["--every", "0s"])
    assert bad.exit_code == 2
    assert "Invalid value for '--every': '0s' must be longer than 0s" in bad.output
    assert "--over DURATION" in runner.invoke(show, ["--help"]).output


def test_silence_add_for_refuses_zero_before_touching_the_journal() -> None:
    """`riskd silence add --for 0s` is a usage error naming --for."""
    out = CliRunner().invoke(cli, ["silence", "add", "--matcher", "kind=stale", "--for", "0s"])
    assert out.exit_code == 2
    assert "Invalid value for '--for': '0s' must be longer than 0s" in out.output


def test_journal_since_names_both_forms() -> None:
    """A bad `riskd journal --since` names the duration syntax and the ISO form."""
    out = CliRunner().invoke(cli, ["journal", "--journal", "none.sqlite3", "--since", "soon"])
    assert out.exit_code == 2
    assert "'soon' is neither a duration (a number and a unit" in out.output
    assert "nor an ISO time" in out.output


def test_backoff_delays_never_overflow() -> None:
    """An exponential back-off stays at its cap after any number of failures (a channel down
    for days once raised OverflowError in its worker after 1,025 failures)."""
    assert [backoff_delay(1, 2, n, 60) for n in (1, 2, 3, 7, 8)] == [1, 2, 4, 60, 60]
    assert backoff_delay(1, 2, 10**6, 60) == 60
    assert backoff_delay(5, 1, 10**6, 60) == 5 and backoff_delay(90, 2, 3, 60) == 60
    assert backoff_delay(0, 2, 10**6, 60) == 0
