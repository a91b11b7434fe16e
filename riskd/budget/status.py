"""The budget's visible state, for ``riskd status`` and the metrics: frozen values only."""

from __future__ import annotations

from dataclasses import dataclass

from riskd.bitget.endpoints import LimitScope


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """One limit key (endpoint or global rule × scope × identity) at one instant."""

    rule: str
    scope: LimitScope
    identity: str
    #: The documented limit and window.
    limit: int
    window_s: int
    #: What the budget lets through per window, and the part kept for protective calls.
    capacity: int
    reserved: int
    #: Calls in the current moving window (all daemons, with a shared storage).
    used: int
    #: The polls among them (at most ``capacity - reserved``).
    used_by_polls: int
    backoff_remaining_s: float
    http_429: int
    #: Acquires that had to wait on this key, and their total wait.
    waits: int
    wait_time_s: float
    #: Acquires that gave up (``BudgetExhausted``) while blocked by this key.
    exhausted: int
    admitted_poll: int
    admitted_protective: int

    @property
    def label(self) -> str:
        return f"{self.rule}/{self.scope.value}/{self.identity}"

    @property
    def poll_capacity(self) -> int:
        return self.capacity - self.reserved

    @property
    def utilisation(self) -> float:
        """Used share of the documented limit in the current window."""
        return self.used / self.limit

    def line(self) -> str:
        text = (
            f"{self.label}: {self.used}/{self.capacity} of {self.limit}/{self.window_s}s "
            f"(polls {self.used_by_polls}/{self.poll_capacity}), 429s {self.http_429}, "
            f"waits {self.waits} ({self.wait_time_s:.2f}s), exhausted {self.exhausted}"
        )
        if self.backoff_remaining_s > 0:
            text += f", backing off {self.backoff_remaining_s:.1f}s"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.label,
            "rule": self.rule,
            "scope": self.scope.value,
            "identity": self.identity,
            "limit": self.limit,
            "window_s": self.window_s,
            "capacity": self.capacity,
            "reserved": self.reserved,
            "used": self.used,
            "used_by_polls": self.used_by_polls,
            "backoff_remaining_s": round(self.backoff_remaining_s, 3),
            "http_429": self.http_429,
            "waits": self.waits,
            "wait_time_s": round(self.wait_time_s, 3),
            "exhausted": self.exhausted,
            "admitted_poll": self.admitted_poll,
            "admitted_protective": self.admitted_protective,
        }


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Every limit key the budget has seen, at ``at`` (POSIX seconds)."""

    at: float
    #: ``memory://`` or the Redis URI without credentials.
    storage: str
    safety_margin: float
    reserved_share: float
    keys: tuple[KeyStatus, ...]
    #: True while the shared (Redis) storage is unreachable and this node counts locally,
    #: each capacity scaled to ``fallback_share`` (None: memory storage, no fallback).
    storage_degraded: bool = False
    fallback_share: float | None = None

    @property
    def http_429(self) -> int:
        return sum(k.http_429 for k in self.keys)

    @property
    def waits(self) -> int:
        return sum(k.waits for k in self.keys)

    @property
    def wait_time_s(self) -> float:
        return sum(k.wait_time_s for k in self.keys)

    @property
    def exhausted(self) -> int:
        return sum(k.exhausted for k in self.keys)

    @property
    def backing_off(self) -> tuple[KeyStatus, ...]:
        return tuple(k for k in self.keys if k.backoff_remaining_s > 0)

    def key(self, rule: str, identity: str | None = None) -> KeyStatus | None:
        """The status of ``rule`` (for ``identity`` if given), or None if never used."""
        for k in self.keys:
            if k.rule == rule and (identity is None or k.identity == identity):
                return k
        return None

    def lines(self) -> list[str]:
        head = (
            f"rate budget ({self.storage}, margin {self.safety_margin:.0%}, "
            f"reserve {self.reserved_share:.0%}): 429s {self.http_429}, waits {self.waits} "
            f"({self.wait_time_s:.2f}s), exhausted {self.exhausted}"
        )
        if self.storage_degraded and self.fallback_share is not None:
            head += f"; shared storage unreachable: counting locally at {self.fallback_share:.0%}"
        return [head, *("  " + k.line() for k in self.keys)]

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "storage": self.storage,
            "safety_margin": self.safety_margin,
            "reserved_share": self.reserved_share,
            "http_429": self.http_429,
            "waits": self.waits,
            "wait_time_s": round(self.wait_time_s, 3),
            "exhausted": self.exhausted,
            "storage_degraded": self.storage_degraded,
            "fallback_share": self.fallback_share,
            "keys": [k.to_json() for k in self.keys],
        }
