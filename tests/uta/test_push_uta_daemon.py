"""Push first on a Unified Trading Account, over the simulator (ASGI, ManualClock): the local
mgnRatio estimate matches the simulator's, a crossing index push or a crossing pushed mgnRatio
polls the ``uta`` scope at once and the cycle acts on the fresh answer, and with the sockets
down the polls alone still protect."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx

from riskd.bitget.gate import Priority
from riskd.clock import ManualClock
from riskd.daemon.account_push import AccountPushClient
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.push import PushReactor
from riskd.daemon.push_uta import UtaAccountPushClient, estimate_uta_risk_rate
from riskd.daemon.wiring import Built, build_daemon
from riskd.risk.snapshot import UTA
from riskd.settings import Settings
from riskd.sim import Simulator
from riskd.sim.scenario import parse_scenario
from riskd.sim.uta import uta_book, uta_figures
from riskd.sim.ws_v3 import account_item
from tests.uta.conftest import SCENARIO as ALL_ACCOUNTS

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
#: A rule that never acts here: the accounts keep the balances their snapshot was taken of.
WATCH_ONLY = """
[[rule]]
name = "watch"
scope = "uta"
when = "riskRate >= 5"
severity = "warning"
then = ["notify"]
"""


LEVELS = {"uta": D(1), "uta_low": D("0.5")}


def _only(accounts: tuple[str, ...]) -> str:
    """The conftest scenario with only ``accounts`` (an unwatched one would be liquidated)."""
    head, *blocks = ALL_ACCOUNTS.split("[[accounts]]")
    kept = [b for b in blocks if b.split('"')[1] in accounts]
    return head + "".join("[[accounts]]" + b for b in kept)


def _close(got: D, want: D) -> bool:
    """Equal but for the 8 decimals the exchange's figures are served with."""
    return abs(got / want - 1) < D("1e-9")


class World:
    """The conftest scenario's accounts (``uta``, ``uta_low`` at level 0.5, ``classic``) and
    a daemon over them, prices from the simulator (the push path is fed by hand)."""

    def __init__(
        self, tmp_path: Path, *accounts: str, rules: Path = REPO_RULES, **top: object
    ) -> None:
        self.clock = ManualClock()
        self.sim = Simulator(
            clock=self.clock,
            scenario=parse_scenario(_only(accounts)),
            protocol_clock=self.clock,
            monotonic=self.clock.now,
        )
        keys = self.sim.add_scenario_accounts()
        levels = {"uta": "1", "uta_low": "0.5"}
        table = {
            name: {
                "api_key": keys[name].api_key,
                "api_secret": keys[name].secret,
                "api_passphrase": keys[name].passphrase,
                "mode": "uta" if name in levels else "classic",
                **({"uta_liquidation_level": levels[name]} if name in levels else {}),
            }
            for name in accounts
        }
        self.settings = Settings(
            live=True,
            base_url="http://sim",
            journal_path=str(tmp_path / "journal.sqlite3"),
            journal_reserve="64KiB",  # type: ignore[arg-type]
            rules_dir=str(rules),  # type: ignore[arg-type]
            metrics={"enabled": False},  # type: ignore[arg-type]
            poll={"price_move": "0"},  # type: ignore[arg-type]
            accounts=table,  # type: ignore[arg-type]
            **top,  # type: ignore[arg-type]
        )
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.sim.app), base_url="http://sim"
        )

    async def build(self) -> tuple[Built, PushReactor]:
        prices = SimPriceSource(self.sim.index_price, lambda: self.sim.scenario.markets, self.clock)
        built = await build_daemon(
            self.settings, clock=self.clock, http=self.http, prices=prices, sink=LoggingSink()
        )
        assert built.push is not None
        await built.daemon.start()
        return built, built.push

    def mgn_ratio(self, account: str) -> D:
        ex = self.sim.exchange
        return uta_figures(ex.ledger, uta_book(ex.account(account)), ex.now()).mgn_ratio

    def pushed(self, account: str) -> D:
        """The mgnRatio the v3 topic would push for ``account`` now."""
        return D(str(account_item(self.sim, self.sim.exchange.account(account))["mgnRatio"]))

    def repays(self) -> int:
        reqs = self.sim.stats.requests
        return reqs.get("uta_repay", 0) + reqs.get("uta_place_order", 0)

    async def close(self, built: Built) -> None:
        await built.aclose()
        await self.http.aclose()


