"""What the simulated exchange trades: coins, symbols, tiers, interest rates, fees, scales.

Every symbol is quoted in USDT (the margin markets riskd watches); a coin's USDT price is the
index price of ``COIN + "USDT"``. Known coins (BTC, ETH, USDT) and symbols (BTCUSDT, ETHUSDT)
carry figures close to the document's examples; any other ``XYZUSDT`` named by a scenario gets
generic figures derived from its start price.

Tier data is one tier per coin (cross) and per symbol (isolated), as the document shows:
cross leverage 3 with maintenance margin rate 0.10; isolated leverage 10 with 0.05. A
scenario's ``[tiers]`` table replaces these figures per coin and per symbol
(:func:`with_tiers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from riskd.amounts import quantize_down
from riskd.sim.errors import SimError

if TYPE_CHECKING:
    from riskd.sim.scenario_types import Tiers

USDT = "USDT"


@dataclass(frozen=True, slots=True)
class CoinSpec:
    """A coin as the cross-margin public endpoints describe it."""

    coin: str
    daily_interest_rate: Decimal
    cross_max_borrowable: Decimal
    cross_leverage: Decimal = Decimal(3)
    cross_mmr: Decimal = Decimal("0.1")
    borrowable: bool = True
    transfer_in_able: bool = True

    @property
    def yearly_interest_rate(self) -> Decimal:
        return self.daily_interest_rate * 365


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """A symbol: its isolated tier, interest rates, fees and scales."""

    symbol: str
    base: str
    quote: str
    base_daily_interest_rate: Decimal
    quote_daily_interest_rate: Decimal
    base_max_borrowable: Decimal
    quote_max_borrowable: Decimal
    leverage: Decimal = Decimal(10)
    mmr: Decimal = Decimal("0.05")
    init_rate: Decimal = Decimal("0.1111")
    max_cross_leverage: Decimal = Decimal(3)
    min_trade_amount: Decimal = Decimal("0.0001")
    max_trade_amount: Decimal = Decimal(10000)
    taker_fee_rate: Decimal = Decimal("0.001")
    maker_fee_rate: Decimal = Decimal("0.001")
    price_scale: int = 2
    quantity_scale: int = 6
    min_trade_usdt: Decimal = Decimal(5)
    user_min_borrow: Decimal = Decimal("0.00000001")

    def coins(self) -> tuple[str, str]:
        return (self.base, self.quote)

    def daily_rate(self, coin: str) -> Decimal:
        return (
            self.base_daily_interest_rate if coin == self.base else self.quote_daily_interest_rate
        )

    def max_borrowable(self, coin: str) -> Decimal:
        return self.base_max_borrowable if coin == self.base else self.quote_max_borrowable


_KNOWN_COINS: dict[str, CoinSpec] = {
    "USDT": CoinSpec("USDT", Decimal("0.0002"), Decimal(143000)),
    "BTC": CoinSpec("BTC", Decimal("0.000049"), Decimal(20)),
    "ETH": CoinSpec("ETH", Decimal("0.00005"), Decimal(300)),
}

_KNOWN_SYMBOLS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec(
        "BTCUSDT",
        "BTC",
        USDT,
        Decimal("0.000049"),
        Decimal("0.000049"),
        Decimal(3),
        Decimal(20000),
        quantity_scale=6,
    ),
    "ETHUSDT": SymbolSpec(
        "ETHUSDT",
        "ETH",
        USDT,
        Decimal("0.00005"),
        Decimal("0.000049"),
        Decimal(50),
        Decimal(20000),
        min_trade_amount=Decimal("0.001"),
        quantity_scale=4,
    ),
}


def base_of(symbol: str) -> str:
    """``"SOLUSDT"`` → ``"SOL"``; a symbol not quoted in USDT is refused."""
    if not symbol.endswith(USDT) or len(symbol) <= len(USDT) or not symbol.isalnum():
        raise ValueError(f"symbol {symbol!r} is not an upper-case XYZUSDT symbol")
    if symbol != symbol.upper():
        raise ValueError(f"symbol {symbol!r} must be upper case")
    return symbol[: -len(USDT)]


def _generic_coin(coin: str, price: Decimal) -> CoinSpec:
    return CoinSpec(coin, Decimal("0.0001"), quantize_down(Decimal(100000) / price))


def _generic_symbol(symbol: str, base: str, price: Decimal) -> SymbolSpec:
    price_scale = 2 if price >= 100 else 4 if price >= 1 else 6
    return SymbolSpec(
        symbol,
        base,
        USDT,
        Decimal("0.0001"),
        Decimal("0.000049"),
        quantize_down(Decimal(20000) / price),
        Decimal(20000),
        min_trade_amount=Decimal("0.0001"),
        # about a million USDT per order at the start price (10,000 coins at the least)
        max_trade_amount=max(Decimal(10000), quantize_down(Decimal(1_000_000) / price, 0)),
        price_scale=price_scale,
        quantity_scale=4,
    )


@dataclass(frozen=True, slots=True)
class Catalog:
    """Coins and symbols with the figures of the public endpoints."""

    coins: Mapping[str, CoinSpec]
    symbols: Mapping[str, SymbolSpec]
    warning_risk_ratio: Decimal = Decimal("0.8")
    liquidation_risk_ratio: Decimal = Decimal(1)

    def coin(self, coin: str) -> CoinSpec:
        spec = self.coins.get(coin)
        if spec is None:
            raise SimError("50032", detail=coin)
        return spec

    def symbol(self, symbol: str) -> SymbolSpec:
        spec = self.symbols.get(symbol)
        if spec is None:
            raise SimError("50024", detail=symbol)
        return spec

    def usdt_symbol(self, coin: str) -> SymbolSpec:
        """The ``COINUSDT`` symbol that prices (and trades) ``coin``."""
        return self.symbol(coin + USDT)


def build_catalog(markets: Mapping[str, Decimal]) -> Catalog:
    """A catalog for the given symbols (start prices size the generic figures)."""
    coins: dict[str, CoinSpec] = {USDT: _KNOWN_COINS[USDT]}
    symbols: dict[str, SymbolSpec] = {}
    for symbol, price in markets.items():
        base = base_of(symbol)
        coins[base] = _KNOWN_COINS.get(base) or _generic_coin(base, price)
        symbols[symbol] = _KNOWN_SYMBOLS.get(symbol) or _generic_symbol(symbol, base, price)
    return Catalog(MappingProxyType(coins), MappingProxyType(symbols))


def with_tiers(catalog: Catalog, tiers: Tiers) -> Catalog:
    """``catalog`` with the tier figures a scenario's ``[tiers]`` table replaces."""
    coins = dict(catalog.coins)
    for coin, tier in tiers.cross.items():
        spec = coins[coin]
        coins[coin] = replace(
            spec,
            cross_mmr=tier.mmr if tier.mmr is not None else spec.cross_mmr,
            cross_leverage=tier.leverage if tier.leverage is not None else spec.cross_leverage,
            cross_max_borrowable=(
                tier.max_borrowable
                if tier.max_borrowable is not None
                else spec.cross_max_borrowable
            ),
        )
    symbols = dict(catalog.symbols)
    for symbol, stier in tiers.isolated.items():
        sspec = symbols[symbol]
        symbols[symbol] = replace(
            sspec,
            mmr=stier.mmr if stier.mmr is not None else sspec.mmr,
            leverage=stier.leverage if stier.leverage is not None else sspec.leverage,
            base_max_borrowable=(
                stier.base_max_borrowable
                if stier.base_max_borrowable is not None
                else sspec.base_max_borrowable
            ),
            quote_max_borrowable=(
                stier.quote_max_borrowable
                if stier.quote_max_borrowable is not None
                else sspec.quote_max_borrowable
            ),
        )
    return replace(catalog, coins=MappingProxyType(coins), symbols=MappingProxyType(symbols))


def with_max_trade(catalog: Catalog, limits: Mapping[str, Decimal]) -> Catalog:
    """``catalog`` with the largest orders a scenario's ``[symbols]`` table sets."""
    if not limits:
        return catalog
    symbols = dict(catalog.symbols)
    for symbol, amount in limits.items():
        symbols[symbol] = replace(symbols[symbol], max_trade_amount=amount)
    return replace(catalog, symbols=MappingProxyType(symbols))
