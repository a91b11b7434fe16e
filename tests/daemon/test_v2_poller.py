"""The poller on a v2-like exchange: flat calls per cycle, the risk-rate reading, a Unified
Trading Account stopped, an unexpected answer dropped with a notice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from riskd.daemon.exchange import AccountModeError, AssetRow, MalformedAnswer
from riskd.daemon.poll_notices import Notice
from riskd.daemon.poller import AccountPoller
from riskd.daemon.prices import StaticPrices
from riskd.risk.reading import DIRECT, INVERSE, OWN
from riskd.settings import AccountSettings, PollSettings

from .conftest import FakeExchange

POLL = PollSettings()


@dataclass
class V2Fake(FakeExchange):
    """The unit-test fake plus what a v2 exchange offers: rates of all symbols at once, and
    a risk figure whose direction is contested."""

    risk_rate_contested: bool = True
    batch_error: Exception | None = None
    omit: set[str] = field(default_factory=set)

    async def isolated_risk_rates(self, symbols: Sequence[str]) -> dict[str, D]:
        self._call("isolated_risk_rates", symbols=list(symbols))
        if self.batch_error is not None:
            raise self.batch_error
        return {s: self.risk.get(f"isolated:{s}", D(0)) for s in symbols if s not in self.omit}


def _owing(symbol: str, borrow: str = "100") -> list[AssetRow]:
    return [
        AssetRow("USDT", D(1000), D(0), D(borrow), D(0), symbol),
        AssetRow("BTC", D(0), D(0), D(0), D(0), symbol),
    ]


def _own_rate(borrow: str = "100") -> D:
    """riskd's rate for :func:`_owing`: borrow × mmr 0.1 / (1000 − borrow)."""
    return D(borrow) * D("0.1") / (D(1000) - D(borrow))


def _poller(ex, clock, notices: list[Notice] | None = None, **acc) -> AccountPoller:
    prices = StaticPrices({"BTC": D(30000)}, clock)
    sink = notices if notices is not None else []

    async def notice(n: Notice) -> None:
        sink.append(n)

    return AccountPoller("alice", AccountSettings(**acc), POLL, ex, prices, clock, notice=notice)


@pytest.mark.parametrize("count", [1, 10, 50])
async def test_calls_per_cycle_stay_flat_as_symbols_are_added(clock, count: int) -> None:
    """1, 10 or 50 owing isolated symbols: one assets call and one risk-rate call."""
    ex = V2Fake(clock=clock)
    for i in range(count):
        ex.isolated_rows += _owing(f"S{i:02}USDT")
    p = _poller(ex, clock, cross=False)
    out = await p.poll()
    assert len(out.polled) == count
    names = [n for n, _ in ex.calls if n in ("assets", "isolated_risk_rates", "isolated_risk_rate")]
    assert names == ["assets", "isolated_risk_rates"]
    assert p.calls_per_cycle() == {"isolated_assets": 1, "isolated_risk_rate": 1}


async def test_matching_direct_reading_is_used_and_kept(clock) -> None:
    """A reported figure equal to riskd's own is read as liabilities/assets."""
    ex = V2Fake(clock=clock)
    ex.isolated_rows = _owing("BTCUSDT")
    ex.risk["isolated:BTCUSDT"] = _own_rate()
    p = _poller(ex, clock, cross=False)
    await p.poll()
    snap = p.snapshots["isolated:BTCUSDT"]
    assert (snap.risk_reading, snap.reading_checked) == (DIRECT, True)
    assert snap.local_risk_rate == _own_rate() == snap.reported_risk_rate == snap.risk_rate


async def test_inverse_reading_turns_the_figure_round(clock) -> None:
    """A reported assets/liabilities figure becomes its reciprocal: higher = riskier."""
    ex = V2Fake(clock=clock)
    ex.isolated_rows = _owing("BTCUSDT", "600")
    ex.risk["isolated:BTCUSDT"] = 1 / _own_rate("600")
    notices: list[Notice] = []
    p = _poller(ex, clock, notices, cross=False)
    await p.poll()
    snap = p.snapshots["isolated:BTCUSDT"]
    assert snap.risk_reading == INVERSE
    assert abs(snap.risk_rate - _own_rate("600")) < D("1e-20")
    assert notices == []


