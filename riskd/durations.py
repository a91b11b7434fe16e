"""Durations, one syntax everywhere: settings, notify settings, rule files and CLI options.

A duration is a number with a unit, or several from the largest unit to the smallest:
``"250ms"``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2h"``, ``"1d"`` (units ``ms``, ``s``,
``m``, ``h``, ``d``; a part may have decimals: ``"1.5s"``). Blanks between parts are
allowed (``"1h 30m"``). A bare number (``10``, ``0.5``, ``"10"``) means seconds where it was
accepted before (settings, notify settings, CLI options); rule files refuse it so that
nobody has to remember whether ``for = 5`` means seconds or minutes at 3 a.m.

Durations are never negative, NaN or infinite, and never longer than :data:`MAX_SECONDS`
(a year: anything longer is a typo). Whether zero is allowed is decided per field:
:data:`Duration` takes ``0s`` (e.g. ``notify.group_wait``, a rule's ``for``),
:data:`PositiveDuration` does not (poll intervals, timeouts, ``silence add --for``).

Parsing is exact: each part is read as a decimal, so ``format_duration`` and
``parse_duration`` round-trip every float they accept.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from typing import Annotated, Protocol

import click
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

#: Seconds per unit, largest first (the order parts must follow).
UNITS: dict[str, Decimal] = {
    "d": Decimal(86400),
    "h": Decimal(3600),
    "m": Decimal(60),
    "s": Decimal(1),
    "ms": Decimal("0.001"),
}
#: The longest duration anywhere (rule files allow less, see ``maximum``).
MAX_SECONDS = 365 * 86400.0
#: The accepted syntax, as error messages and docs state it.
SYNTAX = 'a number and a unit (ms, s, m, h, d), e.g. "250ms", "90s", "5m", "1h30m"'
_BARE_NOTE = "; a bare number is seconds"
_NUMBER = r"\d+(?:\.\d+)?"
_PART = re.compile(rf"\s*({_NUMBER})\s*([A-Za-z]*)\s*")
_BARE = re.compile(rf"\s*({_NUMBER})\s*")
#: The JSON-schema pattern of the text form (bare numbers aside).
PATTERN = rf"^\s*(?:{_NUMBER}\s*(?:ms|s|m|h|d)\s*)+$"


class DurationError(ValueError):
    """A duration that cannot be used; the message names the value, the syntax and where."""


def parse_duration(
    value: object,
    *,
    where: str = "",
    bare_seconds: bool = True,
    positive: bool = False,
    maximum: float = MAX_SECONDS,
) -> float:
    """``"1h30m"`` → ``5400.0`` seconds; :class:`DurationError` for anything else.

    ``where`` (``"rule 'x', field 'for'"``, ``"--for"``) starts the error message.
    ``bare_seconds``: a number without a unit (``10``, ``"10"``) is seconds; otherwise it is
    refused. ``positive``: refuse zero. ``maximum``: the longest duration allowed here.
    """
    syntax = SYNTAX + (_BARE_NOTE if bare_seconds else "")

    def fail(problem: str, *, hint: bool = True) -> DurationError:
        prefix = f"{where}: " if where else ""
        return DurationError(f"{prefix}{problem}" + (f"; write {syntax}" if hint else ""))

    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise fail(f"{value!r} is not a duration")
    if isinstance(value, str):
        seconds = _parse_text(value, bare_seconds, fail)
    else:
        if not bare_seconds:
            raise fail(f'{value!r} has no unit: write "{value}s" or "{value}m"', hint=False)
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite:
            raise fail(f"{value!r} is not a finite number of seconds")
        if value < 0:
            raise fail(f"{value!r} is negative (a duration is 0s or more)", hint=False)
        seconds = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if seconds > Decimal(repr(maximum)):
        raise fail(f"{value!r} is longer than {format_duration(maximum)}", hint=False)
    if positive and seconds == 0:
        raise fail(f"{value!r} must be longer than 0s", hint=False)
    return float(seconds)


def _parse_text(text: str, bare_seconds: bool, fail: _Fail) -> Decimal:
    stripped = text.strip()
    if not stripped:
        raise fail("an empty text is not a duration")
    if stripped.startswith("-"):
        raise fail(f"{text!r} is negative (a duration is 0s or more)", hint=False)
    bare = _BARE.fullmatch(text)
    if bare:
        if not bare_seconds:
            n = bare.group(1)
            raise fail(f'{text!r} has no unit: write "{n}s" or "{n}m"', hint=False)
        return Decimal(bare.group(1))
    parts: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None or match.end() == pos:
            raise fail(f"{text!r} is not a duration")
        parts.append((match.group(1), match.group(2)))
        pos = match.end()
    order = list(UNITS)
    last = -1
    total = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 60
        for number, unit in parts:
            if unit not in UNITS:
                what = f"unknown unit {unit!r}" if unit else f"{number} has no unit"
                raise fail(f"{text!r} is not a duration: {what}")
            rank = order.index(unit)
            if rank <= last:
                raise fail(f"{text!r}: units must go from the largest to the smallest, each once")
            last = rank
            total += Decimal(number) * UNITS[unit]
    return total


class _Fail(Protocol):
    def __call__(self, problem: str, *, hint: bool = True) -> DurationError: ...


def format_duration(seconds: float) -> str:
    """``5400.0`` → ``"1h30m"``, ``90`` → ``"1m30s"``, ``0.25`` → ``"250ms"``, ``0`` → ``"0s"``.

    Exact: :func:`parse_duration` reads the text back to the same float. Fractions of a
    second stay on the seconds (``"1m30.5s"``); below one second they are milliseconds.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise DurationError(f"{seconds!r} is not a duration (0 or more, finite)")
    with localcontext() as ctx:
        ctx.prec = 60
        rest = Decimal(repr(float(seconds)))
        if rest == 0:
            return "0s"
        if rest < 1:
            return f"{_plain(rest * 1000)}ms"
        out = []
        for unit in ("d", "h", "m"):
            whole, rest = divmod(rest, UNITS[unit])
            if whole:
                out.append(f"{int(whole)}{unit}")
        if rest:
            out.append(f"{_plain(rest)}s")
        return "".join(out)


