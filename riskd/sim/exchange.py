"""The exchange core: accounts, market, ledger, orders, liquidation and flash repay together,
and the catch-up that runs the time-driven processes up to "now" of the market clock.

Catch-up runs on every request and on ``control.advance``: it walks market time from the last
catch-up to now in steps of ``tick_s`` (at most ``MAX_STEPS`` steps; coarser when the gap is
longer), and at each step charges due interest, moves flash repays along, settles delayed
repays and orders, fills crossed limit orders and liquidates scopes at the liquidation ratio.
When no price moves and nothing is pending it takes a single step.

The scenario sets the catalog's tiers (``[tiers]``), the feed stops (``[[feed_stops]]``), the
settlement delays (``[settlement]``) and what each account it names starts with (funding,
positions, open orders).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal

from riskd.clock import Clock
from riskd.sim.book import Account
from riskd.sim.catalog import Catalog, build_catalog, with_max_trade, with_tiers
from riskd.sim.errors import SimError
from riskd.sim.flashrepay import FlashRepayer
from riskd.sim.ledger import Ledger
from riskd.sim.liquidation import Liquidator
from riskd.sim.market import Market, Segment
from riskd.sim.orders import OrderRequest, Trading
from riskd.sim.records import IdSource, RecordStore
from riskd.sim.scenario import Funding, OrderSpec, PositionSpec, Scenario
from riskd.sim.settlement import RepaySettler

MAX_STEPS = 2000


class Exchange:
    """Everything the simulated exchange knows, driven by one market clock."""

    def __init__(
        self, clock: Clock, scenario: Scenario, seed: int = 0, tick_s: float = 1.0
    ) -> None:
        self.clock = clock
        self.scenario = scenario
        self.tick_s = tick_s
        catalog = with_tiers(build_catalog(scenario.markets), scenario.tiers)
        self.catalog: Catalog = with_max_trade(catalog, scenario.max_trade_amounts)
        self.start_s = clock.now()
        self.market = Market(
            self.catalog,
            scenario.markets,
            scenario.paths,
            self.start_s,
            seed=scenario.seed * 1_000_003 + seed,
            feed_stops=scenario.feed_stops,
        )
        self.ids = IdSource()
        self.ledger = Ledger(self.catalog, self.market)
        settle = scenario.settlement
        self.trading = Trading(self.ledger, self.ids, settle.order_s)
        self.liquidator = Liquidator(self.trading)
        self.flash = FlashRepayer(self.trading, self.ids, settle.flash_repay_s)
        self.repays = RepaySettler(self.ledger, self.ids, settle.repay_s)
        self.accounts: dict[str, Account] = {}
        self._uids = iter(range(8_100_000_001, 9_000_000_000))
        self.last_s = self.start_s

    # ------------------------------------------------------------------ time
    def now(self) -> float:
        return self.clock.now()

    def elapsed(self) -> float:
        return self.now() - self.start_s

    def catch_up(self) -> None:
        """Run interest, flash repays, limit fills and liquidation checks up to now."""
        now = self.clock.now()
        last = self.last_s
        if now <= last:
            return
        fine = self._anything_pending() and (
            self.market.moves_between(last, now) or self._settling()
        )
        steps = min(MAX_STEPS, max(1, math.ceil((now - last) / self.tick_s))) if fine else 1
        for i in range(1, steps + 1):
            self._step(now if i == steps else last + (now - last) * i / steps)
        self.last_s = now

    def catch_up_now(self) -> None:
        """Catch up, then re-run the checks at now (after a price was set at this instant)."""
        self.catch_up()
        self._step(self.last_s)

    def _anything_pending(self) -> bool:
        return any(
            a.open_orders()
            or self.flash.pending(a)
            or self.repays.pending(a)
            or self.ledger.scopes_with_debt(a)
            for a in self.accounts.values()
        )

    def _settling(self) -> bool:
        return any(
            self.flash.pending(a) or self.repays.pending(a) or self.trading.settling(a)
            for a in self.accounts.values()
        )

    def _step(self, t: float) -> None:
        for account in self.accounts.values():
            self.ledger.accrue(account, t)
            self.flash.advance(account, t)
            self.repays.advance(account, t)
            self.trading.match(account, t)
            self.liquidator.check(account, t)

    # ------------------------------------------------------------------ accounts
    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            raise KeyError(f"no simulated account named {name!r}") from None

    def open_account(
        self, name: str, funding: Funding | None = None, unified: bool | None = None
    ) -> Account:
        if name in self.accounts:
            raise ValueError(f"account {name!r} already exists")
        self.catch_up()
        account = Account(name, str(next(self._uids)), RecordStore(self.ids))
        self.accounts[name] = account
        setup = self.scenario.account(name)
        account.unified = unified if unified is not None else bool(setup and setup.unified)
        if setup is not None and account.unified:
            account.uta_liquidation_level = setup.uta_liquidation_level
        if funding is None:
            funding = setup.funding if setup and setup.funding is not None else None
        now = self.now()
        try:
            for scope, coins in (funding if funding is not None else self.scenario.funding).items():
                book = account.scope(scope)
                for coin, amount in coins.items():
                    self.ledger.transfer_in(account, book, coin, amount, now)
            if setup is not None:
                for position in setup.positions:
                    self.open_position(account, position)
                for order in setup.orders:
                    self.open_order(account, order)
        except (SimError, ValueError) as exc:
            del self.accounts[name]
            raise ValueError(f"cannot set up account {name!r}: {exc}") from None
        return account

    def open_position(self, account: Account, position: PositionSpec) -> None:
        """Borrow and trade so that the scope reaches ``position.leverage`` (see scenario)."""
        now = self.now()
        book = account.scope(position.scope)
        spec = self.catalog.symbol(position.symbol)
        equity = self.ledger.valuation(book, now).equity
        value = equity * (position.leverage - 1)
        price = self.market.price(spec.symbol, now)
        # The set-up trades in orders of at most the symbol's maxTradeAmount (a scenario's
        # [symbols] table may set it low), 1 % under it for a buy sized in quote.
        if position.side == "long":
            amount = value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            self.ledger.borrow(account, book, spec.quote, amount, now)
            largest = (spec.max_trade_amount * price * Decimal("0.99")).quantize(
                Decimal("0.01"), rounding=ROUND_DOWN
            )
            for piece in _pieces(amount, largest):
                buy = OrderRequest(
                    spec.symbol, "buy", "market", "normal", "gtc", quote_amount=piece
                )
                self.trading.place(account, book, buy, now, settle=False)
        else:
            qty = (value / price).quantize(Decimal(1).scaleb(-spec.quantity_scale), ROUND_DOWN)
            self.ledger.borrow(account, book, spec.base, qty, now)
            for piece in _pieces(qty, spec.max_trade_amount):
                sell = OrderRequest(
                    spec.symbol, "sell", "market", "normal", "gtc", base_quantity=piece
                )
                self.trading.place(account, book, sell, now, settle=False)

    def open_order(self, account: Account, spec: OrderSpec) -> None:
        """Place a resting limit order of the scenario's set-up (its cost is frozen)."""
        req = OrderRequest(spec.symbol, spec.side, "limit", "normal", "gtc", spec.price, spec.size)
        self.trading.place(account, account.scope(spec.scope), req, self.now())

    # ------------------------------------------------------------------ crash on request
    def start_paths(self, paths: Mapping[str, Sequence[Segment]]) -> float:
        """From now on, each named symbol follows its new path from its current price; returns
        the market second at which the last of them ends."""
        self.catch_up()
        now = self.now()
        for symbol in paths:
            self.catalog.symbol(symbol)
        for symbol, segments in paths.items():
            self.market.start_path(symbol, segments, now)
        self.catch_up_now()
        return max((self.market.path_end_s(s) for s in paths), default=now)

    # ------------------------------------------------------------------ queries
    def prices(self) -> Mapping[str, Decimal]:
        return self.market.prices(self.now())

    def feed(self) -> dict[str, tuple[Decimal, float, bool]]:
        """What the index feed publishes now: symbol → (price, its market time, live)."""
        return self.market.feed(self.now())


def _pieces(amount: Decimal, largest: Decimal) -> list[Decimal]:
    """``amount`` in orders of at most ``largest`` (the last one takes the rest)."""
    if largest <= 0:
        return [amount]
    out: list[Decimal] = []
    while amount > largest:
        out.append(largest)
        amount -= largest
    return [*out, amount] if amount > 0 else out
