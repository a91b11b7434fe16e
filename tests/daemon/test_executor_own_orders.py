"""cancelOrders leaves riskd's own protective orders working (they are still filling)."""

from __future__ import annotations

from riskd.daemon.exchange import OrderInfo
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.plans import ActionPlan, client_oid, is_own_order
from riskd.sizing.kinds import ActionKind

from .conftest import FakeExchange


async def _nothing(ref: str, summary: str) -> None:
    return None


def test_own_orders_are_known_by_their_client_oid() -> None:
    """An order carrying riskd's clientOid is its own; a user's order or none is not."""
    assert is_own_order(client_oid("de-leverage@main/cross#1.1.4"))
    assert not is_own_order("my-bot-42")
    assert not is_own_order(None)
    assert not is_own_order("")


async def test_cancel_keeps_riskds_own_order_and_cancels_the_users(clock) -> None:
    """A settling market order of riskd is not cancelled; the user's resting order is."""
    ours = OrderInfo("o1", client_oid("r@main/isolated:BTCUSDT#1.1.4"), "new", "BTCUSDT")
    theirs = OrderInfo("o2", "user-order", "new", "BTCUSDT")
    ex = FakeExchange(clock=clock, orders={"BTCUSDT": [ours, theirs]})
    plan = ActionPlan(
        "r@main/isolated:BTCUSDT#1.1.1",
        ActionKind.CANCEL_ORDERS,
        "main",
        "isolated:BTCUSDT",
        symbols=("BTCUSDT",),
    )
    result = await LiveExecutor(ex).execute(plan, _nothing)
    assert result.status == SUCCEEDED
    assert [o.order_id for o in ex.orders["BTCUSDT"]] == ["o1"]
    assert "1 of riskd's own protective order(s) left working" in result.detail