async def test_the_estimate_is_the_simulators_mgn_ratio_at_the_pushed_prices(
    tmp_path: Path,
) -> None:
    """For a USDT debt (levels 1 and 0.5) and then a BTC debt beside it, the estimate from the
    last poll and a new BTC price equals the simulator's mgnRatio there ÷ the level (to the
    8 decimals the figures are served with)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watch.toml").write_text(WATCH_ONLY)
    world = World(tmp_path, "uta", "uta_low", rules=rules)
    built, _ = await world.build()
    try:
        ex = world.sim.exchange
        for step in ("usdt debt", "btc debt too"):
            if step == "btc debt too":
                account = ex.account("uta")
                with world.sim.lock:  # repay some USDT, then owe BTC beside it (a loan
                    # the scenario's tiers would not grant: set on the book directly)
                    book = account.cross()
                    ex.ledger.repay(account, book, "USDT", D(500), ex.now())
                    btc = book.balance("BTC", int(ex.now() * 1000))
                    btc.borrow += D("0.02")
                    btc.available += D("0.02")
            world.sim.control.set_price("BTCUSDT", D(30000))
            for name in LEVELS:
                built.daemon.accounts[name].poller.request_poll([UTA])
            await built.daemon.run_cycle()
            snaps = {n: built.daemon.accounts[n].poller.snapshots[UTA] for n in LEVELS}
            for price in (D(31000), D(27000), D(24000)):  # uta_low liquidates near 21000
                world.sim.control.set_price("BTCUSDT", price)
                for name, level in LEVELS.items():
                    snap = snaps[name]
                    got = estimate_uta_risk_rate(snap, {"BTC": price})
                    assert got is not None
                    assert _close(got, world.mgn_ratio(name) / level), (step, name, price)
    finally:
        await world.close(built)


async def test_a_crossing_index_push_polls_at_once_and_acts(tmp_path: Path) -> None:
    """BTC 30000 → 20000 with nothing due: the index push's estimate crosses the ladder's
    lines, the scope is asked for at PROTECTIVE priority, and the next cycle repays."""
    world = World(tmp_path, "uta")
    built, push = await world.build()
    try:
        await built.daemon.run_cycle()
        poller = built.daemon.accounts["uta"].poller
        world.clock.advance(0.3)
        world.sim.control.set_price("BTCUSDT", D(20000))
        assert UTA not in (await built.daemon.run_cycle()).polled["uta"]
        push.on_prices({"BTC": D(20000)})
        (trig,) = push.triggers
        assert trig.scope == UTA and trig.priority is Priority.PROTECTIVE
        assert trig.reason.startswith("estimated riskRate") and push.wake.is_set()
        assert trig.estimate is not None and _close(trig.estimate, world.mgn_ratio("uta"))
        assert poller.wanted == {UTA: Priority.PROTECTIVE}
        report = await built.daemon.run_cycle()
        assert UTA in report.polled["uta"] and world.repays() >= 1
    finally:
        await world.close(built)


async def test_a_crossing_pushed_mgn_ratio_polls_at_once_and_acts(tmp_path: Path) -> None:
    """The price fell with no index push seen; an account event's pushed mgnRatio crosses the
    lines: polled at once (even within account_min_gap of the last poll) and acted on. A
    pushed figure below every line is an ordinary account push (at most once per gap)."""
    world = World(tmp_path, "uta", push={"account_min_gap": "2s"})
    built, push = await world.build()
    try:
        await built.daemon.run_cycle()
        world.clock.advance(0.5)
        push.on_uta_push("uta", world.pushed("uta"))  # unchanged, just polled: nothing
        assert not push.triggers and not push.wake.is_set()
        world.sim.control.set_price("BTCUSDT", D(20000))
        push.on_uta_push("uta", world.pushed("uta"))
        (trig,) = push.triggers
        assert trig.reason.startswith("pushed mgnRatio") and trig.priority is Priority.PROTECTIVE
        report = await built.daemon.run_cycle()
        assert UTA in report.polled["uta"] and world.repays() >= 1
        world.clock.advance(2.5)
        push.on_uta_push("uta", None)  # an account event without a figure
        assert push.triggers[-1].priority is Priority.URGENT and push.triggers[-1].estimate is None
        sources = push.sources("uta")
        assert sources.account_push_at == world.clock.now() and sources.price_push_at is None
    finally:
        await world.close(built)


async def test_with_the_sockets_down_the_polls_still_protect(tmp_path: Path) -> None:
    """No index or account push at all (both sockets down): a crash to 18000, where the
    simulator liquidates, is met by the polls alone; the sources show pushes never came while
    the poll is current."""
    world = World(tmp_path, "uta")
    built, push = await world.build()
    try:
        price = D(30000)
        while price >= D(18000):
            world.sim.control.set_price("BTCUSDT", price)
            world.clock.advance(1.0)
            await built.daemon.run_cycle()
            price -= D(300)
        assert world.sim.stats.liquidations == 0 and world.repays() >= 1
        assert not push.triggers
        sources = push.sources("uta")
        assert (sources.price_push_at, sources.account_push_at) == (None, None)
        ages = sources.ages(world.clock.now())
        poll_age = ages["poll:uta"]
        assert ages["price_push"] is None and poll_age is not None
        assert poll_age < world.settings.poll.stale_after
    finally:
        await world.close(built)


async def test_the_wiring_opens_the_v3_topic_for_a_uta_account(tmp_path: Path) -> None:
    """Built with the WebSocket feed: the UTA account gets the v3 private socket beside the
    classic account's v2 one; [push] account_pushes = false: none."""
    world = World(tmp_path, "uta", "classic")
    built = await build_daemon(world.settings, clock=world.clock, http=world.http)
    try:
        by_name = {c.account: c for c in built.account_pushes}
        assert isinstance(by_name["uta"], UtaAccountPushClient)
        assert isinstance(by_name["classic"], AccountPushClient)
        assert by_name["uta"].url == "ws://sim/v3/ws/private"
        assert by_name["classic"].url == "ws://sim/v2/ws/private"
    finally:
        await built.aclose()
    off = World(tmp_path, "uta", push={"account_pushes": False})
    built = await build_daemon(off.settings, clock=off.clock, http=off.http)
    try:
        assert built.account_pushes == [] and built.push is not None
    finally:
        await built.aclose()
        await world.http.aclose()
        await off.http.aclose()
