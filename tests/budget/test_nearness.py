"""RateBudget: the scope nearest liquidation gets the next slot; slots reserved ahead of a call."""

from __future__ import annotations

import asyncio

import pytest

from riskd.bitget.endpoints import endpoint
from riskd.bitget.gate import OpenGate, Priority, request_nearness, slot_hold
from riskd.budget.accounting import Ticket, WaitQueue
from riskd.budget.budget import RESERVED_FOR_S

from .conftest import SteppedClock, settle

PROT = Priority.PROTECTIVE
ORDER = endpoint("isolated_place_order", "v2")  # 5/s on the account (UID)


async def _full_window(budget) -> int:
    """Fill the order window; the number of calls it took."""
    share = budget.share(budget.keys_for(ORDER)[0].rule)
    for _ in range(share.capacity):
        await budget.acquire(ORDER, PROT)
    return share.capacity


def test_tickets_sort_by_priority_then_nearness_then_arrival() -> None:
    """A protective ticket of a far scope still goes before a poll; among protective ones the
    nearest liquidation goes first, and equal nearness keeps arrival order."""
    q = WaitQueue()
    poll = Ticket.make(Priority.POLL, 0, 0.0)
    far = Ticket.make(PROT, 1, 0.4)
    near = Ticket.make(PROT, 2, 0.05)
    near_later = Ticket.make(PROT, 3, 0.05)
    for t in (poll, far, near_later, near):
        q.add(t)
    order = []
    while (first := q.first()) is not None:
        order.append(first)
        q.remove(first)
    assert order == [near, near_later, far, poll]


async def test_nearest_liquidation_gets_the_next_order_slot(make_budget) -> None:
    """With the order window full, three waiting orders are admitted nearest-liquidation
    first, not in the order they arrived."""
    clock = SteppedClock()
    budget = make_budget(clock)
    await _full_window(budget)
    admitted: list[str] = []

    async def order(name: str, distance: float) -> None:
        with request_nearness(distance):
            await budget.acquire(ORDER, PROT)
        admitted.append(name)

    tasks = [
        asyncio.create_task(order(name, d))
        for name, d in (("far", 0.30), ("nearest", 0.02), ("mid", 0.10))
    ]
    await settle()
    assert admitted == []
    await clock.advance(1.1)
    await asyncio.gather(*tasks)
    assert admitted == ["nearest", "mid", "far"]


async def test_a_reserved_slot_lets_its_call_pass_without_waiting(make_budget) -> None:
    """A slot reserved in a hold waits for the window; the call that uses it then passes at
    once and is not counted twice; outside the hold the next call waits again."""
    clock = SteppedClock()
    budget = make_budget(clock)
    capacity = await _full_window(budget)
    waited = asyncio.Event()

    async def reserve_then_call() -> float:
        with slot_hold() as hold:
            await budget.reserve(ORDER, PROT)
            waited.set()
            assert len(hold) == 1
            before = clock.now()
            await budget.acquire(ORDER, PROT)  # the call itself: the reserved slot
            assert len(hold) == 0
            return clock.now() - before

    task = asyncio.create_task(reserve_then_call())
    await settle()
    assert not waited.is_set()  # the reservation waits for the full window
    await clock.advance(1.1)
    assert await task == 0.0
    status = (await budget.status()).key("v2:isolated_place_order", "main")
    assert status is not None and status.used == 1  # counted once, at the reservation
    assert status.admitted_protective == capacity + 1


async def test_reserve_needs_a_hold() -> None:
    """Reserving outside a slot_hold() is a programming error, said at once."""
    with pytest.raises(RuntimeError, match="slot_hold"):
        await OpenGate().reserve(ORDER, PROT)


async def test_a_reservation_used_late_is_dropped_and_the_call_counts_its_own(
    make_budget,
) -> None:
    """A call made longer than RESERVED_FOR_S after its slot was reserved takes a slot of its
    own (counted at the call), so the budget never counts ahead of the exchange."""

    clock = SteppedClock()
    budget = make_budget(clock)
    with slot_hold() as hold:
        await budget.reserve(ORDER, PROT)
        await clock.advance(RESERVED_FOR_S * 2)
        await budget.acquire(ORDER, PROT)
        assert len(hold) == 0
    status = (await budget.status()).key("v2:isolated_place_order", "main")
    assert status is not None and status.used == 2
