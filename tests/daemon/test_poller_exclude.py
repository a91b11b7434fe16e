"""Poller beside the pipelines: scopes being acted on are left out, newer reads are kept."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.bitget.gate import Priority
from riskd.daemon.exchange import AssetRow
from riskd.daemon.poller import AccountPoller
from riskd.daemon.prices import NoPrices
from riskd.settings import AccountSettings, PollSettings


def _rows(symbol: str, borrow: str = "50") -> list[AssetRow]:
    return [
        AssetRow("USDT", D(100), D(0), D(borrow), D(0), symbol),
        AssetRow("BTC", D("0.01"), D(0), D(0), D(0), symbol),
    ]


def _poller(ex, clock) -> AccountPoller:
    acc = AccountSettings(cross=False)
    return AccountPoller("alice", acc, PollSettings(), ex, NoPrices(), clock)


async def test_excluded_scopes_are_not_polled_and_keep_their_ask(make_exchange, clock) -> None:
    """A forced poll leaves out the excluded scope (its pipeline re-polls it) and keeps a poll
    asked for it for a later cycle; the others are polled."""
    ex = make_exchange()
    ex.isolated_rows = _rows("BTCUSDT") + _rows("ETHUSDT")
    ex.risk.update({"isolated:BTCUSDT": D("0.4"), "isolated:ETHUSDT": D("0.4")})
    p = _poller(ex, clock)
    await p.poll()
    before = p.snapshots["isolated:BTCUSDT"]
    clock.advance(5)
    p.request_poll(["isolated:BTCUSDT", "isolated:ETHUSDT"], Priority.URGENT)
    out = await p.poll(force=True, exclude={"isolated:BTCUSDT"})
    assert out.polled == {"isolated:ETHUSDT"}
    assert p.snapshots["isolated:BTCUSDT"] is before
    assert p.wanted == {"isolated:BTCUSDT": Priority.URGENT}
    out = await p.poll()
    assert "isolated:BTCUSDT" in out.polled and p.wanted == {}


async def test_a_read_never_replaces_a_newer_snapshot(make_exchange, clock) -> None:
    """A poll that started before a pipeline's re-poll and answers after it does not put the
    older answer over the newer one."""
    ex = make_exchange()
    ex.isolated_rows = _rows("BTCUSDT")
    ex.risk["isolated:BTCUSDT"] = D("0.4")
    p = _poller(ex, clock)
    await p.poll()
    slow_started = clock.now()
    clock.advance(1)
    ex.risk["isolated:BTCUSDT"] = D("0.2")
    newer = await p.repoll("isolated:BTCUSDT")
    assert newer is not None and newer.observed_at == slow_started + 1
    clock.set(slow_started)  # a read that began before the re-poll answers now
    ex.risk["isolated:BTCUSDT"] = D("0.4")
    await p.poll(force=True)
    assert p.snapshots["isolated:BTCUSDT"] is newer
