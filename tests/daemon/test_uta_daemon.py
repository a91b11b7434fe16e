"""The daemon over a Unified Trading Account (issue 18): mode detection, the ``uta`` scope,
repay / reduce / cancel through v3, the flashRepay load error, the unconfirmed-level notice."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.clock import ManualClock
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.plans import ActionPlan
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.snapshots import Reference, uta_snapshot
from riskd.daemon.status import render_status, status_rows
from riskd.daemon.uta_exchange import UtaExchange
from riskd.daemon.wiring import Built, build_daemon
from riskd.risk.snapshot import UTA, parse_scope
from riskd.rules import loader
from riskd.rules.variables import scalar_value
from riskd.settings import Settings
from riskd.sim import Simulator
from riskd.sim.scenario import parse_scenario
from riskd.sizing import ActionKind

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"

SCENARIO = """
name = "uta_daemon"
[markets]
BTCUSDT = "30000"
[tiers.cross.USDT]
mmr = "0.15"
[[accounts]]
name = "uta"
unified = true
funding = { cross = { BTC = "0.1" } }
positions = [{ scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "3" }]
[[accounts]]
name = "alice"
funding = { cross = { BTC = "0.1" } }
positions = [{ scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "2.5" }]
"""


class World:
    def __init__(self, tmp_path: Path, accounts: dict[str, dict[str, object]]) -> None:
        self.clock = ManualClock()
        self.sim = Simulator(
            clock=self.clock,
            scenario=parse_scenario(SCENARIO),
            protocol_clock=self.clock,
            monotonic=self.clock.now,
        )
        keys = self.sim.add_scenario_accounts()
        table = {
            name: {
                "api_key": keys[name].api_key,
                "api_secret": keys[name].secret,
                "api_passphrase": keys[name].passphrase,
                **extra,
            }
            for name, extra in accounts.items()
        }
        self.settings = Settings(
            live=True,
            base_url="http://sim",
            journal_path=str(tmp_path / "journal.sqlite3"),
            journal_reserve="64KiB",  # type: ignore[arg-type]
            rules_dir=str(REPO_RULES),  # type: ignore[arg-type]
            metrics={"enabled": False},  # type: ignore[arg-type]
            accounts=table,  # type: ignore[arg-type]
        )
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.sim.app), base_url="http://sim"
        )
        self.sink = LoggingSink()
        self.keys = keys

    async def build(self) -> Built:
        prices = SimPriceSource(self.sim.index_price, lambda: self.sim.scenario.markets, self.clock)
        built = await build_daemon(
            self.settings, clock=self.clock, http=self.http, prices=prices, sink=self.sink
        )
        await built.decide_modes()
        return built

    def client(self, name: str) -> BitgetClient:
        k = self.keys[name]
        return BitgetClient(
            Credentials.hmac(k.api_key, k.secret, k.passphrase),
            http=self.http,
            base_url="http://sim",
            api="v2",
        )


async def test_auto_detects_uta_and_classic_side_by_side_and_protects_both(
    tmp_path: Path,
) -> None:
    """mode = auto: a UtaExchange for the UTA account, the classic one beside it; a −25 %
    crash liquidates neither, and the journal says which adapter each account uses."""
    world = World(tmp_path, {"uta": {}, "alice": {}})
    built = await world.build()
    try:
        daemon = built.daemon
        assert isinstance(daemon.accounts["uta"].exchange, UtaExchange)
        assert not isinstance(daemon.accounts["alice"].exchange, UtaExchange)
        await daemon.start()
        price = D(30000)
        while price >= D(22500):
            world.sim.control.set_price("BTCUSDT", price)
            world.clock.advance(1.0)
            await daemon.run_cycle()
            price -= D(60)
        assert world.sim.stats.liquidations == 0
        snap = daemon.accounts["uta"].poller.snapshots[UTA]
        assert snap.uta is not None and snap.risk_rate == snap.uta.mgn_ratio
        assert world.sim.stats.requests.get("uta_repay", 0) >= 1
        events = await daemon.journal.events(kinds=["account_mode"])
        text = " | ".join(e.summary for e in events)
        assert "account uta uses UtaExchange" in text and "account alice uses classic" in text
        rows = await status_rows(daemon, daemon.accounts["uta"], world.clock.now())
        row = dict(next(r for _, scope, r in rows if scope == UTA))
        shown = render_status([("uta", UTA, world.clock.now(), row)], None, {}, 0)
        assert "uta" in shown
    finally:
        await built.aclose()
        await world.http.aclose()


async def test_a_mode_the_exchange_contradicts_is_one_clear_alert(tmp_path: Path) -> None:
    """mode = classic on a UTA account: one critical alert naming the account and the fix;
    the account is protected as UTA (never a traceback)."""
    world = World(tmp_path, {"uta": {"mode": "classic", "uta_liquidation_level": "1"}})
    built = await world.build()
    try:
        assert isinstance(built.daemon.accounts["uta"].exchange, UtaExchange)
        said = [a for a in world.sink.alerts if a.account == "uta" and "mode" in a.title]
        assert len(said) == 1 and said[0].severity.value == "critical"
        assert 'set mode = "uta"' in (said[0].message or "") and "uta" in said[0].title
    finally:
        await built.aclose()
        await world.http.aclose()


async def test_mode_uta_on_a_classic_account_is_protected_as_classic(tmp_path: Path) -> None:
    """mode = uta on a classic account (v3 answers 40084): a ClientExchange and one alert."""
    world = World(tmp_path, {"alice": {"mode": "uta"}})
    built = await world.build()
    try:
        assert not isinstance(built.daemon.accounts["alice"].exchange, UtaExchange)
        said = [a for a in world.sink.alerts if "mode = uta" in a.title]
        assert len(said) == 1
    finally:
        await built.aclose()
        await world.http.aclose()


async def test_unconfirmed_level_is_said_once_and_not_when_set(tmp_path: Path) -> None:
    """Default level: one warning alert and journal line over several cycles; set: none."""
    world = World(tmp_path, {"uta": {"mode": "uta"}})
    built = await world.build()
    try:
        await built.daemon.start()
        for _ in range(3):
            world.clock.advance(2.0)
            await built.daemon.run_cycle()
        said = [a for a in world.sink.alerts if "unconfirmed" in a.title]
        assert len(said) == 1 and said[0].severity.value == "warning"
        events = await built.daemon.journal.events(kinds=["account_mode"])
        assert sum("has not confirmed" in e.summary for e in events) == 1
    finally:
        await built.aclose()
        await world.http.aclose()
    world = World(tmp_path / "set", {"uta": {"uta_liquidation_level": "0.9"}})
    (tmp_path / "set").mkdir()
    built = await world.build()
    try:
        assert not [a for a in world.sink.alerts if "unconfirmed" in a.title]
    finally:
        await built.aclose()
        await world.http.aclose()


async def test_reduce_and_repay_go_through_v3_with_the_intent_client_oid(tmp_path: Path) -> None:
    """reduce → a MARGIN market sell carrying the plan's clientOid, then a v3 repay of the
    USDT it bought; repay → uta_repay of the coin; the debt falls."""
    world = World(tmp_path, {"uta": {}})
    ex = UtaExchange(world.client("uta"), liquidation_level=D(1))
    before = (await ex.read()).debts()["USDT"]
    executor = LiveExecutor(ex)

    async def accepted(ref: str, summary: str) -> None:
        return None

    reduce = ActionPlan(
        "i1",
        ActionKind.REDUCE,
        "uta",
        UTA,
        symbol="BTCUSDT",
        coin="BTC",
        amount=D("0.05"),
        side="sell",
        client_oid="riskd-i1",
    )
    result = await executor.execute(reduce, accepted)
    assert result.status == "succeeded", result.detail
    order = world.sim.exchange.account("uta").order("cross", None, "riskd-i1")
    assert order is not None and order.side == "sell"
    after = (await ex.read()).debts().get("USDT", D(0))
    assert after < before
    repay = ActionPlan("i2", ActionKind.REPAY, "uta", UTA, coin="USDT", amount=D(1))
    assert (await executor.execute(repay, accepted)).status in ("succeeded", "failed")
    assert world.sim.stats.requests["uta_place_order"] == 1
    assert world.sim.stats.requests["uta_repay"] >= 2
    await world.http.aclose()


async def test_cancel_goes_through_v3(tmp_path: Path) -> None:
    """cancelOrders on a UTA account: the open MARGIN orders are read and cancelled (v3)."""
    world = World(tmp_path, {"uta": {}})
    client = world.client("uta")
    placed = await client.uta_place_margin_order(
        symbol="BTCUSDT",
        side="sell",
        order_type="limit",
        qty=D("0.01"),
        price=D(60000),
        client_oid="owner-1",  # the owner's order (riskd's own are left working)
    )
    ex = UtaExchange(client, liquidation_level=D(1))
    plan = ActionPlan("i3", ActionKind.CANCEL_ORDERS, "uta", UTA, symbols=("BTCUSDT",))

    async def accepted(ref: str, summary: str) -> None:
        return None

    result = await LiveExecutor(ex).execute(plan, accepted)
    assert result.status == "succeeded" and result.ref == placed.order_id
    assert await client.uta_open_orders(symbol="BTCUSDT") == ()
    await world.http.aclose()


def test_flash_repay_on_the_uta_scope_is_a_load_error() -> None:
    """scope = "uta" with flashRepay is refused at load naming the fix; "*" still loads."""
    rule = """
