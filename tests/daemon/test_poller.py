"""Poller: one call for many scopes, discovery, no risk-rate call without debt, adaptive
intervals, failures that age into staleness."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.daemon.exchange import AssetRow, CallUncertain
from riskd.daemon.poll_schedule import PriceSteps
from riskd.daemon.poller import AccountPoller, interval_for
from riskd.daemon.prices import NoPrices, StaticPrices
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.settings import AccountSettings, PollSettings

POLL = PollSettings()


def _iso(symbol: str, borrow: str = "0") -> list[AssetRow]:
    return [
        AssetRow("USDT", D(100), D(0), D(borrow), D(0), symbol),
        AssetRow("BTC", D("0.01"), D(0), D(0), D(0), symbol),
    ]


def _poller(ex, clock, **acc) -> AccountPoller:
    return AccountPoller("alice", AccountSettings(**acc), POLL, ex, NoPrices(), clock)


async def test_discovers_isolated_symbols_with_one_assets_call(make_exchange, clock) -> None:
    """isolated_assets without symbol finds every held symbol; risk rate only where owed."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50") + _iso("ETHUSDT")
    ex.risk["isolated:BTCUSDT"] = D("0.4")
    p = _poller(ex, clock, cross=False)
    out = await p.poll()
    assert out.polled == {"isolated:BTCUSDT", "isolated:ETHUSDT"}
    names = [n for n, _ in ex.calls]
    assert names.count("assets") == 1
    assert [kw for n, kw in ex.calls if n == "isolated_risk_rate"] == [{"symbol": "BTCUSDT"}]
    assert p.snapshots["isolated:ETHUSDT"].risk_rate == 0
    assert p.snapshots["isolated:BTCUSDT"].risk_rate == D("0.4")
    assert p.snapshots["isolated:BTCUSDT"].observed_at == clock.now()


async def test_configured_symbols_without_discovery(make_exchange, clock) -> None:
    """With discovery off only the configured symbols are watched."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT") + _iso("ETHUSDT")
    p = _poller(ex, clock, cross=False, isolated=("ETHUSDT",), discover_isolated=False)
    await p.poll()
    assert set(p.snapshots) == {"isolated:ETHUSDT"}


async def test_cross_risk_rate_only_with_debt(make_exchange, clock) -> None:
    """No debt: the cross risk rate is 0 without asking; with debt it is asked for."""
    ex = make_exchange()
    ex.cross_rows = [AssetRow("USDT", D(100), D(0), D(0), D(0))]
    p = _poller(ex, clock, discover_isolated=False)
    await p.poll()
    assert "cross_risk_rate" not in [n for n, _ in ex.calls]
    ex.cross_rows = [AssetRow("USDT", D(100), D(0), D(10), D(0))]
    ex.risk["cross"] = D("0.3")
    await p.repoll("cross")
    assert p.snapshots["cross"].risk_rate == D("0.3")


async def test_due_scopes_follow_adaptive_intervals(make_exchange, clock) -> None:
    """A calm scope is polled at the slow interval, one near its threshold at the fast one."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50") + _iso("ETHUSDT", "50")
    ex.risk.update({"isolated:BTCUSDT": D("0.1"), "isolated:ETHUSDT": D("0.75")})
    p = _poller(ex, clock, cross=False)
    await p.poll()
    assert p.next_due["isolated:BTCUSDT"] == clock.now() + POLL.slow_interval
    assert p.next_due["isolated:ETHUSDT"] == clock.now() + POLL.fast_interval
    clock.advance(POLL.fast_interval)
    out = await p.poll()
    assert out.polled == {"isolated:ETHUSDT"}


def test_interval_for() -> None:
    """Fast near the warning ratio, slow when calm or debt-free, base in between."""

    def snap(rate: str, borrow: str = "1") -> ScopeSnapshot:
        b = CoinBalance("USDT", D(1), D(0), D(borrow), D(0))
        return ScopeSnapshot("a", "cross", D(rate), {"USDT": b}, 0.0)

    assert interval_for(snap("0.7"), POLL) == POLL.fast_interval
    assert interval_for(snap("0.5"), POLL) == POLL.interval
    assert interval_for(snap("0.1"), POLL) == POLL.slow_interval
    assert interval_for(snap("0.5", borrow="0"), POLL) == POLL.slow_interval


