"""Dry-run keeps a shadow ledger: it decides once and says what would have followed."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from types import MappingProxyType

import pytest

from riskd.clock import ManualClock
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import AssetRow, SymbolInfo, TierInfo
from riskd.daemon.journal import DRY_RUN, SUCCEEDED, Journal
from riskd.daemon.plans import ActionPlan
from riskd.daemon.reload import apply_settings
from riskd.daemon.shadow import CoinDelta, ShadowEntry, ShadowLedger, effects_of
from riskd.daemon.shadow_book import ShadowBook
from riskd.daemon.shadow_exchange import shadow_of
from riskd.daemon.snapshots import Reference
from riskd.daemon.status import status_rows
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.rules.state import Status
from riskd.sizing import ActionKind

from .harness import World, make_settings, make_world

ISO = "isolated:BTCUSDT"
RULE = "de-leverage-isolated"


async def _over_the_line(tmp_path: Path, *, seconds: int = 30) -> World:
    """A dry-run world whose isolated BTCUSDT jumps over the de-leverage line (0.76) and
    stays there for ``seconds`` one-second cycles."""
    world = await make_world(tmp_path, live=False)
    world.sim.control.set_price("BTCUSDT", D(22000))
    for _ in range(seconds):
        world.clock.advance(1)
        await world.daemon.run_cycle()
    return world


def _real(world: World) -> dict[str, tuple[D, D, D]]:
    scope = world.sim.control.state("alice").scope(ISO)
    return {c: (b.available, b.frozen, b.borrow) for c, b in scope.balances.items()}


def _rule_status(world: World) -> Status:
    return world.daemon.accounts["alice"].state.get("alice", ISO, RULE).status


@pytest.mark.slow
async def test_over_the_line_for_30s_decides_the_repay_once(tmp_path: Path) -> None:
    """30 s of cycles over the line: one repay decided and described, its outcome names the
    shadow's rate before → after, the shadow rate falls below the line and the rule resolves
    in it; the real account is untouched and no mutating call reaches the simulator."""
    world = await make_world(tmp_path, live=False)
    try:
        before = _real(world)
        world.sim.control.set_price("BTCUSDT", D(22000))
        for _ in range(30):
            world.clock.advance(1)
            await world.daemon.run_cycle()
        journal = world.daemon.journal
        intents = await journal.intents()
        assert [(r.intent.kind, r.status) for r in intents] == [("repay", DRY_RUN)]
        decisions = await journal.events(kinds=[EventKind.DECISION])
        assert len(decisions) == 1, [e.summary for e in decisions]
        (outcome,) = await journal.events(kinds=[EventKind.OUTCOME])
        assert outcome.summary.startswith("DRY-RUN: would repay")
        assert "would have followed: riskRate 0.7583" in outcome.summary
        assert "in the shadow ledger" in outcome.summary
        shadow = world.daemon.accounts["alice"].poller.snapshots[ISO].risk_rate
        assert shadow < D("0.7")
        assert world.sim.control.state("alice").risk_rate(ISO) > D("0.75")
        assert _rule_status(world) is not Status.FIRING
        (action_alert,) = [a for a in world.sink.alerts if a.title.startswith("DRY-RUN: would")]
        assert action_alert.outcome and "would have followed" in action_alert.outcome
        assert world.mutating_calls() == {}
        after = _real(world)
        assert {c: v[:2] for c, v in after.items()} == {c: v[:2] for c, v in before.items()}
        assert all(after[c][2] == before[c][2] for c in before)
        assert len(await journal.events()) < 15  # was 240 lines in 30 s before the shadow
    finally:
        await world.close()


@pytest.mark.slow
async def test_a_real_change_shows_through_and_status_shows_both(tmp_path: Path) -> None:
    """The owner repays 100 USDT by hand: the shadow stays a delta on the fresh reading;
    `riskd status` rows carry the real rate and the shadow's beside it."""
    world = await _over_the_line(tmp_path, seconds=3)
    try:
        acc = world.daemon.accounts["alice"]
        seen = acc.poller.snapshots[ISO].balance("USDT")
        real = world.sim.control.state("alice").scope(ISO).balance("USDT")
        cut = real.borrow - seen.borrow
        assert cut > 0
        await world.built.clients["alice"].isolated_repay(
            symbol="BTCUSDT", coin="USDT", repay_amount=D(100)
        )
        world.clock.advance(1)
        await world.daemon.run_cycle(force_poll=True)
        real = world.sim.control.state("alice").scope(ISO).balance("USDT")
        seen = acc.poller.snapshots[ISO].balance("USDT")
        assert seen.borrow == real.borrow - cut
        assert seen.available == real.available - cut - D("0.018375")  # its interest too
        rows = {s: r for _, s, r in await status_rows(world.daemon, acc, world.clock.now())}
        row = rows[ISO]
        assert D(str(row["shadow_risk_rate"])) < D("0.7") < D(str(row["risk_rate"]))
        assert len(await world.daemon.journal.intents()) == 1
    finally:
        await world.close()