def _plain(number: Decimal) -> str:
    """A decimal without exponent or trailing zeros: ``Decimal("2.50E+2")`` → ``"250"``."""
    return format(number.normalize(), "f")


def _validate(value: object) -> float:
    return parse_duration(value)


def _validate_positive(value: object) -> float:
    return parse_duration(value, positive=True)


def _schema(minimum: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": PATTERN},
                {"type": "number", minimum: 0},
            ],
            "description": f"a duration: {SYNTAX}{_BARE_NOTE}",
            "examples": ["250ms", "90s", "5m", "1h30m", "1d"],
        }
    )


_SERIALIZE = PlainSerializer(format_duration, return_type=str)

#: Seconds, 0 or more; read from the duration syntax (or a bare number of seconds) and
#: written back as text (``"1m30s"``) by ``model_dump`` and in the JSON schema.
Duration = Annotated[float, BeforeValidator(_validate), _SERIALIZE, _schema("minimum")]
#: As :data:`Duration`, but longer than 0 (an interval, a timeout).
PositiveDuration = Annotated[
    float, BeforeValidator(_validate_positive), _SERIALIZE, _schema("exclusiveMinimum")
]


class DurationParamType(click.ParamType[float, object]):
    """A click option in the duration syntax (a bare number is seconds); gives seconds."""

    name = "duration"

    def __init__(self, *, positive: bool = False) -> None:
        self.positive = positive

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            return parse_duration(value, positive=self.positive)
        except DurationError as exc:
            self.fail(str(exc), param, ctx)


#: ``--over 2m``: 0 or more seconds.
DURATION = DurationParamType()
#: ``--for 2h``: more than 0 seconds.
POSITIVE_DURATION = DurationParamType(positive=True)


def backoff_delay(initial: float, multiplier: float, attempt: int, cap: float) -> float:
    """The pause before retry number ``attempt`` (1 for the first): ``initial ×
    multiplier^(attempt − 1)``, at most ``cap``. Never overflows, however many attempts (a
    channel or an endpoint can fail for days): no power beyond the one that reaches ``cap``
    is computed."""
    n = max(0, attempt - 1)
    if multiplier > 1 and 0 < initial < cap:
        n = min(n, math.ceil(math.log(cap / initial, multiplier)))
    elif multiplier > 1:
        n = 0
    return min(cap, initial * multiplier**n)
