"""Faults on demand: latency, 5xx, timeouts, malformed bodies, 429 storms, maintenance, skew.

A :class:`FaultSpec` may combine several effects. It applies to the endpoints it names (by
their logical name in :mod:`riskd.bitget.endpoints`, which covers the v1 endpoint and its v2
counterpart alike; none = every endpoint) during a window of
scenario time (``start_s`` ≤ elapsed < ``end_s``; ``None`` = open). Shares (``*_rate``) are
drawn from a seeded RNG, so a run with the same seed sees the same faults.

What each effect does to a matching request:

- ``latency_s``: the answer waits that long on the event loop's time (virtual in the demo);
- ``error_rate``: that share is answered ``error_status`` (5xx) with a non-JSON body, and the
  request is *not* executed;
- ``rate_limit_rate``: that share is answered HTTP 429 (a 429 storm), not executed;
- ``maintenance``: every request is answered ``40200`` (server upgrade), not executed;
- ``timeout_rate``: that share *is executed* and then does not answer for ``timeout_s``
  (longer than any client timeout; then HTTP 504 without a JSON body) — the answer is lost;
- ``malformed_rate``: that share *is executed* and answered with a truncated JSON body;
- ``clock_skew_s``: the protocol clock (server time, timestamp window) is shifted by it
  (for every endpoint: the server has one clock).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from riskd.bitget.endpoints import BY_NAME


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault (or several effects at once) for some endpoints and a time window."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    malformed_rate: float = 0.0
    rate_limit_rate: float = 0.0
    maintenance: bool = False
    clock_skew_s: float = 0.0
    endpoints: tuple[str, ...] = ()
    start_s: float | None = None
    end_s: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        for rate_name in ("error_rate", "timeout_rate", "malformed_rate", "rate_limit_rate"):
            rate = getattr(self, rate_name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"FaultSpec.{rate_name} must be within 0..1, got {rate}")
        if self.latency_s < 0 or self.timeout_s < 0:
            raise ValueError("FaultSpec latency_s and timeout_s must be >= 0")
        if not 500 <= self.error_status <= 599:
            raise ValueError(
                f"FaultSpec.error_status must be a 5xx status, got {self.error_status}"
            )
        unknown = [e for e in self.endpoints if e not in BY_NAME]
        if unknown:
            raise ValueError(
                f"FaultSpec.endpoints: unknown endpoint name(s) {', '.join(unknown)} "
                "(use names from riskd.bitget.endpoints, e.g. 'cross_assets')"
            )
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("FaultSpec.end_s must be after start_s")

    def in_window(self, elapsed_s: float) -> bool:
        if self.start_s is not None and elapsed_s < self.start_s:
            return False
        return self.end_s is None or elapsed_s < self.end_s

    def applies(self, endpoint: str, elapsed_s: float) -> bool:
        if not self.in_window(elapsed_s):
            return False
        return not self.endpoints or endpoint in self.endpoints

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What the faults do to one request."""

    latency_s: float = 0.0
    error_status: int | None = None
    rate_limited: bool = False
    maintenance: bool = False
    timeout_s: float | None = None
    malformed: bool = False

    @property
    def rejects(self) -> bool:
        return self.error_status is not None or self.rate_limited or self.maintenance


@dataclass
class Faults:
    """The active fault set (scenario faults plus runtime ones)."""

    seed: int = 0
    _specs: dict[int, FaultSpec] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def add(self, spec: FaultSpec) -> int:
        fault_id = next(self._ids)
        self._specs[fault_id] = spec
        return fault_id

    def remove(self, fault_id: int) -> None:
        self._specs.pop(fault_id, None)

    def clear(self) -> None:
        self._specs.clear()

    def specs(self) -> dict[int, FaultSpec]:
        return dict(self._specs)

    def skew_s(self, elapsed_s: float) -> float:
        return sum(s.clock_skew_s for s in self._specs.values() if s.in_window(elapsed_s))

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def decide(self, endpoint: str, elapsed_s: float) -> FaultDecision:
        latency = 0.0
        error_status: int | None = None
        rate_limited = maintenance = malformed = False
        timeout_s: float | None = None
        for spec in self._specs.values():
            if not spec.applies(endpoint, elapsed_s):
                continue
            latency += spec.latency_s
            maintenance = maintenance or spec.maintenance
            if error_status is None and self._draw(spec.error_rate):
                error_status = spec.error_status
            rate_limited = rate_limited or self._draw(spec.rate_limit_rate)
            if timeout_s is None and self._draw(spec.timeout_rate):
                timeout_s = spec.timeout_s
            malformed = malformed or self._draw(spec.malformed_rate)
        return FaultDecision(latency, error_status, rate_limited, maintenance, timeout_s, malformed)


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    try:
        return float(Decimal(str(value)))
    except InvalidOperation:
        raise ValueError(f"{name}: {value!r} is not a number") from None


def fault_from_mapping(values: Mapping[str, object]) -> FaultSpec:
    """A :class:`FaultSpec` from TOML or JSON values; unknown or ill-typed fields are refused
    with a :class:`ValueError` naming them."""
    names = FaultSpec.field_names()
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"unknown fault field(s) {unknown} (allowed: {sorted(names)})")
    defaults = FaultSpec()

    def num(name: str) -> float:
        value = values.get(name)
        return float(getattr(defaults, name)) if value is None else _seconds(name, value)

    def opt(name: str) -> float | None:
        value = values.get(name)
        return None if value is None else _seconds(name, value)

    endpoints = values.get("endpoints", ())
    if not isinstance(endpoints, (list, tuple)) or not all(isinstance(e, str) for e in endpoints):
        raise ValueError("endpoints: expected a list of endpoint names")
    status = values.get("error_status", defaults.error_status)
    if isinstance(status, bool) or not isinstance(status, int):
        raise ValueError(f"error_status: expected an integer HTTP status, got {status!r}")
    maintenance = values.get("maintenance", False)
    if not isinstance(maintenance, bool):
        raise ValueError(f"maintenance: expected true or false, got {maintenance!r}")
    return FaultSpec(
        latency_s=num("latency_s"),
        error_rate=num("error_rate"),
        error_status=status,
        timeout_rate=num("timeout_rate"),
        timeout_s=num("timeout_s"),
        malformed_rate=num("malformed_rate"),
        rate_limit_rate=num("rate_limit_rate"),
        maintenance=maintenance,
        clock_skew_s=_seconds("clock_skew_s", values.get("clock_skew_s", 0)),
        endpoints=tuple(str(e) for e in endpoints),
        start_s=opt("start_s"),
        end_s=opt("end_s"),
        name=str(values.get("name", "")),
    )