@pytest.mark.slow
async def test_restart_keeps_the_shadow_and_live_clears_it(tmp_path: Path) -> None:
    """After a restart the shadow is read back (nothing decided again); a reload to LIVE
    clears it, journaled, and the live daemon then acts on the real balances."""
    world = await _over_the_line(tmp_path, seconds=3)
    try:
        await world.restart()
        for _ in range(5):
            world.clock.advance(1)
            await world.daemon.run_cycle()
        acc = world.daemon.accounts["alice"]
        assert acc.poller.snapshots[ISO].risk_rate < D("0.7")
        assert len(await world.daemon.journal.intents()) == 1
        apply_settings(world.daemon, make_settings(tmp_path, world.sim, live=True))
        for _ in range(3):
            world.clock.advance(1)
            await world.daemon.run_cycle()
        cleared = [
            e
            for e in await world.daemon.journal.events(kinds=[EventKind.SHADOW])
            if e.data.get("what") == "cleared"
        ]
        assert len(cleared) == 1 and "LIVE" in cleared[0].summary
        assert await world.daemon.journal.get_meta("shadow:alice") == {"entries": []}
        assert world.mutating_calls(), "the live daemon repays for real"
        done = [r for r in await world.daemon.journal.intents() if r.status == SUCCEEDED]
        assert done and not any(r.intent.dry_run for r in done)
    finally:
        await world.close()


@pytest.mark.slow
async def test_a_reload_to_dry_run_keeps_a_shadow(tmp_path: Path) -> None:
    """An account started LIVE and turned to dry-run by a reload gets a shadow ledger at once:
    over the line for 20 s it decides one would-be repay, not one per cycle."""
    world = await make_world(tmp_path, live=True)
    try:
        apply_settings(world.daemon, make_settings(tmp_path, world.sim, live=False))
        world.sim.control.set_price("BTCUSDT", D(22000))
        for _ in range(20):
            world.clock.advance(1)
            await world.daemon.run_cycle()
        intents = await world.daemon.journal.intents()
        assert [(r.intent.kind, r.status) for r in intents] == [("repay", DRY_RUN)]
        assert world.daemon.accounts["alice"].poller.snapshots[ISO].risk_rate < D("0.7")
        assert world.mutating_calls() == {}
    finally:
        await world.close()


@pytest.mark.slow
async def test_resume_clears_the_shadow(tmp_path: Path) -> None:
    """`riskd resume` (journaled) clears the shadow: dry-run decides again on the real data."""
    world = await _over_the_line(tmp_path, seconds=3)
    try:
        journal = world.daemon.journal
        await journal.set_paused("alice", True, at=world.clock.now(), reason="look")
        world.clock.advance(1)
        await journal.set_paused("alice", False, at=world.clock.now())
        world.clock.advance(1)
        await world.daemon.run_cycle(force_poll=True)
        book = shadow_of(world.daemon.accounts["alice"])
        assert book is not None
        events = await journal.events(kinds=[EventKind.SHADOW])
        assert [e.data["what"] for e in events] == ["applied", "cleared", "applied"]
        assert "resumed" in events[1].summary
        assert len(await journal.intents()) == 2
        assert world.mutating_calls() == {}
    finally:
        await world.close()


