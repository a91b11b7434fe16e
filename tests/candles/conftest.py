"""Fixtures for the candle download tests: a simulator whose BTCUSDT walks for two days."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from riskd.cli.candles import CandlesDeps
from riskd.cli.main import cli
from riskd.clock import ManualClock
from riskd.sim import Simulator
from riskd.sim.market import Segment

#: 2023-11-14 00:00 UTC: the simulated market starts on a day boundary.
MARKET_START = 1_699_920_000.0
MARKET_START_MS = int(MARKET_START * 1000)
PROTOCOL_START = 1_750_000_000.0
DAY_S = 86_400
WALK_DAYS = 2
BASE_URL = "http://sim.test"


def walking_sim(days: int = WALK_DAYS, **kwargs: Any) -> tuple[Simulator, ManualClock]:
    """A simulator whose BTCUSDT follows a seeded random walk from its start for ``days``
    days, with the market clock moved to the end of the walk."""
    market = ManualClock(MARKET_START)
    kwargs.setdefault("rate_limits", False)
    kwargs.setdefault("protocol_clock", ManualClock(PROTOCOL_START))
    sim = Simulator(clock=market, scenario="default", **kwargs)
    walk = Segment("random_walk", duration_s=days * DAY_S, volatility=Decimal("0.0004"), step_s=5)
    sim.exchange.start_paths({"BTCUSDT": [walk]})
    market.advance(days * DAY_S)
    return sim, market


@dataclass
class SimCli:
    """``riskd candles download`` against a simulator in-process (ASGI, virtual time)."""

    sim: Simulator
    market: ManualClock
    budget_clock: ManualClock

    def deps(self) -> CandlesDeps:
        return CandlesDeps(transport=httpx.ASGITransport(app=self.sim.app), clock=self.budget_clock)

    def download(self, *args: str, out: Path | None = None) -> Result:
        argv = ["candles", "download", *args, "--base-url", BASE_URL, "--no-progress"]
        if out is not None:
            argv += ["--out", str(out)]
        return CliRunner().invoke(cli, argv, obj=self.deps())


@pytest.fixture
def walking() -> tuple[Simulator, ManualClock]:
    return walking_sim()


@pytest.fixture
def sim_cli(walking: tuple[Simulator, ManualClock]) -> SimCli:
    sim, market = walking
    return SimCli(sim, market, ManualClock(PROTOCOL_START))
