"""The poller in a 429 storm: a scope needs one good read (its balances), not two, to be
seen."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.daemon.exchange import AssetRow, CallRejected, MalformedAnswer
from riskd.daemon.poller import AccountPoller
from riskd.daemon.prices import NoPrices, StaticPrices
from riskd.risk.reading import OWN
from riskd.settings import AccountSettings, PollSettings

POLL = PollSettings()


def _iso(symbol: str, borrow: str) -> list[AssetRow]:
    return [
        AssetRow("USDT", D(100), D(0), D(borrow), D(0), symbol),
        AssetRow("BTC", D("0.01"), D(0), D(0), D(0), symbol),
    ]


def _storm() -> CallRejected:
    return CallRejected("[429] Too Many Requests", code="429", transient=True)


async def test_a_refused_figure_read_lands_with_riskds_own_rate(make_exchange, clock) -> None:
    """The balances were read, the risk figure got a 429: the snapshot is fresh, its rate is
    riskd's own (reading OWN), and the poll counts as a success."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "250")
    prices = StaticPrices({"BTC": D(30000)}, clock)
    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, prices, clock)
    await p.poll()
    checked = p.snapshots["isolated:BTCUSDT"]
    clock.advance(60)
    ex.fail_next["isolated_risk_rate"] = _storm()
    out = await p.poll()
    snap = p.snapshots["isolated:BTCUSDT"]
    assert out.errors == {} and out.polled == {"isolated:BTCUSDT"}
    assert snap.observed_at == clock.now() and snap.risk_reading == OWN
    assert snap.reported_risk_rate is None and snap.risk_rate == snap.local_risk_rate
    assert snap.risk_rate == checked.local_risk_rate  # same balances, same prices


async def test_the_cross_figure_refused_lands_the_same_way(make_exchange, clock) -> None:
    """Cross: a 429 on cross_risk_rate after a good assets read lands riskd's own rate."""
    ex = make_exchange()
    ex.cross_rows = [
        AssetRow("USDT", D(100), D(0), D(250), D(0)),
        AssetRow("BTC", D("0.01"), D(0), D(0), D(0)),
    ]
    prices = StaticPrices({"BTC": D(30000)}, clock)
    p = AccountPoller("alice", AccountSettings(discover_isolated=False), POLL, ex, prices, clock)
    ex.fail_next["cross_risk_rate"] = _storm()
    out = await p.poll()
    assert out.errors == {} and p.snapshots["cross"].risk_reading == OWN


async def test_without_prices_a_refused_figure_read_is_a_failed_poll(make_exchange, clock) -> None:
    """riskd cannot compute its own rate without prices: the poll fails as before (the old
    snapshot is kept and ages, the scope is urgent)."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "250")
    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, NoPrices(), clock)
    await p.poll()
    seen = p.snapshots["isolated:BTCUSDT"].observed_at
    clock.advance(60)
    ex.fail_next["isolated_risk_rate"] = _storm()
    out = await p.poll()
    assert "isolated:BTCUSDT" in out.errors
    assert p.snapshots["isolated:BTCUSDT"].observed_at == seen
    assert "isolated:BTCUSDT" in p.urgent


async def test_an_answer_not_understood_is_never_replaced_by_the_own_rate(
    make_exchange, clock
) -> None:
    """A malformed figure is not a passing failure: the scope's snapshot is dropped."""
    ex = make_exchange()
    ex.isolated_rows = _iso("BTCUSDT", "250")
    prices = StaticPrices({"BTC": D(30000)}, clock)
    p = AccountPoller("alice", AccountSettings(cross=False), POLL, ex, prices, clock)
    await p.poll()
    clock.advance(60)
    ex.fail_next["isolated_risk_rate"] = MalformedAnswer("riskRateRatio is 'x'")
    out = await p.poll()
    assert "isolated:BTCUSDT" in out.errors and "isolated:BTCUSDT" not in p.snapshots
