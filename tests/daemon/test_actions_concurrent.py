"""One account's runner serving two scopes at once: each step's legs stay on their scope."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal as D

from riskd.daemon.actions import ActionRunner
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.reconcile import Reconciler
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot, SymbolTradeRule
from riskd.settings import CapsSettings

from .test_actions_legs import Req

PRICES = {"BTC": D(20000), "ETH": D(1000)}


@dataclass
class Book:
    """One isolated scope's balances, changed by the orders taken for its symbol."""

    coin: str
    held: D
    debt: D

    @property
    def scope(self) -> str:
        return f"isolated:{self.coin}USDT"

    def snap(self, now: float) -> ScopeSnapshot:
        price = PRICES[self.coin]
        rate = self.debt * D("0.05") / (self.held * price - self.debt)
        return ScopeSnapshot(
            account="alice",
            scope=self.scope,
            risk_rate=rate,
            balances={
                self.coin: CoinBalance(self.coin, self.held, D(0), D(0), D(0)),
                "USDT": CoinBalance("USDT", D(0), D(0), self.debt, D(0)),
            },
            observed_at=now,
            maintain_margin_rate={self.coin: D("0.05"), "USDT": D("0.05")},
            prices_usdt={self.coin: price},
            base_coin=self.coin,
            quote_coin="USDT",
            # Orders of at most 1/10 of the position: the step runs leg after leg.
            trade_rules={f"{self.coin}USDT": SymbolTradeRule(max_trade_amount=self.held / 10)},
        )


async def test_two_scopes_stepping_side_by_side_keep_their_own_legs(
    make_exchange, clock, journal
) -> None:
    """Two scopes' steps, each split into several orders, run at the same time on one
    runner: every leg is sized on its own scope's re-polled data, sent for its own symbol and
    journaled under its own step."""
    ex = make_exchange()
    books = {b.scope: b for b in (Book("BTC", D("0.5"), D(9000)), Book("ETH", D(10), D(9000)))}
    seen = [0]

    async def repoll(scope: str) -> ScopeSnapshot:
        await asyncio.sleep(0)  # let the other scope's step run in between
        for _, kw in [c for c in ex.calls if c[0] == "place_market_autorepay"][seen[0] :]:
            seen[0] += 1
            book = books[f"isolated:{kw['symbol']}"]
            book.held -= kw["amount"]
            book.debt -= kw["amount"] * PRICES[book.coin]
        return books[scope].snap(clock.now())

    runner = ActionRunner(
        account="alice",
        executor=LiveExecutor(ex),
        journal=journal,
        clock=clock,
        caps=CapsSettings(),
        stale_after=30,
        repoll=repoll,
        reconcile=Reconciler(journal, lambda a: ex, clock, flash_timeout=5).status_of,
        prices=lambda: dict(PRICES),
    )
    params = {"target_risk_rate": "0.2"}
    reports = await asyncio.gather(
        *(
            runner.run(
                Req(f"step-{b.coin}", "reduce", scope=b.scope, params=params),
                b.snap(clock.now()),
                paused=False,
            )
            for b in books.values()
        )
    )
    assert all(r.status == SUCCEEDED for r in reports), [r.detail for r in reports]
    intents = await journal.intents()
    for scope in books:
        mine = [r.intent for r in intents if r.intent.action_id == f"step-{scope[9:-4]}"]
        assert len(mine) >= 2  # several legs
        assert {i.scope for i in mine} == {scope}
    orders = [kw["symbol"] for name, kw in ex.calls if name == "place_market_autorepay"]
    assert sorted(set(orders)) == ["BTCUSDT", "ETHUSDT"]
