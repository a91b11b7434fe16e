"""Snapshots of account data: what the poller hands the rules engine.

A snapshot is one *scope* of one account: the cross account, one isolated symbol, or the
whole of a Unified Trading Account. Scope ids are strings: ``"cross"``,
``"isolated:BTCUSDT"`` or ``"uta"``. Every snapshot carries the
time its data was observed (``observed_at``, clock seconds; the oldest of its parts), so
that staleness is a property of the data, judged against ``now`` by whoever holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

ScopeKind = Literal["cross", "isolated", "uta"]
CROSS = "cross"
#: The one scope of a Unified Trading Account (account-wide margin, API v3).
UTA = "uta"
ISOLATED_PREFIX = "isolated:"
USDT = "USDT"

_EMPTY: Mapping[str, Decimal] = MappingProxyType({})


def isolated_scope(symbol: str) -> str:
    return f"{ISOLATED_PREFIX}{symbol}"


def parse_scope(scope: str) -> tuple[ScopeKind, str | None]:
    """``"cross"`` → ``("cross", None)``; ``"uta"`` → ``("uta", None)``;
    ``"isolated:BTCUSDT"`` → ``("isolated", "BTCUSDT")``."""
    if scope == CROSS:
        return "cross", None
    if scope == UTA:
        return "uta", None
    if scope.startswith(ISOLATED_PREFIX) and len(scope) > len(ISOLATED_PREFIX):
        return "isolated", scope[len(ISOLATED_PREFIX) :]
    raise ValueError(f"not a scope: {scope!r} (expected 'cross', 'uta' or 'isolated:SYMBOL')")


@dataclass(frozen=True, slots=True)
class CoinBalance:
    """One coin's balance in one scope, as the assets endpoints report it."""

    coin: str
    available: Decimal
    frozen: Decimal
    borrow: Decimal
    interest: Decimal

    @property
    def total_amount(self) -> Decimal:
        return self.available + self.frozen

    @property
    def liability(self) -> Decimal:
        return self.borrow + self.interest

    @property
    def net(self) -> Decimal:
        return self.available + self.frozen - self.borrow - self.interest


@dataclass(frozen=True, slots=True)
class SymbolTradeRule:
    """What the exchange accepts in an order on one symbol (``/public/currencies``).

    ``None`` means unknown. Scales are the number of decimals the exchange accepts:
    ``quantity_scale`` for a base quantity, ``price_scale`` for a price and for the quote
    amount of a market buy. Minimums are refused with codes 45111 (``min_trade_amount``, in the
    base coin) and 45110 (``min_trade_usdt``, the order's value).
    """

    quantity_scale: int | None = None
    price_scale: int | None = None
    min_trade_amount: Decimal | None = None
    max_trade_amount: Decimal | None = None
    min_trade_usdt: Decimal | None = None
    taker_fee_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class UtaFigures:
    """The account-wide figures of a Unified Trading Account (``/api/v3/account/assets``, USD).

    ``mgn_ratio``: the exchange's margin ratio (higher = riskier); ``liquidation_level``: the
    ``mgnRatio`` at which the account is liquidated (a setting: the real level is unconfirmed).
    The scope's ``risk_rate`` is ``mgn_ratio / liquidation_level`` (1 = liquidation)."""

    mgn_ratio: Decimal
    mmr: Decimal
    imr: Decimal
    eff_equity: Decimal
    account_equity: Decimal
    liquidation_level: Decimal
    #: Per coin: equity (balance − debt), available, debt, in the coin.
    coin_equity: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)


_NO_RULES: Mapping[str, SymbolTradeRule] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ScopeSnapshot:
    """Everything known about one scope of one account at one moment."""

    account: str
    scope: str
    risk_rate: Decimal
    balances: Mapping[str, CoinBalance]
    observed_at: float
    warning_risk_ratio: Decimal = Decimal("0.8")
    liquidation_risk_ratio: Decimal = Decimal("1")
    #: Maintenance margin rate per coin (cross: each coin's tier; isolated: the symbol's).
    maintain_margin_rate: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    leverage: Decimal | None = None
    max_borrowable: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    daily_interest_rate: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    #: Index prices in USDT per coin, when a price source is configured (USDT is 1).
    prices_usdt: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    open_orders: int = 0
    #: For isolated scopes: the symbol's base and quote coins.
    base_coin: str | None = None
    quote_coin: str | None = None
    #: Order rules per symbol (isolated: the scope's symbol; cross: ``<COIN>USDT`` of the
    #: coins it holds or owes), when the exchange's reference data is known.
    trade_rules: Mapping[str, SymbolTradeRule] = field(default_factory=lambda: _NO_RULES)
    #: The exchange's own figure as sent (v2 ``riskRateRatio``; ``None``: not asked, no debt).
    reported_risk_rate: Decimal | None = None
    #: riskd's figure from balances, prices and tiers (``None``: could not be computed).
    local_risk_rate: Decimal | None = None
    #: How ``risk_rate`` was read (:data:`riskd.risk.reading.Reading`); ``None``: not decided.
    risk_reading: str | None = None
    #: ``risk_reading`` was confirmed against ``local_risk_rate`` at this poll.
    reading_checked: bool = False
    #: A ``uta`` scope's account-wide figures (``None`` for classic scopes).
    uta: UtaFigures | None = None
    #: When riskd applied a change it knows exactly to this read's data (a repayment the
    #: exchange confirmed: :func:`riskd.risk.estimate.after_repay`); ``None``: as read. A
    #: read that started before this time does not replace it.
    adjusted_at: float | None = None

    @property
    def kind(self) -> ScopeKind:
        return parse_scope(self.scope)[0]

    @property
    def symbol(self) -> str | None:
        return parse_scope(self.scope)[1]

    def age(self, now: float) -> float:
        """Seconds since the data was observed (never negative)."""
        return max(0.0, now - self.observed_at)

    def balance(self, coin: str) -> CoinBalance:
        b = self.balances.get(coin)
        if b is None:
            zero = Decimal(0)
            return CoinBalance(coin, zero, zero, zero, zero)
        return b


#: One account's data: scope id → snapshot.
AccountSnapshot = Mapping[str, ScopeSnapshot]
