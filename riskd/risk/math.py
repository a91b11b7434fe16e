"""Risk-rate math (ENDPOINTS.md, erratum 3), pure and in Decimal.

    riskRate = Σ_c (liability_c × price_c × mmr_c) / (assets − liabilities)

with liabilities = borrow + interest, assets = available + frozen, everything valued in USDT
at the index price and ``mmr_c`` the maintenance margin rate of coin ``c`` (cross: the coin's
tier; isolated: the symbol's tier, the same for both coins). 0 means no debt; ≥ the warning
ratio (0.8) is a margin call; ≥ the liquidation ratio (1.0) is forced liquidation.

The exchange's own riskRate is what it acts on: these functions are for prediction, for
sizing a repayment, and for the simulator, which must compute exactly this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from riskd.risk.snapshot import CoinBalance

ZERO = Decimal(0)
ONE = Decimal(1)
INFINITE = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class Valuation:
    """A scope valued in USDT."""

    assets: Decimal
    liabilities: Decimal
    #: Σ liability × price × mmr: the numerator of the risk rate.
    weighted_liabilities: Decimal

    @property
    def equity(self) -> Decimal:
        return self.assets - self.liabilities

    @property
    def risk_rate(self) -> Decimal:
        if self.weighted_liabilities <= 0:
            return ZERO
        if self.equity <= 0:
            return INFINITE
        return self.weighted_liabilities / self.equity


def value(
    balances: Iterable[CoinBalance],
    prices: Mapping[str, Decimal],
    mmr: Mapping[str, Decimal],
) -> Valuation:
    """Value balances in USDT. A coin without a price raises ``KeyError`` naming it."""
    assets = liabilities = weighted = ZERO
    for b in balances:
        if b.total_amount == 0 and b.liability == 0:
            continue
        price = ONE if b.coin == "USDT" else prices[b.coin]
        assets += b.total_amount * price
        liab = b.liability * price
        liabilities += liab
        weighted += liab * mmr[b.coin]
    return Valuation(assets, liabilities, weighted)


def risk_rate(
    balances: Iterable[CoinBalance],
    prices: Mapping[str, Decimal],
    mmr: Mapping[str, Decimal],
) -> Decimal:
    return value(balances, prices, mmr).risk_rate


def repay_value_for_target(v: Valuation, target: Decimal, mmr: Decimal) -> Decimal:
    """USDT value to repay (from the same coin's balance) to bring the risk rate to ``target``.

    Repaying ``x`` lowers assets and liabilities by ``x`` alike, so equity is unchanged and
    the numerator falls by ``x × mmr``: ``x = (N − target × equity) / mmr``. Returns 0 when
    the rate is already at or under target, and ``Infinity`` when equity is not positive
    (no repayment from the account's own assets can reach the target).
    """
    if target < 0:
        raise ValueError("target risk rate must be >= 0")
    if mmr <= 0:
        raise ValueError("maintenance margin rate must be > 0")
    if v.equity <= 0:
        return INFINITE
    x = (v.weighted_liabilities - target * v.equity) / mmr
    return max(ZERO, x)


def liquidation_price_factor(
    balances: Iterable[CoinBalance],
    prices: Mapping[str, Decimal],
    mmr: Mapping[str, Decimal],
    liquidation_ratio: Decimal,
) -> Decimal | None:
    """Factor ``k`` by which every non-USDT price must move for the rate to hit liquidation.

    All non-USDT coins are moved together (``price × k``). ``k < 1`` is a fall, ``k > 1`` a
    rise (a borrowed base coin). ``None`` when no such uniform move reaches the ratio.
    """
    a_s = a_v = l_s = l_v = n_s = n_v = ZERO
    for b in balances:
        m = mmr.get(b.coin, ZERO)
        if b.coin == "USDT":
            a_s += b.total_amount
            l_s += b.liability
            n_s += b.liability * m
        else:
            p = prices[b.coin]
            a_v += b.total_amount * p
            l_v += b.liability * p
            n_v += b.liability * p * m
    r = liquidation_ratio
    denom = n_v - r * (a_v - l_v)
    if denom == 0:
        return None
    k = (r * (a_s - l_s) - n_s) / denom
    if k <= 0:
        return None
    return k


def distance_to_liquidation(
    balances: Iterable[CoinBalance],
    prices: Mapping[str, Decimal],
    mmr: Mapping[str, Decimal],
    liquidation_ratio: Decimal,
) -> Decimal | None:
    """Signed fraction of price move to liquidation: ``-0.12`` = a 12 % fall liquidates."""
    items = list(balances)
    current = risk_rate(items, prices, mmr)
    if current >= liquidation_ratio:
        return ZERO
    k = liquidation_price_factor(items, prices, mmr, liquidation_ratio)
    return None if k is None else k - ONE


def coin_distance_to_liquidation(
    balances: Iterable[CoinBalance],
    prices: Mapping[str, Decimal],
    mmr: Mapping[str, Decimal],
    liquidation_ratio: Decimal,
    coin: str,
) -> Decimal | None:
    """Signed move of ``coin``'s price alone (every other price held) that liquidates:
    ``-0.2`` = a 20 % fall of that coin; 0 when already liquidated; ``None`` when no move of
    that coin does (USDT, a coin not held or owed, or one worth too little)."""
    f0 = slope = ZERO
    for b in balances:
        if b.total_amount == 0 and b.liability == 0:
            continue
        price = ONE if b.coin == "USDT" else prices[b.coin]
        f = (
            b.liability * price * mmr[b.coin]
            - liquidation_ratio * (b.total_amount - b.liability) * price
        )
        f0 += f
        if b.coin == coin and coin != "USDT":
            slope += f
    if f0 >= 0:
        return ZERO
    if slope == 0:
        return None
    d = -f0 / slope
    return d if d > -ONE else None


def lowest_coin_distance(
    balances: Iterable[CoinBalance],
    prices: Mapping[str, Decimal],
    mmr: Mapping[str, Decimal],
    liquidation_ratio: Decimal,
) -> Decimal | None:
    """The smallest move of any one coin's price (the others held) that liquidates, as a
    fraction ≥ 0: each coin on its own path, not every coin moving together."""
    items = list(balances)
    found = [
        abs(d)
        for b in items
        if b.coin != "USDT"
        and (d := coin_distance_to_liquidation(items, prices, mmr, liquidation_ratio, b.coin))
        is not None
    ]
    return min(found, default=None)
