"""Liquidations are noticed and announced: records, the account state when records lag,
once each, across restarts, and a liquidation's fall in risk is never "resolved"."""

from __future__ import annotations

import logging
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.bitget.endpoint_types import LimitScope
from riskd.bitget.gate import Priority
from riskd.bitget.models_records import LiquidationRecord
from riskd.budget import BudgetExhausted
from riskd.budget.limit_table import LimitKey, LimitRule
from riskd.daemon.events import EventKind
from riskd.daemon.liquidations import LiquidationWatch, Margin, suspects
from riskd.notify.alert import EVERY_ROUTE, AlertKind
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.severity import Severity

from .harness import make_world

ISO = "isolated:BTCUSDT"


def snap(risk: str, borrow: str, *, scope: str = ISO, at: float = 0.0) -> ScopeSnapshot:
    """An isolated BTCUSDT scope owing ``borrow`` USDT at risk rate ``risk``."""
    return ScopeSnapshot(
        account="alice",
        scope=scope,
        risk_rate=D(risk),
        balances={
            "BTC": CoinBalance("BTC", D("0.1"), D(0), D(0), D(0)),
            "USDT": CoinBalance("USDT", D(0), D(0), D(borrow), D(0)),
        },
        observed_at=at,
        base_coin="BTC",
        quote_coin="USDT",
        prices_usdt={"BTC": D(20000), "USDT": D(1)},
    )


