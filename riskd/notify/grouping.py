"""Dedup like Alertmanager: one message per incident, repeats only after a repeat interval.

Pure: every method takes ``now``.

An incident is an :attr:`Alert.group_key` (rule × scope firing episode). A *state* alert
(firing, stale, error, resolved) that repeats the incident's last accepted state — same kind,
same severity — within ``repeat_interval`` is suppressed. A change of severity or kind goes at
once; a resolved alert clears the incident so that firing again is announced at once.
Actions, life signs and tests are events: never suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from riskd.notify.alert import Alert, AlertKind
from riskd.severity import Severity

#: Kinds that describe a lasting state and may be suppressed as repeats.
STATE_KINDS = frozenset({AlertKind.FIRING, AlertKind.STALE, AlertKind.ERROR, AlertKind.RESOLVED})

#: Prune expired entries once the table holds this many incidents.
_PRUNE_AT = 4096


@dataclass(frozen=True, slots=True)
class _Seen:
    severity: Severity
    at: float


class Deduper:
    """Remembers, per incident and kind, the last state that was accepted for delivery."""

    def __init__(self, repeat_interval: float) -> None:
        if repeat_interval <= 0:
            raise ValueError(f"repeat_interval must be > 0, got {repeat_interval}")
        self._repeat = repeat_interval
        self._seen: dict[tuple[str, AlertKind], _Seen] = {}
        self._prune_at = _PRUNE_AT

    def __len__(self) -> int:
        return len(self._seen)

    def accept(self, alert: Alert, now: float) -> bool:
        """Whether ``alert`` should be delivered (and remember it if so)."""
        if alert.kind not in STATE_KINDS:
            return True
        key = (alert.group_key, alert.kind)
        seen = self._seen.get(key)
        if seen is not None and seen.severity == alert.severity and now - seen.at < self._repeat:
            return False
        if alert.kind is AlertKind.RESOLVED:
            self._forget(alert.group_key)
        else:
            self._seen.pop((alert.group_key, AlertKind.RESOLVED), None)
        self._seen[key] = _Seen(alert.severity, now)
        if len(self._seen) >= self._prune_at:
            self.prune(now)
            # Amortised O(1): the next prune waits until the table has doubled again.
            self._prune_at = max(_PRUNE_AT, 2 * len(self._seen))
        return True

    def prune(self, now: float) -> int:
        """Forget entries older than the repeat interval; returns how many."""
        expired = [key for key, seen in self._seen.items() if now - seen.at >= self._repeat]
        for key in expired:
            del self._seen[key]
        return len(expired)

    def _forget(self, group_key: str) -> None:
        for kind in STATE_KINDS:
            self._seen.pop((group_key, kind), None)