# --- the ledger (pure) ------------------------------------------------------------------------
def _snap(**balances: tuple[str, str, str, str]) -> ScopeSnapshot:
    return ScopeSnapshot(
        account="a",
        scope=ISO,
        risk_rate=D("0.75"),
        balances=MappingProxyType(
            {c: CoinBalance(c, *(D(x) for x in v)) for c, v in balances.items()}
        ),
        observed_at=0.0,
        prices_usdt=MappingProxyType({"BTC": D(20000), "USDT": D(1)}),
        base_coin="BTC",
        quote_coin="USDT",
    )


SNAP = _snap(USDT=("1000", "50", "9000", "10"), BTC=("0.5", "0", "0.1", "0"))


def _plan(kind: ActionKind, **kw: object) -> ActionPlan:
    return ActionPlan("i1", kind, "a", ISO, symbol="BTCUSDT", **kw)  # type: ignore[arg-type]


def test_repay_and_reduce_effects() -> None:
    """A repay takes interest first then borrow, from available; a sale's proceeds repay the
    quote debt; a buy-back's coins repay the base debt, the rest stays available."""
    repay = effects_of(_plan(ActionKind.REPAY, coin="USDT", amount=D(100)), SNAP, {}, at=1.0)
    assert isinstance(repay, ShadowEntry)
    assert repay.deltas["USDT"] == CoinDelta(available=D(-100), borrow=D(-90), interest=D(-10))
    sell = effects_of(
        _plan(ActionKind.REDUCE, coin="BTC", amount=D("0.1"), side="sell"), SNAP, {}, at=1.0
    )
    assert isinstance(sell, ShadowEntry)
    assert sell.deltas["BTC"] == CoinDelta(available=D("-0.1"))
    assert sell.deltas["USDT"] == CoinDelta(borrow=D(-1990), interest=D(-10))
    buy = effects_of(
        _plan(ActionKind.REDUCE, coin="USDT", amount=D(3000), side="buy"), SNAP, {}, at=1.0
    )
    assert isinstance(buy, ShadowEntry)
    assert buy.deltas["BTC"] == CoinDelta(available=D("0.05"), borrow=D("-0.1"))
    assert buy.deltas["USDT"] == CoinDelta(available=D(-3000))


def test_flash_repay_and_cancel_effects() -> None:
    """A flash repay clears every debt from the coin itself then other assets at index
    prices; a cancel frees the frozen balance and takes the orders away."""
    flash = effects_of(_plan(ActionKind.FLASH_REPAY), SNAP, {}, at=1.0)
    assert isinstance(flash, ShadowEntry)
    # USDT: 1000 own, 8010 from BTC (0.4005 BTC); BTC debt 0.1 from its own 0.5 first.
    assert flash.deltas["USDT"] == CoinDelta(available=D(-1000), borrow=D(-9000), interest=D(-10))
    assert flash.deltas["BTC"] == CoinDelta(available=D("-0.5"), borrow=D("-0.1"))
    cancel = effects_of(_plan(ActionKind.CANCEL_ORDERS), SNAP, {}, at=1.0, cancelled=["o1"])
    assert isinstance(cancel, ShadowEntry)
    assert cancel.deltas == {"USDT": CoinDelta(available=D(50), frozen=D(-50))}
    ledger = ShadowLedger([cancel])
    assert ledger.cancelled(ISO) == {"o1"}


def test_no_price_no_shadow() -> None:
    """Without a price the shadow says why it cannot follow a trade (no guess)."""
    snap = _snap(USDT=("1000", "0", "9000", "0"), BTC=("0.5", "0", "0", "0"))
    bare = ScopeSnapshot(**{**{f: getattr(snap, f) for f in snap.__slots__}, "prices_usdt": {}})
    found = effects_of(
        _plan(ActionKind.REDUCE, coin="BTC", amount=D("0.1"), side="sell"), bare, {}, at=1.0
    )
    assert isinstance(found, str) and "price" in found


