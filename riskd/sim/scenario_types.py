"""The frozen values a scenario file is read into (parsed by :mod:`riskd.sim.scenario`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from riskd.sim.faults import FaultSpec
from riskd.sim.market import FeedStop, Segment

Funding = Mapping[str, Mapping[str, Decimal]]
Side = Literal["long", "short"]
OrderSide = Literal["buy", "sell"]
#: How the v2 ``riskRateRatio`` is served (ENDPOINTS-v2.md §2.1: the sources disagree):
#: ``liabilities_over_assets`` = the risk rate itself (higher = riskier, 1 = liquidation);
#: ``assets_over_liabilities`` = its reciprocal (lower = riskier).
RiskRateReading = Literal["liabilities_over_assets", "assets_over_liabilities"]
RISK_RATE_READINGS: tuple[RiskRateReading, ...] = (
    "liabilities_over_assets",
    "assets_over_liabilities",
)


class ScenarioError(ValueError):
    """A scenario file that cannot be used: says which file, which key, and what is wrong."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"scenario {source}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True, slots=True)
class PositionSpec:
    scope: str
    symbol: str
    side: Side
    leverage: Decimal


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """A resting limit order placed when the account is set up (``orders = [...]``)."""

    scope: str
    symbol: str
    side: OrderSide
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class AccountSetup:
    name: str
    funding: Funding | None = None
    positions: tuple[PositionSpec, ...] = ()
    #: A Unified Trading Account: every classic (v1/v2 margin) signed endpoint answers 40085.
    unified: bool = False
    orders: tuple[OrderSpec, ...] = ()
    #: UTA only: the mgnRatio at which the simulator liquidates the account (``None``: 1).
    uta_liquidation_level: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """How long (market seconds) each kind of action takes to settle after it is accepted."""

    #: A flash repay is ``REPAYING`` after half of this and ``FINISH`` (sold and repaid) after it.
    flash_repay_s: float = 2.0
    #: A repay is accepted (its amount frozen) and reduces the debt this much later.
    repay_s: float = 0.0
    #: A market order (or a limit order that crosses when placed) fills this much later, at the
    #: index price of that moment.
    order_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CoinTier:
    """Cross-margin tier figures of one coin that replace the catalog's (``None`` = keep)."""

    mmr: Decimal | None = None
    leverage: Decimal | None = None
    max_borrowable: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SymbolTier:
    """Isolated-margin tier figures of one symbol that replace the catalog's (``None`` = keep)."""

    mmr: Decimal | None = None
    leverage: Decimal | None = None
    base_max_borrowable: Decimal | None = None
    quote_max_borrowable: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Tiers:
    cross: Mapping[str, CoinTier] = field(default_factory=lambda: MappingProxyType({}))
    isolated: Mapping[str, SymbolTier] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    markets: Mapping[str, Decimal]
    description: str = ""
    seed: int = 0
    funding: Funding = field(default_factory=lambda: MappingProxyType({}))
    accounts: tuple[AccountSetup, ...] = ()
    paths: Mapping[str, tuple[Segment, ...]] = field(default_factory=lambda: MappingProxyType({}))
    faults: tuple[FaultSpec, ...] = ()
    expect: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    duration_s: float = 0.0
    source: str = "<built-in>"
    risk_rate_reading: RiskRateReading = "liabilities_over_assets"
    feed_stops: tuple[FeedStop, ...] = ()
    settlement: Settlement = Settlement()
    tiers: Tiers = Tiers()
    #: ``[symbols.SYMBOL] max_trade_amount``: the largest order (base coin) of a symbol.
    max_trade_amounts: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def account(self, name: str) -> AccountSetup | None:
        return next((a for a in self.accounts if a.name == name), None)
