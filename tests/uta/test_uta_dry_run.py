"""A Unified Trading Account in dry-run reads through its shadow ledger, like a classic one:
an action is decided once and described with what would have followed, not every cycle."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from riskd.bitget.models_uta import UtaAssets
from riskd.clock import ManualClock
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import TierInfo
from riskd.daemon.journal import DRY_RUN, Journal
from riskd.daemon.shadow import CoinDelta, ShadowEntry
from riskd.daemon.shadow_book import ShadowBook
from riskd.daemon.shadow_exchange import ShadowUtaExchange, shadow_of
from riskd.daemon.snapshots import Reference
from riskd.daemon.status import status_rows
from riskd.daemon.wiring import Built
from riskd.risk.snapshot import UTA, ScopeSnapshot
from tests.uta.test_push_uta_daemon import World


async def test_a_dry_run_uta_account_decides_once_and_shows_the_shadow(tmp_path: Path) -> None:
    """BTC 30000 → 21000 held for 30 one-second cycles: the ladder's repay and sale are each
    decided once (before the shadow: 42 repays in 30 s), their outcomes name the shadow's rate
    before → after; the rules see the shadow while the real account is untouched, and status
    shows both rates."""
    world = World(tmp_path, "uta")
    world.settings = world.settings.model_copy(update={"live": False})
    built, _ = await world.build()
    try:
        daemon = built.daemon
        acc = daemon.accounts["uta"]
        assert isinstance(acc.exchange, ShadowUtaExchange) and shadow_of(acc) is not None
        await daemon.run_cycle()
        world.sim.control.set_price("BTCUSDT", D(21000))
        for _ in range(30):
            world.clock.advance(1)
            await daemon.run_cycle()
        intents = await daemon.journal.intents()
        assert [(r.intent.kind, r.status) for r in intents] == [
            ("repay", DRY_RUN),
            ("reduce", DRY_RUN),
        ]
        outcomes = [e.summary for e in await daemon.journal.events(kinds=[EventKind.OUTCOME])]
        assert len(outcomes) == 2
        assert all("would have followed: riskRate" in o and "shadow ledger" in o for o in outcomes)
        assert world.repays() == 0  # nothing mutating reached the exchange
        real = world.mgn_ratio("uta")
        shadow = acc.poller.snapshots[UTA].risk_rate
        assert shadow < D("0.1") < D("0.5") < real
        rows = {s: r for _, s, r in await status_rows(daemon, acc, world.clock.now())}
        assert abs(D(str(rows[UTA]["risk_rate"])) - real) < D("1e-6")
        assert D(str(rows[UTA]["shadow_risk_rate"])) == shadow
    finally:
        await world.close(built)


class _Poller:
    """What the shadow reads of a poller: BTC at 20000, ETH at 2000, USDT's tier 0.1."""

    def __init__(self) -> None:
        self.snapshots: dict[str, ScopeSnapshot] = {}
        self.last_prices = {"BTC": D(20000), "ETH": D(2000)}
        self.ref = Reference(cross_tiers={"USDT": TierInfo(D("0.1"), D(3), {})})

    async def repoll(self, scope: str) -> ScopeSnapshot | None:
        return None