def test_interval_for_a_rising_scope() -> None:
    """A rising risk rate shortens the interval to half its time to the near line (>= fast)."""

    def snap(rate: str, at: float, borrow: str = "1") -> ScopeSnapshot:
        b = CoinBalance("USDT", D(1), D(0), D(borrow), D(0))
        return ScopeSnapshot("a", "cross", D(rate), {"USDT": b}, at)

    near = float(D("0.8") - POLL.near_margin)
    # +0.05 in 5 s: the near line (0.65) is (near - 0.58) / 0.01 s away; half of that
    expected = (near - 0.58) / 0.01 / 2
    assert POLL.fast_interval < expected < POLL.interval
    assert interval_for(snap("0.58", 5.0), POLL, snap("0.53", 0.0)) == pytest.approx(expected)
    # a steep rise is floored at the fast interval; a falling or flat rate keeps the base
    assert interval_for(snap("0.5", 1.0), POLL, snap("0.3", 0.0)) == POLL.fast_interval
    assert interval_for(snap("0.4", 5.0), POLL, snap("0.45", 0.0)) == POLL.interval
    assert interval_for(snap("0.1", 5.0), POLL, snap("0.1", 0.0)) == POLL.slow_interval


def _short(total: str, at: float = 0.0, rate: str = "0.5") -> ScopeSnapshot:
    """An isolated BTC short (0.2 BTC owed at 30,000, mmr 5 %) holding ``total`` USDT: 6,489
    USDT is 3 % from liquidation, 6,741 is 7 %, 6,867 is 9 %."""
    usdt = CoinBalance("USDT", D(total), D(0), D(0), D(0))
    btc = CoinBalance("BTC", D(0), D(0), D("0.2"), D(0))
    return ScopeSnapshot(
        "a",
        "isolated:BTCUSDT",
        D(rate),
        {"USDT": usdt, "BTC": btc},
        at,
        prices_usdt={"BTC": D(30000), "USDT": D(1)},
        maintain_margin_rate={"BTC": D("0.05"), "USDT": D("0.05")},
        base_coin="BTC",
        quote_coin="USDT",
    )


def test_interval_for_a_scope_near_liquidation_at_a_low_rate() -> None:
    """A scope closer to liquidation than near_distance is polled fast whatever its rate
    (a 7x short 3 % from liquidation reads 0.5); near_distance 0 turns that off."""
    assert interval_for(_short("6489"), POLL) == POLL.fast_interval
    assert interval_for(_short("6867"), POLL) == POLL.interval
    off = PollSettings(near_distance=D(0))
    assert interval_for(_short("6489"), off) == POLL.interval


def test_a_low_rate_near_liquidation_is_not_calm() -> None:
    """Below calm_below but within twice near_distance of liquidation (a high-leverage scope
    just after a repay): the normal interval, not the slow one; far from it: slow."""
    assert interval_for(_short("6741", rate="0.2"), POLL) == POLL.interval  # 7 %
    assert interval_for(_short("7056", rate="0.2"), POLL) == POLL.slow_interval  # 12 %


def test_a_scope_within_two_recent_jumps_of_liquidation_is_not_calm() -> None:
    """12 % from liquidation is calm after steps of 5 %, not after a jump of 7 % (twice it
    would carry the scope there): the normal interval then, as for a scope near its line."""
    snap = _short("7056", rate="0.2")  # 12 % from liquidation
    assert interval_for(snap, POLL, step=D("0.05")) == POLL.slow_interval
    assert interval_for(snap, POLL, step=D("0.07")) == POLL.interval


def test_price_steps_keep_the_largest_recent_jump_of_a_scopes_coins() -> None:
    """The jumps between loads of the feed's prices, per coin, for two minutes; a coin the
    scope neither holds nor owes does not count."""
    steps = PriceSteps()
    steps.observe({"BTC": D(30000), "ETH": D(2000)}, 0.0)
    steps.observe({"BTC": D(27000), "ETH": D(1000)}, 10.0)  # BTC -10 %, ETH -50 %
    steps.observe({"BTC": D(26730), "ETH": D(1000)}, 20.0)  # BTC -1 %
    snap = _short("7056", rate="0.2")  # holds USDT, owes BTC
    assert steps.largest(snap, 20.0) == D("0.1")
    assert steps.largest(snap, 131.0) == D("0.01")
    assert steps.largest(snap, 141.0) == 0


