"""The simulator's mutable state containers: balances, scopes, orders, fills, accounts.

No logic beyond small accessors: the ledger, the trading engine, liquidation and flash repay
change these. Scope ids are riskd's: ``"cross"`` and ``"isolated:BTCUSDT"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from riskd.risk.snapshot import CROSS, CoinBalance, isolated_scope, parse_scope
from riskd.sim.records import RecordStore

ZERO = Decimal(0)

OrderStatus = Literal["init", "new", "partial_fill", "full_fill", "cancelled"]
FlashStatus = Literal["BEGIN", "REPAYING", "FINISH"]


@dataclass
class Balance:
    """One coin in one scope."""

    coin: str
    ctime_ms: int
    available: Decimal = ZERO
    frozen: Decimal = ZERO
    borrow: Decimal = ZERO
    interest: Decimal = ZERO
    #: Market time (s) of the next hourly interest charge; ``None`` without debt.
    next_interest_s: float | None = None

    @property
    def total(self) -> Decimal:
        return self.available + self.frozen

    @property
    def liability(self) -> Decimal:
        return self.borrow + self.interest

    def snapshot(self) -> CoinBalance:
        return CoinBalance(self.coin, self.available, self.frozen, self.borrow, self.interest)


@dataclass
class ScopeBook:
    """The cross account or one isolated account of one user."""

    scope: str
    balances: dict[str, Balance] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return parse_scope(self.scope)[0]

    @property
    def symbol(self) -> str | None:
        return parse_scope(self.scope)[1]

    def balance(self, coin: str, now_ms: int) -> Balance:
        bal = self.balances.get(coin)
        if bal is None:
            bal = self.balances[coin] = Balance(coin, now_ms)
        return bal

    def peek(self, coin: str) -> Balance | None:
        return self.balances.get(coin)

    def snapshots(self) -> list[CoinBalance]:
        return [b.snapshot() for b in self.balances.values()]

    def has_debt(self) -> bool:
        return any(b.liability > 0 for b in self.balances.values())


@dataclass
class Order:
    """A margin order; ``side`` may also be a liquidation or system-repay side."""

    id: int
    client_oid: str
    scope: str
    symbol: str
    side: str
    order_type: str
    loan_type: str
    time_in_force: str
    source: str
    ctime_ms: int
    price: Decimal | None = None
    base_quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    status: OrderStatus = "new"
    fill_price: Decimal = ZERO
    fill_quantity: Decimal = ZERO
    fill_total: Decimal = ZERO
    frozen_coin: str | None = None
    frozen_amount: Decimal = ZERO
    #: Market second at which an accepted taker order fills (a scenario's settlement delay);
    #: ``None`` once it has (or for resting limit orders).
    settle_s: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status in ("init", "new", "partial_fill")

    @property
    def buys(self) -> bool:
        return self.side.endswith("buy")


@dataclass(frozen=True, slots=True)
class Fill:
    id: int
    order_id: int
    scope: str
    symbol: str
    side: str
    order_type: str
    fill_price: Decimal
    fill_quantity: Decimal
    fill_total: Decimal
    fee: Decimal
    fee_ccy: str
    ctime_ms: int


@dataclass
class FlashRepay:
    """An asynchronous flash repay: BEGIN → REPAYING (+1 s) → FINISH (+2 s, when it sells)."""

    id: int
    scope: str
    coin: str | None
    created_s: float
    status: FlashStatus = "BEGIN"


@dataclass
class PendingRepay:
    """A repay accepted with a settlement delay: its amount is frozen until ``due_s``."""

    id: int
    scope: str
    coin: str
    amount: Decimal
    due_s: float


@dataclass
class Account:
    """One user (one API key) with its cross and isolated accounts."""

    name: str
    uid: str
    records: RecordStore
    scopes: dict[str, ScopeBook] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    flash_repays: list[FlashRepay] = field(default_factory=list)
    pending_repays: list[PendingRepay] = field(default_factory=list)
    #: A Unified Trading Account: the classic margin API answers 40085 for it.
    unified: bool = False
    #: UTA only: the mgnRatio at which the simulator liquidates it (``None``: the default of
    #: :mod:`riskd.sim.uta`, 1).
    uta_liquidation_level: Decimal | None = None
    #: v2 ``clientOid`` of borrows and isolated repays → the loan / repay id it created.
    client_oids: dict[str, int] = field(default_factory=dict)

    def scope(self, scope: str) -> ScopeBook:
        book = self.scopes.get(scope)
        if book is None:
            parse_scope(scope)
            book = self.scopes[scope] = ScopeBook(scope)
        return book

    def cross(self) -> ScopeBook:
        return self.scope(CROSS)

    def isolated(self, symbol: str) -> ScopeBook:
        return self.scope(isolated_scope(symbol))

    def open_orders(self, scope: str | None = None) -> list[Order]:
        return [o for o in self.orders if o.is_open and (scope is None or o.scope == scope)]

    def order(self, scope: str, order_id: int | None, client_oid: str | None) -> Order | None:
        for o in self.orders:
            if o.scope != scope:
                continue
            if order_id is not None and o.id == order_id:
                return o
            if order_id is None and client_oid is not None and o.client_oid == client_oid:
                return o
        return None
