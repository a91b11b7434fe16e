"""Shared set-up for the end-to-end daemon tests: a simulator and a daemon over ASGI."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from riskd.clock import ManualClock
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.app import Daemon
from riskd.daemon.journal import Journal
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.wiring import Built, ExecutorWrapper, JournalOpener, build_daemon
from riskd.settings import Settings
from riskd.sim import Simulator, load_scenario

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
MUTATING_ENDPOINTS = (
    "cross_repay",
    "isolated_repay",
    "cross_flash_repay",
    "isolated_flash_repay",
    "cross_place_order",
    "isolated_place_order",
    "cross_batch_cancel_order",
    "isolated_batch_cancel_order",
)

SCENARIO = """
name = "crash"
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"
[[accounts]]
name = "alice"
funding = {{ cross = {{ USDT = "3000" }}, isolated.BTCUSDT = {{ USDT = "3000" }} }}
positions = [
  {{ scope = "isolated:BTCUSDT", side = "long", leverage = "{iso_leverage}" }},
  {{ scope = "cross", symbol = "ETHUSDT", side = "long", leverage = "{cross_leverage}" }},
]
"""


@dataclass
class World:
    clock: ManualClock
    sim: Simulator
    http: httpx.AsyncClient
    built: Built
    sink: LoggingSink
    settings: Settings

    @property
    def daemon(self) -> Daemon:
        return self.built.daemon

    def mutating_calls(self) -> dict[str, int]:
        reqs = self.sim.stats.requests
        return {name: reqs[name] for name in MUTATING_ENDPOINTS if reqs.get(name)}

    async def restart(
        self,
        *,
        wrap_executor: ExecutorWrapper | None = None,
        open_journal: JournalOpener | None = None,
    ) -> None:
        """A new daemon process on the same journal (after a crash or a stop)."""
        await self.built.aclose()
        self.built = await _build(self, wrap_executor, open_journal)
        await self.daemon.start()

    async def close(self) -> None:
        await self.built.aclose()
        await self.http.aclose()


def make_sim(
    tmp_path: Path, *, iso_leverage: str = "4", cross_leverage: str = "3", seed: int = 0
) -> Simulator:
    path = tmp_path / "crash.toml"
    path.write_text(SCENARIO.format(iso_leverage=iso_leverage, cross_leverage=cross_leverage))
    clock = ManualClock()
    return Simulator(
        clock=clock,
        scenario=load_scenario(path),
        seed=seed,
        protocol_clock=clock,
        monotonic=clock.now,
    )


def make_settings(
    tmp_path: Path,
    sim: Simulator,
    *,
    live: bool,
    rules_dir: Path = REPO_RULES,
    top: dict[str, object] | None = None,
    **extra: object,
) -> Settings:
    """Settings for account alice of ``sim``; ``extra`` goes into the account's table,
    ``top`` into the top level."""
    keys = sim.keys("alice")
    data: dict[str, object] = {
        "live": live,
        "base_url": "http://sim",
        "journal_path": str(tmp_path / "journal.sqlite3"),
        # Small: every test's daemon writes its reserve (tests/daemon/test_disk_full.py).
        "journal_reserve": "64KiB",
        "rules_dir": str(rules_dir),
        "metrics": {"enabled": False},
        # The simulator finishes a flash repay 2 s after it starts: an unanswered one with
        # no sign of it after 4 s was not executed.
        "poll": {"flash_repay_timeout": "4s"},
        "accounts": {
            "alice": {
                "api_key": keys.api_key,
                "api_secret": keys.secret,
                "api_passphrase": keys.passphrase,
                **extra,
            }
        },
    }
    for key, value in (top or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}  # type: ignore[dict-item]
        else:
            data[key] = value
    return Settings(**data)  # type: ignore[arg-type]


async def _build(
    world: World, wrap: ExecutorWrapper | None, open_journal: JournalOpener | None = None
) -> Built:
    sim = world.sim
    prices = SimPriceSource(sim.index_price, lambda: sim.scenario.markets, world.clock)
    return await build_daemon(
        world.settings,
        clock=world.clock,
        http=world.http,
        prices=prices,
        sink=world.sink,
        wrap_executor=wrap,
        open_journal=open_journal or Journal.open,
    )


async def make_world(
    tmp_path: Path,
    *,
    live: bool,
    sim: Simulator | None = None,
    wrap_executor: ExecutorWrapper | None = None,
    open_journal: JournalOpener | None = None,
    **settings_extra: object,
) -> World:
    sim = sim or make_sim(tmp_path)
    assert isinstance(sim.clock, ManualClock)
    sim.add_account("alice")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    settings = make_settings(tmp_path, sim, live=live, **settings_extra)
    world = World(sim.clock, sim, http, None, LoggingSink(), settings)  # type: ignore[arg-type]
    world.built = await _build(world, wrap_executor, open_journal)
    await world.daemon.start()
    return world


async def crash(
    world: World, symbol: str, start: Decimal, stop: Decimal, step: Decimal, every_s: float
) -> None:
    """Lower ``symbol`` from ``start`` to ``stop`` by ``step`` every ``every_s`` seconds,
    running the daemon's cycle after each move."""
    price = start
    while price >= stop:
        world.sim.control.set_price(symbol, price)
        world.clock.advance(every_s)
        await world.daemon.run_cycle()
        price -= step


#: A flash repay as the only protection (the shipped ladder de-leverages first): for tests
#: about following, reconciling and stopping around a flash repay.
FLASH_AT_085 = """
[[rule]]
name = "flash"
scope = "isolated:*"
when = "riskRate >= 0.85"
for = "0s"
cooldown = "10s"
severity = "critical"
then = ["flashRepay"]
"""


def flash_only_rules(tmp_path: Path) -> Path:
    """A rules directory holding only :data:`FLASH_AT_085`."""
    d = tmp_path / "flash-rules"
    d.mkdir(exist_ok=True)
    (d / "flash.toml").write_text(FLASH_AT_085)
    return d
