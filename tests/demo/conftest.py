"""Shared builders for the demo's tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from riskd.demo.summary import (
    ActionTaken,
    AlertSeen,
    Delivery,
    DemoSummary,
    Liquidation,
    ScopeResult,
)

D = Decimal


SummaryFactory = Callable[..., DemoSummary]


def _make_summary(**changes: object) -> DemoSummary:
    """A plausible protected run; ``changes`` replace fields."""
    base = DemoSummary(
        scenario="default",
        description="a crash",
        mode="riskd LIVE against the simulator",
        speed=10.0,
        market_seconds=180.0,
        wall_seconds=18.2,
        liquidated=False,
        liquidations=(),
        max_risk_rate=D("0.91234567"),
        lowest_distance=D("0.0312"),
        actions=(
            ActionTaken(104.5, "main", "isolated:BTCUSDT", "repay", "repay 2000 USDT", D(2000)),
        ),
        capital_moved=D("2000.004"),
        reaction_ms=1100,
        api_calls=120,
        rate_limited=0,
        server_errors=0,
        oracle_min=D("1000.5"),
        oracle_feasible=True,
        duplicates=0,
        intents=1,
        alerts=(AlertSeen(104.0, "critical", "firing", "margin call", "main", "cross"),),
        delivery=Delivery(submitted=3, delivered=3, routes=("console: healthy",)),
        scopes=(
            ScopeResult(
                "main",
                "isolated:BTCUSDT",
                D("0.91"),
                D("0.0312"),
                False,
                103.4,
                104.5,
                1100,
                D(2000),
                D("1000.5"),
                True,
                1,
            ),
        ),
        facts={"max_firing_per_rule": 1, "cycle_errors": 0},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def make_summary() -> SummaryFactory:
    """Build a summary of a plausible protected run; keyword arguments replace fields."""
    return _make_summary


@pytest.fixture
def liquidation() -> Liquidation:
    return Liquidation(106.4, "main", "isolated:BTCUSDT", "risk rate 1.01", Decimal("1.01"))


@pytest.fixture
def summary() -> DemoSummary:
    return _make_summary()
