"""The backtest's exchange: the simulator's own core (ledger, orders, liquidation, flash repay),
without its HTTP app, priced by the candle path.

:class:`riskd.sim.exchange.Exchange` holds the simulator's :class:`~riskd.sim.ledger.Ledger`,
:class:`~riskd.sim.orders.Trading`, :class:`~riskd.sim.liquidation.Liquidator` and
:class:`~riskd.sim.flashrepay.FlashRepayer`; the backtest pins the symbol's price at each path
point (``Market.set_price``) and drives them itself, so "liquidated" means exactly what it
means in the simulator (risk rate ≥ the liquidation ratio → the simulator's liquidation).
The per-point check uses :func:`riskd.risk.math.value`, the formula the simulator's ledger uses,
on the same balances, and calls the simulator's liquidator only when it fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from types import MappingProxyType

from riskd.backtest.snapshot import AccountSnapshot
from riskd.clock import ManualClock
from riskd.risk import math as riskmath
from riskd.risk.snapshot import USDT, CoinBalance, ScopeSnapshot, SymbolTradeRule
from riskd.sim.book import Account, ScopeBook
from riskd.sim.exchange import Exchange
from riskd.sim.market import q8
from riskd.sim.scenario import Scenario
from riskd.sim.scenario_types import CoinTier, SymbolTier, Tiers

ZERO = Decimal(0)
ONE = Decimal(1)
_Q8 = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class Liquidation:
    at: float
    scope: str
    price: Decimal
    equity_before: Decimal
    equity_after: Decimal


def _tiers(snap: AccountSnapshot) -> Tiers:
    cross: dict[str, CoinTier] = {}
    isolated: dict[str, SymbolTier] = {}
    for scope, spec in snap.scopes.items():
        lev = spec.leverage
        if scope == "cross":
            coins = set(spec.balances) | {USDT, snap.base}
            for coin in coins:
                m = spec.mmr.get(coin) if isinstance(spec.mmr, dict) else spec.mmr
                if m is not None or lev is not None:
                    cross[coin] = CoinTier(mmr=m, leverage=lev)
        else:
            m = None if isinstance(spec.mmr, dict) else spec.mmr
            if isinstance(spec.mmr, dict):
                m = spec.mmr.get(snap.base) or spec.mmr.get(USDT)
            if m is not None or lev is not None:
                isolated[snap.symbol] = SymbolTier(mmr=m, leverage=lev)
    return Tiers(MappingProxyType(cross), MappingProxyType(isolated))


@dataclass(frozen=True, slots=True)
class _Skeleton:
    balances: MappingProxyType[str, CoinBalance]
    values: tuple[CoinBalance, ...]
    open_orders: int


class BacktestExchange:
    """One account of one snapshot on the simulator's exchange core, at candle prices."""

    def __init__(
        self, snap: AccountSnapshot, start_s: float, price: Decimal, cache: bool = True
    ) -> None:
        self.snap = snap
        self.symbol = snap.symbol
        self.base = snap.base
        self.clock = ManualClock(start_s)
        scenario = Scenario(
            "backtest",
            MappingProxyType({snap.symbol: price}),
            tiers=_tiers(snap),
            funding=MappingProxyType({}),
        )
        self.ex = Exchange(self.clock, scenario)
        self.account: Account = self.ex.open_account(snap.account, MappingProxyType({}))
        now_ms = round(start_s * 1000)
        for scope, spec in snap.scopes.items():
            book = self.account.scope(scope)
            for coin, given in spec.balances.items():
                bal = book.balance(coin, now_ms)
                bal.available, bal.frozen = given.available, given.frozen
                bal.borrow, bal.interest = given.borrow, given.interest
        self.books: tuple[ScopeBook, ...] = tuple(self.account.scope(s) for s in snap.scopes)
        self.mmr: dict[str, dict[str, Decimal]] = {
            b.scope: self.ex.ledger.mmr(b) for b in self.books
        }
        for b in self.books:
            self.mmr[b.scope].setdefault(USDT, self.mmr[b.scope].get(self.base, ZERO))
            self.mmr[b.scope].setdefault(self.base, self.mmr[b.scope][USDT])
        self.ratio = self.ex.catalog.liquidation_risk_ratio
        sym = self.ex.catalog.symbol(self.symbol)
        self.trade_rule = SymbolTradeRule(
            quantity_scale=sym.quantity_scale,
            price_scale=sym.price_scale,
            min_trade_amount=sym.min_trade_amount,
            max_trade_amount=sym.max_trade_amount,
            min_trade_usdt=sym.min_trade_usdt,
            taker_fee_rate=sym.taker_fee_rate,
        )
        self.price = q8(price)
        #: The highest risk rate of any scope at any path point so far.
        self.max_rate = ZERO
        self._terms: list[tuple[str, Decimal, Decimal, Decimal, Decimal]] | None = None
        self.ex.market.set_price(self.symbol, self.price)
        self._pinned = self.price
        self._prices = {self.base: self.price, USDT: ONE}
        self._prices_view = MappingProxyType(self._prices)
        #: Per scope, the parts of its snapshot that only an action, a flash repay or a
        #: liquidation changes (see :meth:`touched`); ``cache=False`` rebuilds them at every
        #: snapshot (the reference the tests compare with).
        self.cache = cache
        self._skeletons: dict[str, _Skeleton] = {}
        self._trade_rules = MappingProxyType({self.symbol: self.trade_rule})
        self._mmr_views = {scope: MappingProxyType(m) for scope, m in self.mmr.items()}

    # ------------------------------------------------------------------ market
    def set_price(self, t: float, price: Decimal) -> None:
        """Move market time to ``t`` and the symbol's price (8 decimals, as the simulator
        keeps it). The simulator's market is told only when it is about to act
        (:meth:`sync`): pinning a price there on every path point costs more than the rest."""
        self.clock.set(t)
        price = q8(price)
        if price != self.price:
            self.price = price
            self._prices = {self.base: price, USDT: ONE}
            self._prices_view = MappingProxyType(self._prices)

    def sync(self) -> None:
        """Pin the current price in the simulator's market before it trades or liquidates."""
        if self._pinned != self.price:
            self.ex.market.set_price(self.symbol, self.price)
            self._pinned = self.price

    def prices(self) -> dict[str, Decimal]:
        return self._prices

    # ------------------------------------------------------------------ figures
    def valuation(self, book: ScopeBook) -> riskmath.Valuation:
        return riskmath.value(book.snapshots(), self.prices(), self.mmr[book.scope])

    def equity(self) -> Decimal:
        return sum((self.valuation(b).equity for b in self.books), ZERO)

    def net_base(self) -> Decimal:
        """The account's net base-coin exposure (> 0: long, hurt by a fall)."""
        total = ZERO
        for b in self.books:
            bal = b.peek(self.base)
            if bal is not None:
                total += bal.total - bal.liability
        return total

    # ------------------------------------------------------------------ fast risk
    def touched(self) -> None:
        """Balances changed (an action, a flash repay, a liquidation): re-read them."""
        self._terms = None
        self._skeletons.clear()

    def _risk_terms(self) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
        """Per scope: (scope, constant and per-price parts of the risk rate's numerator and
        of the equity) — :func:`riskd.risk.math.value` for two coins, base and USDT."""
        if self._terms is None:
            terms = []
            for book in self.books:
                mmr = self.mmr[book.scope]
                n0 = n1 = e0 = e1 = ZERO
                for coin, bal in book.balances.items():
                    if coin == USDT:
                        n0 += bal.liability * mmr[USDT]
                        e0 += bal.total - bal.liability
                    else:
                        n1 += bal.liability * mmr[coin]
                        e1 += bal.total - bal.liability
                terms.append((book.scope, n0, n1, e0, e1))
            self._terms = terms
        return self._terms

    def rates(self, price: Decimal) -> list[tuple[str, Decimal]]:
        """Each scope's risk rate at ``price`` (same figure as :func:`riskmath.value`)."""
        out = []
        for scope, n0, n1, e0, e1 in self._risk_terms():
            n = n0 + n1 * price
            if n <= 0:
                out.append((scope, ZERO))
                continue
            e = e0 + e1 * price
            out.append((scope, riskmath.INFINITE if e <= 0 else n / e))
        return out

    def first_crossing(self, p0: Decimal, p1: Decimal) -> Decimal | None:
        """The first price on the straight move ``p0 → p1`` at which a scope's risk rate
        reaches the liquidation ratio (8 decimals, rounded toward ``p1``), or ``None``.

        With ``n(p) = n0 + n1·p`` (numerator) and ``e(p) = e0 + e1·p`` (equity), the rate
        reaches ``r`` where ``n(p) = r·e(p)``: ``p = (r·e0 − n0) / (n1 − r·e1)``.
        """
        r = self.ratio
        best: Decimal | None = None
        for _, n0, n1, e0, e1 in self._risk_terms():
            if n0 + n1 * p1 <= 0:
                continue
            if (n0 + n1 * p1) < r * (e0 + e1 * p1):
                continue  # still under the ratio at the end of the move
            denom = n1 - r * e1
            p = p1 if denom == 0 else (r * e0 - n0) / denom
            if (p - p0) * (p1 - p0) < 0:
                p = p0  # already there at the start
            elif abs(p - p0) > abs(p1 - p0):
                p = p1
            p = p.quantize(_Q8, rounding=ROUND_FLOOR if p1 < p0 else ROUND_CEILING)
            if best is None or abs(p - p0) < abs(best - p0):
                best = p
        return best

    def worst_rate(self, price: Decimal) -> Decimal:
        return max((r for _, r in self.rates(price)), default=ZERO)

    def _skeleton(self, book: ScopeBook) -> _Skeleton:
        """The price-free parts of ``book``'s snapshot, built once per change of balances."""
        sk = self._skeletons.get(book.scope) if self.cache else None
        if sk is None:
            balances = {
                c: CoinBalance(c, b.available, b.frozen, b.borrow, b.interest)
                for c, b in book.balances.items()
            }
            orders = sum(1 for o in self.account.orders if o.scope == book.scope and o.is_open)
            sk = _Skeleton(MappingProxyType(balances), tuple(balances.values()), orders)
            if self.cache:
                self._skeletons[book.scope] = sk
        return sk

    def snapshot(self, book: ScopeBook, t: float) -> ScopeSnapshot:
        sk = self._skeleton(book)
        mmr = self.mmr[book.scope]
        rate = riskmath.value(sk.values, self._prices, mmr).risk_rate
        iso = book.symbol is not None
        return ScopeSnapshot(
            self.account.name,
            book.scope,
            rate,
            sk.balances,
            t,
            liquidation_risk_ratio=self.ratio,
            maintain_margin_rate=self._mmr_views[book.scope],
            prices_usdt=self._prices_view,
            open_orders=sk.open_orders,
            base_coin=self.base if iso else None,
            quote_coin=USDT if iso else None,
            trade_rules=self._trade_rules,
            local_risk_rate=rate,
        )

    # ------------------------------------------------------------------ time-driven
    def settle(self, t: float) -> list[Liquidation]:
        """Move flash repays along and liquidate scopes at the liquidation ratio, at ``t``."""
        self.clock.set(t)
        if self.ex.flash.pending(self.account):
            self.sync()
            self.ex.flash.advance(self.account, t)
            self.touched()
        out: list[Liquidation] = []
        for scope, rate in self.rates(self.price):
            if rate > self.max_rate:
                self.max_rate = rate
            if rate >= self.ratio:
                book = self.account.scope(scope)
                before = self.equity()
                self.sync()
                self.ex.liquidator.liquidate(self.account, book, t)
                self.touched()
                out.append(Liquidation(t, scope, self.price, before, self.equity()))
        return out