[[rule]]
name = "r"
scope = "{scope}"
when = "riskRate >= 0.9"
then = ["flashRepay"]
"""
    bad = loader.load_texts([("a.toml", rule.format(scope="uta"))])
    assert any("no flash repay" in p.message for p in bad.problems)
    good = loader.load_texts([("a.toml", rule.format(scope="*"))])
    assert not good.problems and good.ruleset is not None
    assert good.ruleset.rules[0].scope.matches(UTA)


def test_uta_scope_risk_rate_is_mgn_ratio_over_the_level() -> None:
    """riskRate = mgnRatio ÷ uta_liquidation_level; the UTA variables read the figures."""
    from riskd.bitget.models_uta import UtaAssets

    got = UtaAssets.model_validate(
        {
            "accountEquity": "1000",
            "effEquity": "900",
            "mmr": "360",
            "imr": "500",
            "mgnRatio": "0.4",
            "assets": [
                {
                    "coin": "USDT",
                    "equity": "-2000",
                    "balance": "0",
                    "available": "0",
                    "debt": "2000",
                }
            ],
        }
    )
    snap = uta_snapshot("a", got, D("0.8"), 0.0, Reference(), {})
    assert parse_scope(snap.scope) == ("uta", None)
    assert snap.risk_rate == D("0.5")
    assert scalar_value(snap, "mgnRatio", 0.0) == D("0.4")
    assert scalar_value(snap, "effEquity", 0.0) == D("900")
    assert scalar_value(snap, "utaLiquidationLevel", 0.0) == D("0.8")
    assert snap.balance("USDT").liability == D(2000)


@pytest.mark.parametrize("name", ["mgnRatio", "mmr", "imr", "effEquity", "accountEquity"])
def test_uta_variables_are_unhealthy_outside_a_uta_scope(name: str) -> None:
    """A UTA-only variable in a classic scope is an evaluation error, never a silent zero."""
    from riskd.risk.snapshot import ScopeSnapshot
    from riskd.rules.variables import EvalError

    snap = ScopeSnapshot("a", "cross", D(0), {}, 0.0)
    with pytest.raises(EvalError, match="only in a uta scope"):
        scalar_value(snap, name, 0.0)


async def test_a_crossing_price_push_polls_the_uta_scope_at_once(tmp_path: Path) -> None:
    """An index-price push whose estimate crosses a ladder line asks the uta scope's poll at
    once; the next cycle polls it and acts on the fresh answer (the v3 private topic is not
    used yet)."""
    world = World(tmp_path, {"uta": {"uta_liquidation_level": "1"}})
    world.settings = world.settings.model_copy(
        update={"poll": world.settings.poll.model_copy(update={"price_move": D(0)})}
    )
    built = await world.build()
    try:
        daemon, push = built.daemon, built.push
        assert push is not None
        await daemon.run_cycle()
        poller = daemon.accounts["uta"].poller
        calm = poller.snapshots[UTA].risk_rate
        world.clock.advance(0.5)
        world.sim.control.set_price("BTCUSDT", D(23400))
        push.on_prices({"BTC": D(23400)})
        (trig,) = [t for t in push.triggers if t.scope == UTA]
        assert trig.estimate is not None and trig.estimate > D("0.7") > calm
        assert UTA in poller.wanted and push.wake.is_set()
        report = await daemon.run_cycle()
        assert UTA in report.polled["uta"]
        assert {r.scope for r in report.reports} == {UTA}
        assert world.sim.stats.requests.get("uta_repay", 0) == 1
    finally:
        await built.aclose()
        await world.http.aclose()


async def test_building_asks_nothing_and_deciding_switches_the_account(tmp_path: Path) -> None:
    """build_daemon touches no network (an auto account is built classic); decide_modes asks
    once and rebuilds the UTA account with a UtaExchange; a second call asks nothing."""
    world = World(tmp_path, {"uta": {}})
    prices = SimPriceSource(world.sim.index_price, lambda: world.sim.scenario.markets, world.clock)
    built = await build_daemon(
        world.settings, clock=world.clock, http=world.http, prices=prices, sink=world.sink
    )
    try:
        assert not world.sim.stats.requests.get("uta_settings")
        assert not isinstance(built.daemon.accounts["uta"].exchange, UtaExchange)
        await built.decide_modes()
        await built.decide_modes()
        assert world.sim.stats.requests["uta_settings"] == 1
        assert isinstance(built.daemon.accounts["uta"].exchange, UtaExchange)
    finally:
        await built.aclose()
        await world.http.aclose()
