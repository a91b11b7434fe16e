"""The daemon on API v2 against the simulator: a crash survived whichever way the simulator
serves riskRateRatio, a Unified Trading Account stopped while another account is protected."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from riskd.clock import ManualClock
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.status import render_status, status_rows
from riskd.daemon.wiring import build_daemon
from riskd.risk.reading import INVERSE
from riskd.settings import Settings
from riskd.sim import Simulator, load_scenario

from .harness import REPO_RULES, crash, make_world

pytestmark = pytest.mark.slow

SCENARIO = """
name = "crash-v2"
risk_rate_reading = "{reading}"
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"
[[accounts]]
name = "alice"
funding = {{ cross = {{ USDT = "3000" }}, isolated.BTCUSDT = {{ USDT = "3000" }} }}
positions = [{{ scope = "isolated:BTCUSDT", side = "long", leverage = "4" }}]
[[accounts]]
name = "uta"
unified = true
funding = {{ cross = {{ USDT = "3000" }} }}
"""


def _sim(tmp_path: Path, reading: str) -> Simulator:
    path = tmp_path / "crash-v2.toml"
    path.write_text(SCENARIO.format(reading=reading))
    clock = ManualClock()
    return Simulator(
        clock=clock,
        scenario=load_scenario(path),
        protocol_clock=clock,
        monotonic=clock.now,
    )


async def test_crash_survived_when_the_figure_is_assets_over_liabilities(tmp_path: Path) -> None:
    """The simulator serves the reciprocal: riskd reads it inverted and still protects."""
    world = await make_world(tmp_path, live=True, sim=_sim(tmp_path, "assets_over_liabilities"))
    try:
        assert world.settings.accounts["alice"].api == "v2"
        await crash(world, "BTCUSDT", D(30000), D(19000), D(50), 2.0)
        assert world.sim.stats.liquidations == 0
        snap = world.daemon.accounts["alice"].poller.snapshots["isolated:BTCUSDT"]
        assert snap.risk_reading == INVERSE and snap.reading_checked
        assert snap.reported_risk_rate is not None and snap.reported_risk_rate > 1
        assert not [a for a in world.sink.alerts if "disagree" in a.title]
        acc = world.daemon.accounts["alice"]
        rows = await status_rows(world.daemon, acc, world.clock.now())
        row = dict(next(r for a, s, r in rows if s == "isolated:BTCUSDT"))
        assert row["risk_reading"] == INVERSE and row["local_risk_rate"] is not None
        text = render_status([("alice", "isolated:BTCUSDT", world.clock.now(), row)], None, {}, 0)
        assert "read as assets/liabilities" in text and "own " in text
    finally:
        await world.close()


async def test_unified_account_is_stopped_and_the_other_protected(tmp_path: Path) -> None:
    """40085 on a v1 account (classic only, never probed for UTA): one alert and one journal
    line; the other survives a crash. (v2 / auto accounts get the UTA adapter instead:
    tests/daemon/test_uta_daemon.py.)"""
    sim = _sim(tmp_path, "liabilities_over_assets")
    keys = {name: sim.add_account(name) for name in ("alice", "uta")}
    settings = Settings(
        live=True,
        base_url="http://sim",
        journal_path=str(tmp_path / "journal.sqlite3"),
        rules_dir=str(REPO_RULES),
        metrics={"enabled": False},  # type: ignore[arg-type]
        accounts={  # type: ignore[arg-type]
            name: {
                "api_key": k.api_key,
                "api_secret": k.secret,
                "api_passphrase": k.passphrase,
                **({"api": "v1"} if name == "uta" else {}),
            }
            for name, k in keys.items()
        },
    )
    clock = sim.clock
    assert isinstance(clock, ManualClock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    sink = LoggingSink()
    prices = SimPriceSource(sim.index_price, lambda: sim.scenario.markets, clock)
    built = await build_daemon(settings, clock=clock, http=http, prices=prices, sink=sink)
    try:
        daemon = built.daemon
        await daemon.start()
        price = D(30000)
        while price >= D(19000):
            sim.control.set_price("BTCUSDT", price)
            clock.advance(2.0)
            await daemon.run_cycle()
            price -= D(100)
        assert sim.stats.liquidations == 0
        uta = daemon.accounts["uta"]
        assert uta.poller.stopped is not None and "Unified Trading Account" in uta.poller.stopped
        assert daemon.accounts["alice"].poller.stopped is None
        stopped = [a for a in sink.alerts if a.account == "uta" and "Unified" in a.title]
        assert len(stopped) == 1
        events = await daemon.journal.events(kinds=["account_mode"])
        events = [e for e in events if "uses" not in e.summary]  # the start's adapter lines
        assert len(events) == 1 and "40085" in events[0].summary
        rows = await status_rows(daemon, uta, clock.now())
        assert rows == [("uta", "account", {"stopped": uta.poller.stopped, "live": True})]
    finally:
        await built.aclose()
        await http.aclose()
