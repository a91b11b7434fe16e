"""Durations in rule files: ``"0s"``, ``"30s"``, ``"5m"``, ``"1h30m"``, ``"1d"``.

Written as strings with a unit so that nobody has to remember whether a bare number means
seconds or minutes at 3 a.m. Parsed to float seconds.
"""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")
#: The longest duration a rule may name (one week): anything longer is a typo.
MAX_SECONDS = 7 * 86400.0


class DurationError(ValueError):
    """A duration that cannot be read."""


def parse_duration(text: object) -> float:
    """``"1h30m"`` → ``5400.0``. Refuses numbers without a unit, negatives and > 7 days."""
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            raise DurationError(
                f'{text!r} has no unit: write a string such as "{text}s" or "{text}m"'
            )
        raise DurationError(f'{text!r} is not a duration (write e.g. "30s", "5m", "1h")')
    s = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        raise DurationError(f'{text!r} has no unit: write "{s}s" or "{s}m"')
    if not _WHOLE.fullmatch(s):
        raise DurationError(f'{text!r} is not a duration (write e.g. "0s", "30s", "5m", "1h30m")')
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(s))
    if seconds > MAX_SECONDS:
        raise DurationError(f"{text!r} is longer than 7 days")
    return seconds


def format_duration(seconds: float) -> str:
    """``5400.0`` → ``"1h30m"``; ``0`` → ``"0s"``; fractions of a second keep ``ms``."""
    if seconds <= 0:
        return "0s"
    ms = round(seconds * 1000)
    out = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    if ms:
        out.append(f"{ms}ms")
    return "".join(out)
