"""One server-time offset per node: many accounts start with one time read, not one each."""

from __future__ import annotations

from pathlib import Path

import httpx

from riskd.clock import ManualClock
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.wiring import build_daemon
from riskd.settings import Settings
from riskd.sim import Simulator, load_scenario

from .harness import REPO_RULES

N = 25
ACCOUNT = """
[[accounts]]
name = "a{i}"
funding = {{ cross = {{ USDT = "3000" }} }}
"""


async def test_twenty_five_accounts_read_the_server_time_once(tmp_path: Path) -> None:
    """Every client shares the first one's ServerClock; starting and polling all of them asks
    the exchange's time once (25 reads would spend the 20/s IP limit of the time endpoint)."""
    path = tmp_path / "many.toml"
    path.write_text(
        'name = "many"\n[markets]\nBTCUSDT = "30000"\n'
        + "".join(ACCOUNT.format(i=i) for i in range(N))
    )
    clock = ManualClock()
    sim = Simulator(
        clock=clock, scenario=load_scenario(path), protocol_clock=clock, monotonic=clock.now
    )
    keys = {f"a{i}": sim.add_account(f"a{i}") for i in range(N)}
    settings = Settings(
        base_url="http://sim",
        journal_path=str(tmp_path / "journal.sqlite3"),
        rules_dir=str(REPO_RULES),
        metrics={"enabled": False},  # type: ignore[arg-type]
        accounts={  # type: ignore[arg-type]
            name: {"api_key": k.api_key, "api_secret": k.secret, "api_passphrase": k.passphrase}
            for name, k in keys.items()
        },
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    prices = SimPriceSource(sim.index_price, lambda: sim.scenario.markets, clock)
    built = await build_daemon(settings, clock=clock, http=http, prices=prices, sink=LoggingSink())
    try:
        await built.daemon.start()
        clock.advance(1.0)
        await built.daemon.run_cycle()
        clocks = {id(c.server_clock) for c in built.clients.values()}
        assert len(clocks) == 1
        assert sim.stats.requests["server_time"] == 1
        assert sim.stats.rate_limited == 0
        assert all(acc.poller.snapshots for acc in built.daemon.accounts.values())
    finally:
        await built.aclose()
        await http.aclose()