def test_interval_for_a_shrinking_distance() -> None:
    """A distance that shrinks shortens the interval to half its time to near_distance."""
    # 9 % → 7 % in 5 s: near_distance (5 %) is 5 s away at that pace; half of that
    got = interval_for(_short("6741", at=5.0), POLL, _short("6867", at=0.0))
    assert got == pytest.approx(2.5, abs=0.05)
    # growing, or unchanged: the base interval
    assert interval_for(_short("6867", at=5.0), POLL, _short("6741", at=0.0)) == POLL.interval
    assert interval_for(_short("6867", at=5.0), POLL, _short("6867", at=0.0)) == POLL.interval


async def test_failure_keeps_old_snapshot_and_retries_fast(make_exchange, clock) -> None:
    """A failed poll keeps the previous snapshot (which ages) and is retried fast."""
    ex = make_exchange()
    ex.cross_rows = [AssetRow("USDT", D(100), D(0), D(10), D(0))]
    p = _poller(ex, clock, discover_isolated=False)
    await p.poll()
    seen = p.snapshots["cross"].observed_at
    clock.advance(POLL.slow_interval)
    ex.fail_next["assets"] = CallUncertain("HTTP 503")
    out = await p.poll()
    assert out.errors == {"cross": "HTTP 503"}
    assert p.snapshots["cross"].observed_at == seen
    assert p.next_due["cross"] == clock.now() + POLL.fast_interval


async def test_prices_and_reference_in_snapshots(make_exchange, clock) -> None:
    """Snapshots carry USDT prices, the symbol's ratios and its tier's maintenance rate."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50")
    p = AccountPoller(
        "alice",
        AccountSettings(cross=False),
        POLL,
        ex,
        StaticPrices({"BTC": D(30000)}, clock),
        clock,
    )
    await p.poll()
    snap = p.snapshots["isolated:BTCUSDT"]
    assert snap.prices_usdt == {"BTC": D(30000), "USDT": D(1)}
    assert snap.warning_risk_ratio == D("0.8") and snap.maintain_margin_rate["BTC"] == D("0.1")
    assert snap.base_coin == "BTC" and snap.quote_coin == "USDT"


async def test_scopes_near_their_line_are_polled_urgently(make_exchange, clock) -> None:
    """A scope at or near its margin call reads at Priority.URGENT; a calm one at SCHEDULED."""
    from riskd.bitget.gate import Priority

    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50") + _iso("ETHUSDT", "50")
    ex.risk["isolated:BTCUSDT"] = D("0.75")  # near the 0.8 line
    ex.risk["isolated:ETHUSDT"] = D("0.1")
    p = _poller(ex, clock, cross=False)
    await p.poll()
    assert p.urgent == {"isolated:BTCUSDT"}
    ex.priorities.clear()
    await p.poll(force=True)
    by_symbol = {
        kw["symbol"]: prio
        for (n, kw), (_, prio) in zip(ex.calls[-2:], ex.priorities[-2:], strict=True)
        if n == "isolated_risk_rate"
    }
    assert by_symbol == {"BTCUSDT": Priority.URGENT, "ETHUSDT": Priority.SCHEDULED}
    assert ("assets", Priority.URGENT) in ex.priorities  # one of its scopes is urgent


async def test_a_read_of_scopes_that_owe_nothing_goes_at_idle(make_exchange, clock) -> None:
    """Once known to owe nothing, cross is read at Priority.IDLE (last in line); the isolated
    scope that owes at SCHEDULED, as is a scope not read yet."""
    from riskd.bitget.gate import Priority

    ex = make_exchange()
    ex.cross_rows = [AssetRow("USDT", D(100), D(0), D(0), D(0))]
    ex.isolated_rows = _iso("BTCUSDT", "50")
    ex.risk["isolated:BTCUSDT"] = D("0.1")
    p = _poller(ex, clock)
    await p.poll()
    assert ("assets", Priority.IDLE) not in ex.priorities  # nothing known yet
    ex.priorities.clear()
    await p.poll(force=True)
    prios = set(ex.priorities)
    assert ("assets", Priority.IDLE) in prios  # cross: owes nothing
    assert ("assets", Priority.SCHEDULED) in prios  # isolated: owes USDT
    assert ("isolated_risk_rate", Priority.SCHEDULED) in prios
    ex.cross_rows = [AssetRow("USDT", D(100), D(0), D(5), D(0))]  # now cross owes
    await p.poll(force=True)
    ex.priorities.clear()
    await p.poll(force=True)
    assert {pr for n, pr in ex.priorities} <= {Priority.SCHEDULED, Priority.URGENT}


async def test_a_failed_poll_of_a_scope_that_owes_makes_it_urgent(make_exchange, clock) -> None:
    """Blind on a scope with debt: its next reads go at Priority.URGENT."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50")
    ex.risk["isolated:BTCUSDT"] = D("0.2")
    p = _poller(ex, clock, cross=False)
    await p.poll()
    assert p.urgent == set()
    ex.fail_next["isolated_risk_rate"] = CallUncertain("timeout")
    clock.advance(60)
    await p.poll()
    assert p.urgent == {"isolated:BTCUSDT"}