async def test_shadow_uta_moves_coins_and_scales_the_margin_ratio(tmp_path: Path) -> None:
    """A would-be repay of 500 of a 1000 USDT debt: USDT's balance, debt and equity move, BTC
    is untouched, a coin only the shadow holds appears, and mgnRatio and mmr fall by riskd's
    own figure's ratio (at level 0.5: on the mgnRatio scale, not the ladder's)."""
    journal = await Journal.open(tmp_path / "j.sqlite3")
    try:
        book = ShadowBook("uta", journal, ManualClock(1000.0), dry_run=lambda: True)
        got = UtaAssets.model_validate(
            {
                "accountEquity": "1500", "effEquity": "1500", "mmr": "100", "imr": "300",
                "mgnRatio": "0.06666666",
                "assets": [
                    {"coin": "USDT", "equity": "-500", "balance": "500", "available": "500",
                     "debt": "1000", "usdValue": "-500"},
                    {"coin": "BTC", "equity": "0.1", "balance": "0.1", "available": "0.1",
                     "debt": "0", "usdValue": "2000"},
                ],
            }
        )  # fmt: skip
        assert await book.shadow_uta(got, D("0.5")) == got  # no entry: as read
        deltas = {
            "USDT": CoinDelta(available=D(-500), borrow=D(-500)),
            "ETH": CoinDelta(available=D("0.01")),
        }
        book.ledger.add(ShadowEntry("i1", 1000.0, UTA, "repay", "repay 500 USDT", deltas))
        shadowed = await book.shadow_uta(got, D("0.5"))
        usdt, btc = shadowed.coin("USDT"), shadowed.coin("BTC")
        eth = shadowed.coin("ETH")
        assert usdt is not None and btc is not None and eth is not None
        assert (usdt.balance, usdt.available, usdt.debt, usdt.equity) == (0, 0, 500, -500)
        assert btc == got.coin("BTC")
        assert (eth.balance, eth.debt) == (D("0.01"), 0)
        # No poller attached: riskd's own figure is unknown, so the figure is passed through.
        assert shadowed.mgn_ratio == got.mgn_ratio and shadowed.mmr == got.mmr
        book.attach(_Poller())
        scaled = await book.shadow_uta(got, D("0.5"))
        # own rate: 1000 × 0.1 / 1500 real, 500 × 0.1 / (2000 + 20 − 500) in the shadow
        ratio = (D(50) / D(1520)) / (D(100) / D(1500))
        assert abs(scaled.mgn_ratio - got.mgn_ratio * ratio) < D("1e-7")
        assert abs(scaled.mmr - got.mmr * ratio) < D("1e-5")
        assert scaled.account_equity == got.account_equity
    finally:
        await journal.close()


async def _fall(built: Built, world: World, to: D) -> None:
    price = world.sim.index_price("BTCUSDT")
    while price > to:
        price = max(price - D(200), to)
        world.sim.control.set_price("BTCUSDT", price)
        world.clock.advance(1)
        await built.daemon.run_cycle()


async def test_a_dry_run_uta_crash_is_followed_in_the_shadow_and_kept_over_a_restart(
    tmp_path: Path,
) -> None:
    """BTC falls 30000 → 20400 over 48 s: a handful of would-be steps (not one per cycle),
    the shadow below the line while the real account is over it, the same shadow read back
    by a restarted daemon (which goes on with the run's next step); then a fall to 18000
    liquidates the real account (dry-run sends nothing): its debt falls below what the
    shadow repaid, the entries expire (journaled) and what the shadow holds after that was
    decided on the real account as it is."""
    world = World(tmp_path, "uta")
    world.settings = world.settings.model_copy(update={"live": False})
    built, _ = await world.build()
    try:
        await _fall(built, world, D(20400))
        intents = await built.daemon.journal.intents()
        assert 1 <= len(intents) <= 4 and {r.status for r in intents} == {DRY_RUN}
        shadow = built.daemon.accounts["uta"].poller.snapshots[UTA].risk_rate
        assert shadow < D("0.4") < D("0.5") < world.mgn_ratio("uta")
    finally:
        await built.aclose()
    again, _ = await world.build()
    try:
        world.clock.advance(1)
        await again.daemon.run_cycle()
        snaps = again.daemon.accounts["uta"].poller.snapshots
        # The shadow is read back (the real account is at 0.56); the run goes on with its
        # next step, the sale, instead of deciding the repay again.
        assert snaps[UTA].risk_rate <= shadow < D("0.4") < world.mgn_ratio("uta")
        kinds = [r.intent.kind for r in await again.daemon.journal.intents()]
        assert kinds[: len(intents)] == [r.intent.kind for r in intents]
        assert kinds.count("repay") == 1
        await _fall(again, world, D(18000))
        assert world.sim.stats.liquidations == 1
        for _ in range(40):  # the shadow looks calm: the next poll comes at the slow interval
            world.clock.advance(1)
            await again.daemon.run_cycle()
        events = await again.daemon.journal.events(kinds=[EventKind.SHADOW])
        assert any(e.summary.startswith("shadow entry expired") for e in events)
        book = shadow_of(again.daemon.accounts["uta"])
        assert book is not None  # what is in it now was decided on the liquidated account
        (liq,) = world.sim.control.state("uta").liquidations
        assert all(e.at * 1000 > liq.time_ms for e in book.ledger.entries)
    finally:
        await world.close(again)
