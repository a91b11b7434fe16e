"""A reduce over maxTradeAmount on an exchange that takes batch orders: one call, one intent
with every piece's clientOid, reconciled by them after a lost answer."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from riskd.daemon.actions import ActionRunner
from riskd.daemon.exchange import BatchPlaced, CallUncertain, OrderInfo
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.journal import FAILED, SUCCEEDED
from riskd.daemon.reconcile import Reconciler
from riskd.risk.snapshot import ScopeSnapshot
from riskd.settings import CapsSettings

from .conftest import FakeExchange
from .test_actions_legs import PRICE, Book, Req


@dataclass
class BatchExchange(FakeExchange):
    """The fake exchange with ``batch-place-order``; ``refuse`` clientOid indexes it refuses."""

    refuse: frozenset[int] = frozenset()

    async def place_market_autorepay_batch(
        self, margin, *, symbol, side, amounts, client_oids
    ) -> BatchPlaced:
        self._call("batch", symbol=symbol, side=side, amounts=list(amounts), oids=list(client_oids))
        placed, refused = [], []
        for k, (amount, oid) in enumerate(zip(amounts, client_oids, strict=True)):
            if k in self.refuse:
                refused.append(f"{oid}: 43012 insufficient balance")
                continue
            order_id = f"o{len(self.history) + 1}"
            self.history.append(OrderInfo(order_id, oid, "full_fill", symbol))
            placed.append((order_id, amount))
        self._lost("batch")
        return BatchPlaced(tuple(i for i, _ in placed), tuple(refused))


def _runner(ex: BatchExchange, book: Book, journal, clock) -> ActionRunner:
    async def repoll(scope: str) -> ScopeSnapshot:
        for _, kw in [c for c in ex.calls if c[0] == "batch"]:
            if book.fill and not kw.get("applied"):
                kw["applied"] = True
                sold = sum(a for k, a in enumerate(kw["amounts"]) if k not in ex.refuse)
                book.btc -= sold
                book.debt -= sold * PRICE
        return book.snap(clock.now())

    reconciler = Reconciler(journal, lambda a: ex, clock, flash_timeout=5)
    return ActionRunner(
        account="alice",
        executor=LiveExecutor(ex),
        journal=journal,
        clock=clock,
        caps=CapsSettings(),
        stale_after=30,
        repoll=repoll,
        reconcile=reconciler.status_of,
        prices=lambda: {"BTC": PRICE},
        batch_orders=True,
    )


async def test_a_split_reduce_is_one_batch_call_and_one_intent(clock, journal) -> None:
    """Pieces of at most maxTradeAmount (0.05 BTC), one call, one intent holding every
    clientOid and every order id; the cap is journaled as a split in one batch."""
    ex, book = BatchExchange(clock=clock), Book()
    runner = _runner(ex, book, journal, clock)
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    report = await runner.run(req, book.snap(clock.now()), paused=False)
    batches = [kw for name, kw in ex.calls if name == "batch"]
    assert len(batches) == 1 and "place_market_autorepay" not in [n for n, _ in ex.calls]
    amounts = batches[0]["amounts"]
    assert len(amounts) > 1 and all(a <= D("0.05") for a in amounts)
    (intent,) = await journal.intents()
    assert intent.status == SUCCEEDED
    assert intent.intent.params["clientOids"].split(",") == batches[0]["oids"]
    assert intent.ref is not None and len(intent.ref.split(",")) == len(amounts)
    capped = [e for e in await journal.events() if e.kind == "capped"]
    assert capped and capped[0].summary.count("in one batch") == 1
    assert "is over BTCUSDT's maxTradeAmount" in capped[0].summary
    assert report.status == SUCCEEDED


async def test_orders_the_exchange_refused_are_said(clock, journal) -> None:
    """Two of the batch's orders refused: the call counts as done for the others, and the
    outcome names the refused clientOids."""
    ex, book = BatchExchange(clock=clock, refuse=frozenset({0, 1})), Book()
    runner = _runner(ex, book, journal, clock)
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    report = await runner.run(req, book.snap(clock.now()), paused=False)
    assert report.status == SUCCEEDED
    assert "refused:" in (report.detail or "") and "43012" in (report.detail or "")


async def test_a_batch_refused_whole_fails(clock, journal) -> None:
    """Every order refused: the intent fails (nothing was executed)."""
    ex, book = BatchExchange(clock=clock, refuse=frozenset(range(10))), Book()
    runner = _runner(ex, book, journal, clock)
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    await runner.run(req, book.snap(clock.now()), paused=False)
    intents = await journal.intents()
    assert intents and intents[0].status == FAILED


async def test_a_lost_batch_answer_is_reconciled_by_the_pieces_client_oids(clock, journal) -> None:
    """The batch executed but its answer was lost: the intent stays open, and reconciliation
    finds the orders by their clientOids (executed: never sent again)."""
    ex, book = BatchExchange(clock=clock), Book()
    ex.lose_answer["batch"] = CallUncertain("read timeout")
    runner = _runner(ex, book, journal, clock)
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    await runner.run(req, book.snap(clock.now()), paused=False)
    reconciler = Reconciler(journal, lambda a: ex, clock, flash_timeout=5)
    await reconciler.reconcile_all()
    (intent,) = await journal.intents()
    assert intent.status == SUCCEEDED and intent.intent.params["clientOids"]
    settled = [e for e in await journal.events() if "orders found" in e.summary]
    assert settled, "settled by the pieces' clientOids"
    assert [n for n, _ in ex.calls].count("batch") == 1