class FakeSource:
    """A liquidation history that the test fills in."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str | None], list[LiquidationRecord]] = {}
        self.calls: list[tuple[str, str | None]] = []

    async def liquidations(
        self, margin: Margin, since_ms: int, symbol: str | None = None
    ) -> list[LiquidationRecord]:
        self.calls.append((margin, symbol))
        return list(self.records.get((margin, symbol), []))


def record(liq_id: str, symbol: str = "BTCUSDT") -> LiquidationRecord:
    return LiquidationRecord.model_validate(
        {
            "liqId": liq_id,
            "symbol": symbol,
            "liqEndTime": "1700000000000",
            "liqFee": "12.5",
            "totalDebt": "1500",
        }
    )


def test_debt_gone_while_at_risk_without_an_action_is_suspected() -> None:
    """The account-state check: a debt that vanished while at risk, with nothing of riskd
    to explain it, is a suspect; a calm scope, or one riskd repaid, is not."""
    before = {ISO: snap("0.9", "1500"), "cross": snap("0.1", "10", scope="cross")}
    after = {ISO: snap("0", "0"), "cross": snap("0", "0", scope="cross")}
    assert suspects(before, after, (), ()) == ({ISO}, set())
    assert suspects(before, {}, {ISO}, ()) == ({ISO}, set()), "a vanished scope too"
    partial = {ISO: snap("0.7", "600"), "cross": snap("0.1", "10", scope="cross")}
    assert suspects(before, partial, (), ()) == (set(), {ISO}), "a partial liquidation"


async def test_a_record_is_announced_once_even_after_a_restart() -> None:
    """A record found is one Liquidation with its fee; the same id is never announced again,
    in this process or (remembered from the journal) in the next."""
    source = FakeSource()
    source.records[("isolated", "BTCUSDT")] = [record("L1")]
    watch = LiquidationWatch("alice", source, interval=30, started_at=0.0)
    before = {ISO: snap("0.95", "1500")}
    found = await watch.check(10.0, before, before, (), ())
    assert [(f.scope, f.liq_id, f.fee, f.source) for f in found] == [
        (ISO, "L1", D("12.5"), "record")
    ]
    assert await watch.check(50.0, before, before, (), ()) == []
    again = LiquidationWatch("alice", source, interval=30, started_at=60.0)
    again.remember(["L1"])
    assert await again.check(70.0, before, before, (), ()) == []


async def test_state_first_then_the_record_is_not_announced_twice() -> None:
    """Records lag: the account state announces it; the record arriving later is kept
    quiet."""
    source = FakeSource()
    watch = LiquidationWatch("alice", source, interval=30, started_at=0.0)
    before, after = {ISO: snap("0.97", "1500")}, {ISO: snap("0", "0")}
    found = await watch.check(10.0, before, after, (), ())
    assert [(f.scope, f.source) for f in found] == [(ISO, "state")]
    source.records[("isolated", "BTCUSDT")] = [record("L9")]
    assert await watch.check(45.0, after, after, (), ()) == []


async def test_calm_isolated_scopes_cost_no_call() -> None:
    """Only scopes at risk (or vanished) have their isolated history read; cross is read
    on schedule."""
    source = FakeSource()
    watch = LiquidationWatch("alice", source, interval=30, started_at=0.0)
    calm = {
        ISO: snap("0.1", "100"),
        "isolated:ETHUSDT": snap("0.2", "100", scope="isolated:ETHUSDT"),
    }
    await watch.check(1.0, calm, calm, (), ())
    assert source.calls == [("cross", None)]


@pytest.mark.slow
async def test_forced_liquidation_while_paused_is_announced(tmp_path: Path) -> None:
    """Actions paused, the exchange liquidates the isolated scope: within two poll intervals
    a critical LIQUIDATED alert names the account and scope on every route, the journal has
    a `liquidated` entry, and no rule calls the scope resolved."""
    world = await make_world(tmp_path, live=True)
    journal = world.daemon.journal
    try:
        await world.daemon.run_cycle()
        await journal.set_paused(None, True, at=world.clock.now(), reason="test")
        price = D(30000)
        seen_at: float | None = None
        liquidated_at: float | None = None
        while price > D(15000) and seen_at is None:
            world.sim.control.set_price("BTCUSDT", price)
            world.clock.advance(1)
            await world.daemon.run_cycle()
            if liquidated_at is None and world.sim.stats.liquidations:
                liquidated_at = world.clock.now()
            if any(a.kind is AlertKind.LIQUIDATED for a in world.sink.alerts):
                seen_at = world.clock.now()
            price -= D(200)
        assert liquidated_at is not None and seen_at is not None
        assert seen_at - liquidated_at <= 2 * world.settings.poll.fast_interval
        alert = next(a for a in world.sink.alerts if a.kind is AlertKind.LIQUIDATED)
        assert alert.severity is Severity.CRITICAL and EVERY_ROUTE in alert.tags
        assert "LIQUIDATED" in alert.title and "alice" in alert.title and ISO in alert.title
        events = await journal.events(kinds=[EventKind.LIQUIDATED])
        assert [e.scope for e in events] == [ISO]
        for _ in range(10):
            world.clock.advance(1)
            await world.daemon.run_cycle()
        resolved = [a for a in world.sink.alerts if a.kind is AlertKind.RESOLVED and a.scope == ISO]
        assert resolved == [], "a liquidation is never called resolved"
        assert len([a for a in world.sink.alerts if a.kind is AlertKind.LIQUIDATED]) == 1
    finally:
        await world.close()


class ExhaustedSource:
    """A liquidation history whose endpoint is in a long 429 back-off."""

    async def liquidations(
        self, margin: Margin, since_ms: int, symbol: str | None = None
    ) -> list[LiquidationRecord]:
        key = LimitKey(LimitRule("v2:cross_liquidations", 10, 1, LimitScope.UID), "alice")
        raise BudgetExhausted(
            "v2:cross_liquidations", key, Priority.POLL, "is backing off (30s left)", 0.0, 5.0
        )


async def test_a_history_read_the_budget_refuses_does_not_fail_the_cycle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The history's endpoint backing off longer than a plain read may wait: the read is
    skipped with a warning, and the cycle (which acted before it) completes."""
    world = await make_world(tmp_path, live=True)
    try:
        acc = world.daemon.accounts["alice"]
        acc.liquidations = LiquidationWatch("alice", ExhaustedSource(), interval=0, started_at=0.0)
        with caplog.at_level(logging.WARNING):
            await world.daemon.run_cycle()
        assert "liquidation history not read" in caplog.text
        assert world.daemon.accounts["alice"].poller.snapshots
    finally:
        await world.close()
