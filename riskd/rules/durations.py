"""Durations in rule files: riskd's one syntax (:mod:`riskd.durations`), with two rule rules.

A rule file's durations (``for``, ``keep_firing_for``, ``cooldown``, the windows of
``maxPriceStep("2m")`` / ``delta("riskRate", "5m")`` and a rule test's times) must carry a
unit (``for = 30`` is refused: seconds or minutes?) and be at most 7 days.
``DurationError``, ``format_duration`` and ``parse_duration`` are re-exported for
``riskd.cli.rules``.
"""

from __future__ import annotations

from riskd.durations import DurationError, format_duration, parse_duration

__all__ = [
    "RULE_MAX_SECONDS",
    "DurationError",
    "format_duration",
    "parse_duration",
    "rule_duration",
]

#: The longest duration a rule file may name (one week): anything longer is a typo.
RULE_MAX_SECONDS = 7 * 86400.0


def rule_duration(value: object, *, where: str = "") -> float:
    """``"1h30m"`` → ``5400.0``; refuses a bare number and more than 7 days."""
    return parse_duration(value, where=where, bare_seconds=False, maximum=RULE_MAX_SECONDS)
