"""The timeline of a demo run: sampled prices and risk rates, and what happened when.

Times are market seconds since the scenario started. Risk rates are keyed
``"account/scope"`` (``"main/isolated:BTCUSDT"``); an infinite rate (no net assets left) is
kept as ``Decimal("Infinity")`` and clipped only when drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

MarkerKind = Literal["action", "alert", "liquidation", "warning"]


def scope_key(account: str, scope: str) -> str:
    return f"{account}/{scope}"


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    #: symbol → index price
    prices: Mapping[str, Decimal]
    #: "account/scope" → risk rate
    risk: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class Marker:
    t: float
    kind: MarkerKind
    label: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    scenario: str
    samples: tuple[Sample, ...]
    markers: tuple[Marker, ...]
    warning: Decimal = Decimal("0.8")
    liquidation: Decimal = Decimal(1)

    @property
    def symbols(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.samples:
            seen.update(dict.fromkeys(s.prices))
        return list(seen)

    @property
    def scopes(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.samples:
            seen.update(dict.fromkeys(s.risk))
        return list(seen)

    def risk_at(self, key: str, t: float) -> Decimal | None:
        """The sampled risk rate of ``key`` at the last sample before ``t`` (what an action
        at ``t`` reacted to); the first sample when there is none before."""
        best: Decimal | None = None
        for s in self.samples:
            if s.t >= t and best is not None:
                break
            if key in s.risk:
                best = s.risk[key]
        return best