async def test_disagreeing_figure_acts_on_own_rate_with_one_loud_notice(clock) -> None:
    """Neither reading matches: the rules see riskd's figure; one notice names both."""
    ex = V2Fake(clock=clock)
    ex.cross_rows = [AssetRow("USDT", D(1000), D(0), D(600), D(0))]
    ex.risk["cross"] = D("0.05")
    notices: list[Notice] = []
    p = _poller(ex, clock, notices, discover_isolated=False)
    await p.poll()
    await p.repoll("cross")
    snap = p.snapshots["cross"]
    assert (snap.risk_reading, snap.risk_rate) == (OWN, _own_rate("600"))
    assert snap.reported_risk_rate == D("0.05")
    (n,) = notices
    assert n.kind == "risk_reading" and n.scope == "cross"
    assert "0.05" in n.message and "0.15" in n.message


@dataclass
class MovingFake(V2Fake):
    """The market moves while the risk read is in flight: BTC is at ``then`` when the
    exchange computes its figure and at ``now`` when the answer lands."""

    moves: list[tuple[StaticPrices, D]] = field(default_factory=list)

    async def isolated_risk_rates(self, symbols: Sequence[str]) -> dict[str, D]:
        got = await super().isolated_risk_rates(symbols)
        for prices, price in self.moves:
            prices.set("BTC", price)
        return got


async def test_a_slow_read_in_a_fast_market_is_no_mismatch(clock) -> None:
    """A 1 BTC long owing 20,000 USDT: riskd's rate is 0.2 at 30,000 (the read's start) and
    0.333 at 26,000 (its answer); the exchange's 0.25 (at 28,000, in between) settles the
    reading with no notice, though it is within tolerance of neither end, and the rules see
    the fresher 0.333."""
    ex = MovingFake(clock=clock)
    ex.isolated_rows = [
        AssetRow("USDT", D(0), D(0), D(20000), D(0), "BTCUSDT"),
        AssetRow("BTC", D(1), D(0), D(0), D(0), "BTCUSDT"),
    ]
    ex.risk["isolated:BTCUSDT"] = D("0.25")
    prices = StaticPrices({"BTC": D(30000)}, clock)
    ex.moves.append((prices, D(26000)))
    notices: list[Notice] = []

    async def notice(n: Notice) -> None:
        notices.append(n)

    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, prices, clock, notice=notice)
    await p.poll()
    snap = p.snapshots["isolated:BTCUSDT"]
    assert snap.risk_reading == DIRECT and snap.reported_risk_rate == D("0.25")
    assert snap.risk_rate == snap.local_risk_rate and snap.risk_rate > D("0.33")
    assert notices == []


async def test_unified_trading_account_is_stopped_with_one_notice(clock) -> None:
    """40085 stops the account: no snapshot, nothing due, one notice; repoll refuses."""
    ex = V2Fake(clock=clock)
    ex.cross_rows = [AssetRow("USDT", D(1000), D(0), D(0), D(0))]
    notices: list[Notice] = []
    p = _poller(ex, clock, notices)
    await p.poll()
    assert p.snapshots
    ex.fail_next["assets"] = AccountModeError("a Unified Trading Account (40085)", code="40085")
    clock.advance(POLL.slow_interval)
    await p.poll()
    assert p.stopped is not None and "Unified" in p.stopped
    assert p.snapshots == {} and p.due(clock.now() + 3600) == set()
    assert [n.kind for n in notices] == ["account_mode"]
    before = len(ex.calls)
    assert (await p.poll()).polled == set() and len(ex.calls) == before
    with pytest.raises(AccountModeError):
        await p.repoll("cross")