def test_clipped_at_zero_and_expired_when_the_debt_is_gone() -> None:
    """A delta below zero is clipped and named; when the real debt falls below what the shadow
    repaid, the entries cutting it expire; old entries expire after a day."""
    entry = ShadowEntry(
        "i1",
        0.0,
        ISO,
        "repay",
        "repay 100 USDT",
        MappingProxyType({"USDT": CoinDelta(available=D(-100), borrow=D(-100))}),
    )
    ledger = ShadowLedger([entry])
    real = {"USDT": CoinBalance("USDT", D(40), D(0), D(500), D(0))}
    applied = ledger.apply(ISO, real)
    assert applied.balances["USDT"].available == 0 and applied.balances["USDT"].borrow == 400
    assert applied.clipped == ("USDT available",)
    assert ledger.expire(ISO, real, 10.0) == []
    paid = {"USDT": CoinBalance("USDT", D(40), D(0), D(60), D(0))}
    assert ledger.expire(ISO, paid, 10.0) == [entry] and not ledger
    old = ShadowLedger([entry])
    assert old.expire(ISO, real, 86_401.0) == [entry]


def test_ledger_round_trips_through_json() -> None:
    """The ledger written to the journal reads back equal, amounts as decimal strings."""
    entry = ShadowEntry(
        "i1",
        5.0,
        ISO,
        "repay",
        "repay 1.5 USDT",
        MappingProxyType({"USDT": CoinDelta(available=D("-1.5"), interest=D("-0.00000001"))}),
        ("o1",),
    )
    raw = ShadowLedger([entry]).to_json()
    assert raw["entries"][0]["deltas"] == {"USDT": {"available": "-1.5", "interest": "-1E-8"}}  # type: ignore[index]
    assert ShadowLedger.from_json(raw).entries == [entry]
    with pytest.raises(ValueError, match="not a decimal"):
        ShadowLedger.from_json(
            {"entries": [{**entry.to_json(), "deltas": {"USDT": {"borrow": 1.5}}}]}
        )


class _Poller:
    def __init__(self, ref: Reference) -> None:
        self.snapshots: dict[str, ScopeSnapshot] = {}
        self.last_prices = {"BTC": D(20000)}
        self.ref = ref

    async def repoll(self, scope: str) -> ScopeSnapshot | None:
        return None


async def test_contested_inverse_figure_comes_back_inverse(tmp_path: Path) -> None:
    """Where the exchange's v2 figure reads as assets/liabilities, the shadowed figure is
    sent back in that form, scaled by riskd's own rate under the shadow."""
    journal = await Journal.open(tmp_path / "j.sqlite3")
    try:
        ref = Reference(
            {"BTCUSDT": SymbolInfo("BTCUSDT", "BTC", "USDT", D("0.8"), D("1"))},
            {},
            {"BTCUSDT": TierInfo(D("0.1"), D(5), {})},
        )
        clock = ManualClock()
        book = ShadowBook("a", journal, clock, dry_run=lambda: True, contested=lambda: True)
        book.attach(_Poller(ref))
        book.ledger.add(
            ShadowEntry(
                "i1",
                clock.now(),
                ISO,
                "repay",
                "repay",
                MappingProxyType({"USDT": CoinDelta(available=D(-500), borrow=D(-500))}),
            )
        )
        rows = [
            AssetRow("USDT", D(1000), D(0), D(9000), D(0), "BTCUSDT"),
            AssetRow("BTC", D("0.5"), D(0), D(0), D(0), "BTCUSDT"),
        ]
        shadowed = await book.shadow_rows("isolated", rows)
        assert shadowed[0].borrow == 8500 and shadowed[0].available == 500
        # riskd's own figures: 9000 × 0.1 / (1000 + 10000 − 9000) and 8500 × 0.1 / 2000
        own_real, own_shadow = D("0.45"), D("0.425")
        figure = book.shadow_rate(ISO, (1 / own_real).quantize(D("1e-8")))
        assert abs(1 / figure - own_shadow) < D("1e-6")
        assert book.readings[ISO].real_rate is not None
        assert abs(book.readings[ISO].real_rate - own_real) < D("1e-6")
        assert book.shadow_rate(ISO, own_real.quantize(D("1e-8"))) < own_real
    finally:
        await journal.close()


def test_notice_kinds_are_event_kinds() -> None:
    """The poller's notice kinds and the shadow's are EventKind members (riskd journal --kind)."""
    values = {k.value for k in EventKind}
    assert {"risk_reading", "bad_answer", "account_mode", "shadow", "telegram"} <= values


