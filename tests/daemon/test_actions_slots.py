"""ActionRunner with OrderSlots: the call's rate-budget slot first, then its size."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.bitget.endpoints import Endpoint, endpoint
from riskd.bitget.gate import OpenGate, Priority, current_hold, current_priority
from riskd.clock import ManualClock
from riskd.daemon.actions import ActionRunner
from riskd.daemon.exchange import AssetRow
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.order_slots import OrderSlots
from riskd.daemon.plans import plan_action
from riskd.daemon.reconcile import Reconciler
from riskd.daemon.snapshots import Reference, isolated_snapshot
from riskd.risk.snapshot import UTA, ScopeSnapshot
from riskd.settings import CapsSettings
from riskd.sizing import Skip

from .test_actions import SCOPE, Req

REDUCE = {"target_risk_rate": "0.3"}


class WaitingGate:
    """A gate whose order slot comes after ``wait`` seconds, during which the market moves."""

    def __init__(self, clock: ManualClock, prices: dict[str, D], moved: D, wait: float) -> None:
        self.clock, self.prices, self.moved, self.wait = clock, prices, moved, wait
        self.reserved: list[tuple[str, Priority]] = []

    async def reserve(self, endpoint: Endpoint, priority: Priority) -> None:
        self.reserved.append((endpoint.key, current_priority()))
        self.clock.advance(self.wait)
        self.prices["BTC"] = self.moved
        hold = current_hold()
        assert hold is not None
        hold.put(endpoint.key)


def _exchange(make_exchange):
    ex = make_exchange()
    ex.isolated_rows = [
        AssetRow("USDT", D(0), D(0), D(1000), D(1), "BTCUSDT"),
        AssetRow("BTC", D("0.1"), D(0), D(0), D(0), "BTCUSDT"),
    ]
    ex.risk[SCOPE] = D("0.8")
    return ex


def _snap(ex, clock, price: D) -> ScopeSnapshot:
    rows = ex.isolated_rows
    return isolated_snapshot(
        "alice", "BTCUSDT", rows, ex.risk[SCOPE], clock.now(), Reference(), {"BTC": price}
    )


def _runner(ex, journal, clock, prices, gate=None, repolled=None) -> ActionRunner:
    async def repoll(scope: str) -> ScopeSnapshot:
        if repolled is not None:
            repolled.append(clock.now())
        return _snap(ex, clock, prices["BTC"])

    return ActionRunner(
        account="alice",
        executor=LiveExecutor(ex),
        journal=journal,
        clock=clock,
        caps=CapsSettings(),
        stale_after=30,
        repoll=repoll,
        reconcile=Reconciler(journal, lambda a: ex, clock, flash_timeout=5).status_of,
        prices=lambda: dict(prices),
        slots=OrderSlots(gate, "v2", clock) if gate is not None else None,
    )


def _sold(ex) -> D:
    _name, kw = next(c for c in ex.calls if c[0] == "place_market_autorepay")
    return D(kw["amount"])


def _size_at(snap: ScopeSnapshot, price: D) -> D:
    plan = plan_action("reduce", REDUCE, snap, {**snap.prices_usdt, "BTC": price}, "x")
    assert not isinstance(plan, Skip) and plan.amount is not None
    return plan.amount


async def test_an_order_that_waited_for_its_slot_is_sized_after_the_wait(
    make_exchange, clock, journal
) -> None:
    """The market falls while the order waits for its slot in the order limit: the order is
    sized on the price after the wait, not the one it was decided on."""
    ex = _exchange(make_exchange)
    prices = {"BTC": D(20000)}
    snap = _snap(ex, clock, prices["BTC"])
    gate = WaitingGate(clock, prices, moved=D(17000), wait=0.6)
    runner = _runner(ex, journal, clock, prices, gate)
    report = await runner.run(Req("a1", "reduce", params=REDUCE), snap, paused=False)
    assert report.status == SUCCEEDED
    assert gate.reserved == [("v2:isolated_place_order", Priority.PROTECTIVE)]
    assert _sold(ex) == _size_at(snap, D(17000)) != _size_at(snap, D(20000))
    rec = (await journal.intents())[0]
    assert rec.intent.at >= snap.observed_at + 0.6  # journaled after the wait, with that size


async def test_without_slots_the_order_is_sized_before_any_wait(
    make_exchange, clock, journal
) -> None:
    """The same order without OrderSlots is sized on the prices at decision time (the
    behaviour the slots replace)."""
    ex = _exchange(make_exchange)
    prices = {"BTC": D(20000)}
    snap = _snap(ex, clock, prices["BTC"])
    runner = _runner(ex, journal, clock, prices)
    await runner.run(Req("a1", "reduce", params=REDUCE), snap, paused=False)
    assert _sold(ex) == _size_at(snap, D(20000))


async def test_data_gone_stale_during_the_wait_is_repolled_before_sizing(
    make_exchange, clock, journal
) -> None:
    """A wait longer than stale_after: the scope is re-polled before the order is sized, so it
    never goes out on stale data."""
    ex = _exchange(make_exchange)
    prices = {"BTC": D(20000)}
    snap = _snap(ex, clock, prices["BTC"])
    repolled: list[float] = []
    gate = WaitingGate(clock, prices, moved=D(18000), wait=31)
    runner = _runner(ex, journal, clock, prices, gate, repolled)
    report = await runner.run(Req("a1", "reduce", params=REDUCE), snap, paused=False)
    assert report.status == SUCCEEDED
    assert repolled and repolled[0] == snap.observed_at + 31  # before the order, after the wait
    intent = (await journal.intents())[0].intent
    assert intent.at >= repolled[0]


async def test_cancel_orders_reserves_nothing(make_exchange, clock, journal) -> None:
    """cancelOrders is reads then batches, not one call: no slot is reserved for it."""
    ex = _exchange(make_exchange)
    prices = {"BTC": D(20000)}
    gate = WaitingGate(clock, prices, moved=D(20000), wait=0.1)
    runner = _runner(ex, journal, clock, prices, gate)
    await runner.run(Req("a1", "cancelOrders"), _snap(ex, clock, D(20000)), paused=False)
    assert gate.reserved == []


def test_a_unified_account_reserves_its_v3_calls() -> None:
    """API v3 (a Unified Trading Account): a reduce reserves the MARGIN order's slot, a repay
    and the account-wide repay of a flashRepay the v3 repay's; cancelOrders nothing."""
    slots = OrderSlots(OpenGate(), "v3", ManualClock())
    assert slots.endpoint_for("reduce", UTA) == endpoint("uta_place_order", "v3")
    assert slots.endpoint_for("repay", UTA) == endpoint("uta_repay", "v3")
    assert slots.endpoint_for("flashRepay", UTA) == endpoint("uta_repay", "v3")
    assert slots.endpoint_for("cancelOrders", UTA) is None
    classic = OrderSlots(OpenGate(), "v2", ManualClock())
    assert classic.endpoint_for("reduce", "isolated:BTCUSDT") == endpoint(
        "isolated_place_order", "v2"
    )
