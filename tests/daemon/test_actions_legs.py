"""A step with a target runs leg after leg: split orders, each its own intent, never blind."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D

from riskd.daemon.actions import ActionRunner
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.reconcile import Reconciler
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot, SymbolTradeRule
from riskd.settings import CapsSettings

SCOPE = "isolated:BTCUSDT"
PRICE = D(20000)


@dataclass(frozen=True)
class Req:
    id: str
    kind: str
    scope: str = SCOPE
    rule: str = "r1"
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class Book:
    """The scope's balances, changed by the orders the fake exchange takes."""

    btc: D = D("0.5")
    debt: D = D(8000)
    fill: bool = True
    min_qty: D | None = None

    def snap(self, now: float) -> ScopeSnapshot:
        rate = self.debt * D("0.05") / (self.btc * PRICE - self.debt)
        return ScopeSnapshot(
            account="alice",
            scope=SCOPE,
            risk_rate=rate,
            balances={
                "BTC": CoinBalance("BTC", self.btc, D(0), D(0), D(0)),
                "USDT": CoinBalance("USDT", D(0), D(0), self.debt, D(0)),
            },
            observed_at=now,
            maintain_margin_rate={"BTC": D("0.05"), "USDT": D("0.05")},
            prices_usdt={"BTC": PRICE},
            base_coin="BTC",
            quote_coin="USDT",
            trade_rules={
                "BTCUSDT": SymbolTradeRule(
                    max_trade_amount=D("0.05"), min_trade_amount=self.min_qty
                )
            },
        )


def _runner(ex, book: Book, journal, clock, caps: CapsSettings | None = None) -> ActionRunner:
    seen = [0]

    async def repoll(scope: str) -> ScopeSnapshot:
        for _, kw in [c for c in ex.calls if c[0] == "place_market_autorepay"][seen[0] :]:
            seen[0] += 1
            if book.fill:
                book.btc -= kw["amount"]
                book.debt -= kw["amount"] * PRICE
        return book.snap(clock.now())

    reconciler = Reconciler(journal, lambda a: ex, clock, flash_timeout=5)
    return ActionRunner(
        account="alice",
        executor=LiveExecutor(ex),
        journal=journal,
        clock=clock,
        caps=caps or CapsSettings(),
        stale_after=30,
        repoll=repoll,
        reconcile=reconciler.status_of,
        prices=lambda: {"BTC": PRICE},
    )


async def test_an_order_over_max_trade_amount_goes_out_in_legs(
    make_exchange, clock, journal
) -> None:
    """A reduce bigger than maxTradeAmount is split: each leg its own intent and clientOid,
    the cap journaled, until the target is met."""
    ex, book = make_exchange(), Book()
    runner = _runner(ex, book, journal, clock)
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    report = await runner.run(req, book.snap(clock.now()), paused=False)
    orders = [kw for name, kw in ex.calls if name == "place_market_autorepay"]
    assert len(orders) >= 2 and all(o["amount"] <= D("0.05") for o in orders)
    assert len({o["client_oid"] for o in orders}) == len(orders)
    intents = await journal.intents()
    assert len(intents) == len(orders) and all(r.status == SUCCEEDED for r in intents)
    assert "capped" in [e.kind for e in await journal.events()]
    assert report.status == SUCCEEDED and "leg(s)" in report.detail


async def test_a_leg_not_seen_done_is_not_followed_by_another(
    make_exchange, clock, journal
) -> None:
    """When the re-poll does not show the order filled, no further leg is sent (never twice
    by accident): the next run decides again on fresh data."""
    ex, book = make_exchange(), Book(fill=False)
    runner = _runner(ex, book, journal, clock)
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    await runner.run(req, book.snap(clock.now()), paused=False)
    assert [name for name, _ in ex.calls].count("place_market_autorepay") == 1


async def test_the_action_cap_bounds_all_legs_together(make_exchange, clock, journal) -> None:
    """max_action_usdt bounds the sum of the legs of one step, not each leg alone."""
    ex, book = make_exchange(), Book()
    runner = _runner(ex, book, journal, clock, CapsSettings(max_action_usdt=D(1500)))
    req = Req("a1", "reduce", params={"target_distance": D("0.3")})
    await runner.run(req, book.snap(clock.now()), paused=False)
    orders = [kw for name, kw in ex.calls if name == "place_market_autorepay"]
    assert sum(o["amount"] for o in orders) * PRICE <= D(1500)
    assert len(orders) == 2


async def test_a_met_target_ends_the_run_quietly(make_exchange, clock, journal) -> None:
    """When a leg reaches the target, the run ends without a 'skipped' entry; a shortfall
    (here: the rest is below the minimum order) is journaled with its reason."""
    ex, book = make_exchange(), Book()
    runner = _runner(ex, book, journal, clock)
    await runner.run(
        Req("a1", "reduce", params={"target_distance": D("0.3")}),
        book.snap(clock.now()),
        paused=False,
    )
    assert "skipped" not in [e.kind for e in await journal.events()]
    ex2, book2 = make_exchange(), Book(btc=D("0.12"), debt=D(2200), min_qty=D("0.03"))
    runner2 = _runner(ex2, book2, journal, clock)
    await runner2.run(
        Req("a2", "reduce", params={"target_distance": D("0.99")}),
        book2.snap(clock.now()),
        paused=False,
    )
    skipped = [e for e in await journal.events() if e.kind == "skipped"]
    assert skipped and "minimum order" in skipped[-1].summary