async def test_a_liquidation_clears_its_scope_and_later_entries_stay(tmp_path: Path) -> None:
    """A liquidation journaled for a scope drops that scope's older entries (journaled and
    saved); an entry made after the event, and other scopes' entries, stay."""
    journal = await Journal.open(tmp_path / "j.sqlite3")
    try:
        clock = ManualClock()
        book = ShadowBook("a", journal, clock, dry_run=lambda: True)

        def entry(n: str, scope: str) -> ShadowEntry:
            delta = MappingProxyType({"USDT": CoinDelta(available=D(-1), borrow=D(-1))})
            return ShadowEntry(n, clock.now(), scope, "repay", f"repay {n}", delta)

        book.ledger.add(entry("old", ISO))
        book.ledger.add(entry("cross", "cross"))
        clock.advance(1)
        await journal.record(
            EventKind.LIQUIDATED, "liquidated", at=clock.now(), account="a", scope=ISO
        )
        await journal.record(
            EventKind.LIQUIDATED, "other", at=clock.now(), account="b", scope="cross"
        )
        book.ledger.add(entry("new", ISO))
        await book.refresh()
        assert [e.intent_id for e in book.ledger.entries] == ["cross", "new"]
        (cleared,) = await journal.events(kinds=[EventKind.SHADOW])
        assert cleared.data["what"] == "cleared" and "liquidated" in cleared.summary
        saved = await journal.get_meta("shadow:a")
        assert [e["intent_id"] for e in saved["entries"]] == ["cross", "new"]
    finally:
        await journal.close()


def test_status_row_keeps_and_shows_the_shadow_rate() -> None:
    """The status row stores the shadow rate beside the real one, reads it back (rows
    without it too), shows it in --json and in the text."""
    from riskd.daemon.status_model import ScopeRow
    from riskd.daemon.status_render import _scope_lines

    row = ScopeRow("a", ISO, risk_rate=D("0.758"), shadow_risk_rate=D("0.6"))
    back = ScopeRow.from_record("a", ISO, row.to_record())
    assert back.shadow_risk_rate == D("0.6") and back.risk_rate == D("0.758")
    assert ScopeRow.from_record("a", ISO, {"risk_rate": "0.5"}).shadow_risk_rate is None
    assert back.to_json(0.0)["shadow_risk_rate"] == "0.6"
    text = "\n".join(line for line, _ in _scope_lines(back, 0.0))
    assert "riskRate 0.758" in text and "dry-run shadow riskRate 0.6" in text


@pytest.mark.slow
async def test_a_live_start_drops_the_saved_shadow(tmp_path: Path) -> None:
    """Restarted LIVE, the account's saved shadow is dropped (journaled), so a later dry-run
    start never puts it on balances live actions changed."""
    world = await _over_the_line(tmp_path, seconds=3)
    try:
        journal = world.daemon.journal
        assert (await journal.get_meta("shadow:alice"))["entries"]
        world.settings = make_settings(tmp_path, world.sim, live=True)
        await world.restart()
        journal = world.daemon.journal
        assert await journal.get_meta("shadow:alice") == {"entries": []}
        (cleared,) = [
            e for e in await journal.events(kinds=[EventKind.SHADOW]) if e.data["what"] == "cleared"
        ]
        assert "started LIVE" in cleared.summary
    finally:
        await world.close()


async def test_not_applied_when_the_scope_cannot_be_read_again(tmp_path: Path) -> None:
    """A would-be action whose scope cannot be re-read through the shadow is not applied
    (said, journaled): a shadowed debt never first shows up at a later poll unexplained."""
    from riskd.daemon.exchange import CallUncertain

    class Failing(_Poller):
        async def repoll(self, scope: str) -> ScopeSnapshot | None:
            raise CallUncertain("timeout")

    journal = await Journal.open(tmp_path / "j.sqlite3")
    try:
        book = ShadowBook("a", journal, ManualClock(), dry_run=lambda: True)
        poller = Failing(Reference())
        poller.snapshots[ISO] = SNAP
        book.attach(poller)
        text = await book.record(_plan(ActionKind.REPAY, coin="USDT", amount=D(100)))
        assert "cannot follow" in text and not book.ledger
        (event,) = await journal.events(kinds=[EventKind.SHADOW])
        assert event.data["what"] == "not_applied"
        assert await journal.get_meta("shadow:a") is None
    finally:
        await journal.close()
