"""API answers → :class:`~riskd.risk.snapshot.ScopeSnapshot` (pure).

The poller gathers, per account: the cross assets (one call for every coin), the isolated
assets (one call for every symbol), the exchange's risk rate per scope that has debt, and
slowly changing reference data (symbols with their warning and liquidation ratios and order
rules, tier data). These functions put them together; they read no clock and do no I/O.

:func:`with_reading` settles which way the exchange's risk figure points
(:func:`riskd.risk.reading.read_risk_rate`) against riskd's own figure from the snapshot's
balances, prices and tiers, and keeps both in the snapshot for ``riskd status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from riskd.bitget.models_uta import UtaAssets
from riskd.daemon.exchange import AssetRow, SymbolInfo, TierInfo
from riskd.risk import math as riskmath
from riskd.risk.reading import DIRECT, INVERSE, RiskReading, read_risk_rate
from riskd.risk.snapshot import (
    CROSS,
    USDT,
    UTA,
    CoinBalance,
    ScopeSnapshot,
    SymbolTradeRule,
    UtaFigures,
    isolated_scope,
)

DEFAULT_WARNING = Decimal("0.8")
DEFAULT_LIQUIDATION = Decimal("1")


@dataclass(frozen=True, slots=True)
class Reference:
    """Slow-changing data: symbols (currencies) and tier data."""

    symbols: Mapping[str, SymbolInfo] = field(default_factory=dict)
    #: cross: coin → tier; isolated: symbol → tier
    cross_tiers: Mapping[str, TierInfo] = field(default_factory=dict)
    isolated_tiers: Mapping[str, TierInfo] = field(default_factory=dict)

    def ratios(self, symbol: str | None) -> tuple[Decimal, Decimal]:
        """(warning, liquidation) ratios of a symbol; cross takes the strictest listed."""
        if symbol is not None:
            info = self.symbols.get(symbol)
            if info is not None:
                return info.warning_risk_ratio, info.liquidation_risk_ratio
            return DEFAULT_WARNING, DEFAULT_LIQUIDATION
        if not self.symbols:
            return DEFAULT_WARNING, DEFAULT_LIQUIDATION
        return (
            min(s.warning_risk_ratio for s in self.symbols.values()),
            min(s.liquidation_risk_ratio for s in self.symbols.values()),
        )

    def trade_rule(self, symbol: str) -> SymbolTradeRule | None:
        """The order rules of ``symbol`` (``None``: unknown symbol). A scale that is not a
        number of decimals (negative) or an amount that is negative counts as unknown."""
        info = self.symbols.get(symbol)
        if info is None:
            return None
        return SymbolTradeRule(
            quantity_scale=_scale(info.quantity_scale),
            price_scale=_scale(info.price_scale),
            min_trade_amount=_non_negative(info.min_trade_amount),
            max_trade_amount=_non_negative(info.max_trade_amount),
            min_trade_usdt=_non_negative(info.min_trade_usdt),
            taker_fee_rate=_non_negative(info.taker_fee_rate),
        )

    def trade_rules(self, symbols: Iterable[str]) -> Mapping[str, SymbolTradeRule]:
        out: dict[str, SymbolTradeRule] = {}
        for symbol in symbols:
            rule = self.trade_rule(symbol)
            if rule is not None:
                out[symbol] = rule
        return MappingProxyType(out)

    def split(self, symbol: str) -> tuple[str | None, str | None]:
        info = self.symbols.get(symbol)
        if info is not None:
            return info.base_coin, info.quote_coin
        if symbol.endswith(USDT) and len(symbol) > len(USDT):
            return symbol[: -len(USDT)], USDT
        return None, None


def _scale(value: int | None) -> int | None:
    return value if value is not None and value >= 0 else None


def _non_negative(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value.is_finite() and value >= 0 else None


def balances(rows: Iterable[AssetRow]) -> dict[str, CoinBalance]:
    return {r.coin: CoinBalance(r.coin, r.available, r.frozen, r.borrow, r.interest) for r in rows}


def has_debt(rows: Iterable[AssetRow]) -> bool:
    return any(r.borrow > 0 or r.interest > 0 for r in rows)


def isolated_symbols(rows: Iterable[AssetRow]) -> set[str]:
    """Symbols the isolated account holds anything in (discovery)."""
    return {
        r.symbol
        for r in rows
        if r.symbol and (r.available > 0 or r.frozen > 0 or r.borrow > 0 or r.interest > 0)
    }


def _prices_for(coins: Iterable[str], prices: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    out = {c: prices[c] for c in coins if c in prices}
    if USDT in set(coins):
        out[USDT] = Decimal(1)
    return MappingProxyType(out)


def cross_snapshot(
    account: str,
    rows: list[AssetRow],
    risk_rate: Decimal,
    observed_at: float,
    ref: Reference,
    prices: Mapping[str, Decimal],
    open_orders: int = 0,
) -> ScopeSnapshot:
    bal = balances(rows)
    warning, liquidation = ref.ratios(None)
    mmr = {c: t.maintain_margin_rate for c, t in ref.cross_tiers.items() if c in bal}
    lev = [t.leverage for c, t in ref.cross_tiers.items() if t.leverage is not None]
    maxb = {c: t.max_borrowable[c] for c, t in ref.cross_tiers.items() if c in t.max_borrowable}
    rates = {
        c: t.daily_interest_rate[c]
        for c, t in ref.cross_tiers.items()
        if c in t.daily_interest_rate
    }
    return ScopeSnapshot(
        account=account,
        scope=CROSS,
        risk_rate=risk_rate,
        balances=MappingProxyType(bal),
        observed_at=observed_at,
        warning_risk_ratio=warning,
        liquidation_risk_ratio=liquidation,
        maintain_margin_rate=MappingProxyType(mmr),
        leverage=min(lev) if lev else None,
        max_borrowable=MappingProxyType(maxb),
        daily_interest_rate=MappingProxyType(rates),
        prices_usdt=_prices_for(bal, prices),
        open_orders=open_orders,
        trade_rules=ref.trade_rules(f"{c}{USDT}" for c in bal if c != USDT),
    )


def isolated_snapshot(
    account: str,
    symbol: str,
    rows: list[AssetRow],
    risk_rate: Decimal,
    observed_at: float,
    ref: Reference,
    prices: Mapping[str, Decimal],
    open_orders: int = 0,
) -> ScopeSnapshot:
    bal = balances(r for r in rows if r.symbol == symbol)
    base, quote = ref.split(symbol)
    for coin in (base, quote):
        if coin is not None and coin not in bal:
            zero = Decimal(0)
            bal[coin] = CoinBalance(coin, zero, zero, zero, zero)
    warning, liquidation = ref.ratios(symbol)
    tier = ref.isolated_tiers.get(symbol)
    mmr = {c: tier.maintain_margin_rate for c in bal} if tier is not None else {}
    return ScopeSnapshot(
        account=account,
        scope=isolated_scope(symbol),
        risk_rate=risk_rate,
        balances=MappingProxyType(bal),
        observed_at=observed_at,
        warning_risk_ratio=warning,
        liquidation_risk_ratio=liquidation,
        maintain_margin_rate=MappingProxyType(mmr),
        leverage=tier.leverage if tier is not None else None,
        max_borrowable=MappingProxyType(dict(tier.max_borrowable))
        if tier
        else MappingProxyType({}),
        daily_interest_rate=MappingProxyType(dict(tier.daily_interest_rate))
        if tier
        else MappingProxyType({}),
        prices_usdt=_prices_for(bal, prices),
        open_orders=open_orders,
        base_coin=base,
        quote_coin=quote,
        trade_rules=ref.trade_rules((symbol,)),
    )


def uta_snapshot(
    account: str,
    got: UtaAssets,
    level: Decimal,
    observed_at: float,
    ref: Reference,
    prices: Mapping[str, Decimal],
    open_orders: int = 0,
) -> ScopeSnapshot:
    """The ``uta`` scope of a Unified Trading Account: ``risk_rate = mgnRatio ÷ level``, the
    margin-call and liquidation lines at 0.8 and 1 on that scale (the ladder's). Each coin's
    maintenance rate is its tier's ÷ ``level``, so riskd's own figures from balances and
    prices (localRiskRate, distances, sizing) liquidate at 1 too."""
    bal = {
        c.coin: CoinBalance(
            c.coin, c.available, max(c.balance - c.available, Decimal(0)), c.debt, Decimal(0)
        )
        for c in got.assets
    }
    mmr = {c: t.maintain_margin_rate / level for c, t in ref.cross_tiers.items() if c in bal}
    lev = [t.leverage for c, t in ref.cross_tiers.items() if c in bal and t.leverage is not None]
    figures = UtaFigures(
        mgn_ratio=got.mgn_ratio,
        mmr=got.mmr,
        imr=got.imr,
        eff_equity=got.eff_equity,
        account_equity=got.account_equity,
        liquidation_level=level,
        coin_equity=MappingProxyType({c.coin: c.equity for c in got.assets}),
    )
    return ScopeSnapshot(
        account=account,
        scope=UTA,
        risk_rate=got.mgn_ratio / level,
        balances=MappingProxyType(bal),
        observed_at=observed_at,
        warning_risk_ratio=DEFAULT_WARNING,
        liquidation_risk_ratio=DEFAULT_LIQUIDATION,
        maintain_margin_rate=MappingProxyType(mmr),
        leverage=min(lev) if lev else None,
        prices_usdt=_prices_for(bal, prices),
        open_orders=open_orders,
        trade_rules=ref.trade_rules(f"{c}{USDT}" for c in bal if c != USDT),
        reported_risk_rate=got.mgn_ratio,
        uta=figures,
    )


def own_risk_rate(snap: ScopeSnapshot) -> Decimal | None:
    """riskd's risk rate for ``snap`` (:func:`riskd.risk.math.value`), or ``None`` when a
    price of a held coin or the maintenance margin rate of an owed coin is not known. Coins
    owed nothing need no rate (their weight is 0)."""
    held = [b for b in snap.balances.values() if b.total_amount != 0 or b.liability != 0]
    prices: dict[str, Decimal] = {}
    mmr: dict[str, Decimal] = {}
    for b in held:
        if b.coin != USDT:
            price = snap.prices_usdt.get(b.coin)
            if price is None:
                return None
            prices[b.coin] = price
        rate = snap.maintain_margin_rate.get(b.coin)
        if rate is None and b.liability > 0:
            return None
        mmr[b.coin] = rate if rate is not None else Decimal(0)
    return riskmath.value(held, prices, mmr).risk_rate


def with_reading(
    snap: ScopeSnapshot,
    *,
    reported: Decimal | None,
    contested: bool,
    previous: ScopeSnapshot | None,
    own_then: Decimal | None = None,
) -> tuple[ScopeSnapshot, RiskReading]:
    """``snap`` with the risk rate the rules see, the reported and own figures beside it
    (``own_then``: riskd's own rate at the prices of when the read started)."""
    owes = any(b.liability > 0 for b in snap.balances.values())
    before = previous.risk_reading if previous is not None else None
    reading = read_risk_rate(
        reported,
        own_risk_rate(snap),
        owes=owes,
        contested=contested,
        previous=DIRECT if before == DIRECT else INVERSE if before == INVERSE else None,
        local_then=own_then,
    )
    new = replace(
        snap,
        risk_rate=reading.risk_rate,
        reported_risk_rate=reported,
        local_risk_rate=reading.local,
        risk_reading=reading.reading,
        reading_checked=reading.checked,
    )
    return new, reading
