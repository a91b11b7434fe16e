"""Where delivery outcomes go: the daemon's journal implements :class:`DeliveryRecorder`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

#: delivered: a channel accepted the message carrying the alert;
#: retrying: an attempt failed, another will follow (detail says why and when);
#: failed: the alert was still undelivered when the notifier stopped;
#: dropped: the alert was dropped (queue bound, no route, submitted after stop);
#: suppressed: a silence or an inhibition rule kept it from being sent (detail says which).
Outcome = Literal["delivered", "failed", "retrying", "dropped", "suppressed"]


class DeliveryRecorder(Protocol):
    """Receives one record per alert × channel outcome; ``detail`` is already redacted."""

    async def record(self, alert_key: str, route: str, outcome: Outcome, detail: str) -> None:
        """``alert_key`` is the alert's ``group_key``; ``route`` a channel label, e.g.
        ``telegram[0]`` (or the route name when no channel was involved)."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    alert_key: str
    route: str
    outcome: Outcome
    detail: str


class MemoryRecorder:
    """Keeps the last ``limit`` records in memory (the default; handy in tests)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.records: deque[DeliveryRecord] = deque(maxlen=limit)

    async def record(self, alert_key: str, route: str, outcome: Outcome, detail: str) -> None:
        self.records.append(DeliveryRecord(alert_key, route, outcome, detail))

    def outcomes(self, outcome: Outcome) -> list[DeliveryRecord]:
        return [r for r in self.records if r.outcome == outcome]

    def __repr__(self) -> str:
        return f"MemoryRecorder({len(self.records)} records)"