async def test_unexpected_answer_drops_the_scope_and_alerts_once(clock) -> None:
    """A malformed risk answer: no snapshot for the owing scopes, one notice, no crash."""
    ex = V2Fake(clock=clock)
    ex.isolated_rows = _owing("BTCUSDT") + _owing("ETHUSDT", "0")
    ex.risk["isolated:BTCUSDT"] = _own_rate()
    notices: list[Notice] = []
    p = _poller(ex, clock, notices, cross=False)
    await p.poll()
    assert "isolated:BTCUSDT" in p.snapshots
    bad = MalformedAnswer(
        "isolated_risk_rate (GET /api/v2/margin/isolated/account/risk-rate): "
        "data does not match the document: 0.riskRateRatio: Field required"
    )
    ex.batch_error = bad
    out = await p.poll(force=True)
    await p.poll(force=True)
    assert "isolated:BTCUSDT" not in p.snapshots and "isolated:ETHUSDT" in p.snapshots
    assert "riskRateRatio" in out.errors["isolated:BTCUSDT"]
    assert [n.kind for n in notices] == ["bad_answer"]
    assert "risk-rate" in notices[0].message
    ex.batch_error = None
    await p.poll(force=True)
    assert "isolated:BTCUSDT" in p.snapshots and "isolated:BTCUSDT" not in p.errors


async def test_a_symbol_missing_from_the_list_is_an_error_for_that_scope(clock) -> None:
    """An owing symbol absent from the v2 list gets no snapshot and a clear error."""
    ex = V2Fake(clock=clock, omit={"BTCUSDT"})
    ex.isolated_rows = _owing("BTCUSDT")
    p = _poller(ex, clock, cross=False)
    out = await p.poll()
    assert "no row for symbol BTCUSDT" in out.errors["isolated:BTCUSDT"]
    assert "isolated:BTCUSDT" not in p.snapshots


@dataclass
class SlowAssets(V2Fake):
    """Balances that answer only when told to: what else was asked meanwhile is on record."""

    gate: object = None

    async def assets(self, margin):  # type: ignore[no-untyped-def]
        import asyncio

        assert isinstance(self.gate, asyncio.Event)
        self._call("assets-start", margin=margin)
        await self.gate.wait()
        return await super().assets(margin)


async def _owing_in_both(clock) -> tuple[SlowAssets, AccountPoller]:
    """Cross and isolated BTCUSDT owing 100 USDT, polled once (balances answered at once)."""
    import asyncio

    ex = SlowAssets(clock=clock, gate=asyncio.Event())
    ex.isolated_rows = _owing("BTCUSDT")
    ex.cross_rows = [AssetRow("USDT", D(1000), D(0), D(100), D(0))]
    ex.risk["isolated:BTCUSDT"] = ex.risk["cross"] = _own_rate()
    p = _poller(ex, clock)
    ex.gate.set()
    await p.poll()
    return ex, p


async def test_figures_of_scopes_that_owed_are_read_beside_the_balances(clock) -> None:
    """Once known to owe, an isolated scope's figure and the cross figure are asked for while
    the balances' reads are still on their way (one call's latency per poll, not two); the
    first poll, knowing nothing, reads them after; a scope that no longer owes drops it."""
    import asyncio

    ex, p = await _owing_in_both(clock)
    first = [n for n, _ in ex.calls if n != "assets"]
    assert first.index("isolated_risk_rates") > first.index("assets-start")
    ex.gate.clear()
    ex.calls.clear()
    task = asyncio.create_task(p.poll(force=True))
    for _ in range(20):
        await asyncio.sleep(0)
    asked = {n for n, _ in ex.calls}
    assert {"isolated_risk_rates", "cross_risk_rate"} <= asked  # balances not answered yet
    assert "assets" not in asked
    ex.gate.set()
    out = await task
    assert out.polled == {"cross", "isolated:BTCUSDT"} and not out.errors
    assert p.snapshots["isolated:BTCUSDT"].reported_risk_rate == _own_rate()
    ex.isolated_rows = [AssetRow("USDT", D(1000), D(0), D(0), D(0), "BTCUSDT")]  # repaid
    ex.calls.clear()
    await p.poll(force=True)
    assert p.snapshots["isolated:BTCUSDT"].risk_rate == 0 and not p.errors


async def test_a_read_beside_the_balances_never_outlives_its_poll(clock) -> None:
    """A poll cancelled while its balances' read is on its way takes the figure reads started
    beside it down with it: no read is left running."""
    import asyncio

    ex, p = await _owing_in_both(clock)
    ex.gate.clear()

    async def hang(*args: object) -> D:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ex.cross_risk_rate = hang  # type: ignore[method-assign]
    task = asyncio.create_task(p.poll(force=True))
    for _ in range(20):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait({task})
    for _ in range(5):
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}