async def test_a_slow_cross_read_does_not_hold_up_isolated(make_exchange, clock) -> None:
    """Cross and isolated are polled side by side: isolated is done while cross still waits."""
    import asyncio

    ex = make_exchange()
    ex.cross_rows = [AssetRow("USDT", D(100), D(0), D(50), D(0))]
    ex.isolated_rows = _iso("BTCUSDT", "50")
    release = asyncio.Event()
    plain = ex.cross_risk_rate

    async def slow_cross_risk_rate():
        await release.wait()
        return await plain()

    ex.cross_risk_rate = slow_cross_risk_rate
    p = _poller(ex, clock)
    task = asyncio.create_task(p.poll())
    for _ in range(50):
        await asyncio.sleep(0)
    assert "isolated:BTCUSDT" in p.snapshots and "cross" not in p.snapshots
    release.set()
    out = await task
    assert out.polled == {"cross", "isolated:BTCUSDT"}


async def test_a_price_move_makes_a_scope_due_at_once(make_exchange, clock) -> None:
    """A calm scope is polled at the next tick once a coin it holds moved 0.5 % (a crash is
    seen within a tick), not at its slow interval; a smaller move waits."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50")
    ex.risk["isolated:BTCUSDT"] = D("0.1")
    prices = StaticPrices({"BTC": D(30000)}, clock)
    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, prices, clock)
    await p.poll()
    clock.advance(1)
    prices.set("BTC", D(29900))  # −0.33 %
    assert (await p.poll()).polled == set()
    prices.set("BTC", D(29840))  # −0.53 %
    assert (await p.poll()).polled == {"isolated:BTCUSDT"}
    assert p.snapshots["isolated:BTCUSDT"].prices_usdt["BTC"] == D(29840)


async def test_a_scope_no_longer_calm_at_the_latest_prices_is_read_urgently(
    make_exchange, clock
) -> None:
    """A calm long whose coin then falls so far that, at the feed's latest prices, it would no
    longer be calm is read at Priority.URGENT at once, not at the calm scope's SCHEDULED
    priority (refused during a 429 back-off); a small move keeps SCHEDULED."""
    from riskd.bitget.gate import Priority

    ex = make_exchange()
    ex.isolated_rows = [
        AssetRow("USDT", D(0), D(0), D(100), D(0), "BTCUSDT"),
        AssetRow("BTC", D("0.01"), D(0), D(0), D(0), "BTCUSDT"),
    ]
    ex.risk["isolated:BTCUSDT"] = D("0.05")  # 100 USDT owed, 300 held: far from liquidation
    prices = StaticPrices({"BTC": D(30000)}, clock)
    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, prices, clock)
    await p.poll()
    assert p.urgent == set()
    clock.advance(1)
    prices.set("BTC", D(29000))  # −3.3 %: due (moved), still calm at that price
    ex.priorities.clear()
    await p.poll()
    assert ("isolated_risk_rate", Priority.SCHEDULED) in ex.priorities
    clock.advance(1)
    prices.set("BTC", D(12000))  # 8 % from liquidation at that price: not calm
    ex.priorities.clear()
    await p.poll()
    assert ("isolated_risk_rate", Priority.URGENT) in ex.priorities
    assert ("assets", Priority.URGENT) in ex.priorities


async def test_a_scope_two_recent_jumps_from_liquidation_is_read_urgently(
    make_exchange, clock
) -> None:
    """After its coin halved in one jump, a long 27 % from liquidation at a rate of 0.2 (calm
    by rate and by near_distance) is not calm: twice that jump would liquidate it. Its reads
    go at Priority.URGENT and it is polled at the normal interval, not the slow one."""
    from riskd.bitget.gate import Priority

    ex = make_exchange()
    ex.isolated_rows = [
        AssetRow("USDT", D(0), D(0), D(100), D(0), "BTCUSDT"),
        AssetRow("BTC", D("0.01"), D(0), D(0), D(0), "BTCUSDT"),
    ]
    ex.risk["isolated:BTCUSDT"] = D("0.05")
    prices = StaticPrices({"BTC": D(30000)}, clock)
    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, prices, clock)
    await p.poll()
    assert p.urgent == set()
    clock.advance(1)
    prices.set("BTC", D(15000))  # −50 % in one jump: 27 % from liquidation, rate 0.2
    ex.risk["isolated:BTCUSDT"] = D("0.2")
    ex.priorities.clear()
    await p.poll()
    assert ("isolated_risk_rate", Priority.URGENT) in ex.priorities
    assert p.urgent == {"isolated:BTCUSDT"}
    assert p.next_due["isolated:BTCUSDT"] - clock.now() <= POLL.interval


async def test_a_read_the_budget_refused_is_not_blind_until_half_stale(
    make_exchange, clock
) -> None:
    """A calm scope's read refused by the rate budget during a 429 back-off (never sent) is
    tried again at the fast interval at its plain priority — it is not blind; once its data
    is half-way to stale, a refusal makes its reads urgent, as any failed read does."""
    from riskd.daemon.exchange import CallRejected

    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50")
    ex.risk["isolated:BTCUSDT"] = D("0.1")
    p = _poller(ex, clock, cross=False)
    await p.poll()
    clock.advance(POLL.slow_interval)
    refused = CallRejected("backing off after HTTP 429", code="budget", transient=True)
    ex.fail_next["isolated_risk_rate"] = refused
    await p.poll()
    assert p.urgent == set()
    assert p.next_due["isolated:BTCUSDT"] == clock.now() + POLL.fast_interval
    clock.advance(POLL.stale_after / 2)
    ex.fail_next["isolated_risk_rate"] = refused
    await p.poll()
    assert p.urgent == {"isolated:BTCUSDT"}


async def test_a_repayment_applied_from_its_answer_is_not_undone_by_an_older_read(
    make_exchange, clock
) -> None:
    """A snapshot with a confirmed repayment applied replaces the one it was made from and
    makes the scope due at once; a read that started before the answer (it may not show
    the repayment) does not replace it, one started after does."""
    import asyncio
    from dataclasses import replace

    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "50")
    ex.risk["isolated:BTCUSDT"] = D("0.4")
    p = _poller(ex, clock, cross=False)
    await p.poll()
    before = p.snapshots["isolated:BTCUSDT"]
    release = asyncio.Event()
    plain = ex.assets

    async def slow_assets(margin):
        rows = await plain(margin)
        await release.wait()
        return rows

    ex.assets = slow_assets
    clock.advance(1)
    task = asyncio.create_task(p.repoll("isolated:BTCUSDT"))  # starts before the answer
    for _ in range(20):
        await asyncio.sleep(0)
    clock.advance(1)
    after = replace(before, risk_rate=D("0.3"), adjusted_at=clock.now())
    assert p.keep_applied(before, after) is after
    assert p.next_due["isolated:BTCUSDT"] == clock.now()
    assert p.keep_applied(before, after) is None  # ``before`` is no longer the latest
    release.set()
    await task
    assert p.snapshots["isolated:BTCUSDT"] is after
    ex.assets = plain
    clock.advance(1)
    await p.repoll("isolated:BTCUSDT")
    assert p.snapshots["isolated:BTCUSDT"].adjusted_at is None
