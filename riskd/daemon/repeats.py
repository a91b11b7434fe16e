"""Repeated "not sent" notices, said once and then counted.

A rule that keeps firing on a scope where its step can do nothing (a sale below the exchange's
minimum order on a scope down to dust, a repay with nothing free to repay) would otherwise
journal and log the same skip at every cycle: tens of thousands of lines a day on an unattended
server. :class:`RepeatFilter` lets the first skip of a (scope, rule, action) through, keeps the
next ones quiet, and lets one through again every ``every`` seconds with the number kept quiet
meanwhile. Anything else that step does (it is sent) makes the next skip news again.

Pure bookkeeping: the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Seconds between two journal lines of the same repeated skip.
REPEAT_EVERY_S = 600.0

Key = tuple[str, str, str]


@dataclass
class _Seen:
    said_at: float
    quiet: int = 0


@dataclass
class RepeatFilter:
    """Which repeats of a skip are worth a journal line (see the module docstring)."""

    every: float = REPEAT_EVERY_S
    _seen: dict[Key, _Seen] = field(default_factory=dict)

    def admit(self, key: Key, now: float) -> int | None:
        """None: keep this one quiet. Else the number of repeats kept quiet since the last
        one said (0 for news)."""
        seen = self._seen.get(key)
        if seen is None or now - seen.said_at >= self.every:
            quiet = seen.quiet if seen is not None else 0
            self._seen[key] = _Seen(now)
            return quiet
        seen.quiet += 1
        return None

    def forget(self, key: Key) -> None:
        """The step did something: its next skip is news."""
        self._seen.pop(key, None)
