"""The hindsight oracle: the least repayment that would have avoided liquidation on a path.

Pure: it takes a scope's balances at the start of a scenario and the price path (sampled),
and reads no clock and no exchange. ``riskd demo`` prints its figure beside what riskd really
moved, so a user sees how much riskd repaid beyond what was strictly needed.

Model (ENDPOINTS.md erratum 3, :mod:`riskd.risk.math`)::

    riskRate = N / E,  N = Σ liability_c × price_c × mmr_c,  E = assets − liabilities

**From the available balance.** Repaying ``q`` units of a debt coin ``c`` from its available
balance lowers assets and liabilities by the same ``q × price_c``, so ``E`` is unchanged and
``N`` falls by ``q × price_c × mmr_c`` — at that instant and at every later price point. A
repayment made at the start protects the whole path, and the least one that keeps the rate
at or under the liquidation ratio ``r`` at every point is the largest need along the path::

    q* = max_t (N_t − r × E_t) / (price_c,t × mmr_c)        (0 when never above r)

reported in USDT at the prices of the point where it binds (``q* × price_c,t*``; for a USDT
debt it is simply ``q*``).

**With a sale.** When the available balance of ``c`` is short of ``q*`` (a leveraged long
spent its borrowed USDT on the base coin), the rest is raised by selling the scope's largest
other asset at the start prices, as a flash repay or a ``reduce`` order would. Selling early
also lowers the exposure, so this need is no longer the closed form above: the least total
repayment ``x`` (USDT at the start prices) with ``max_t riskRate_t(x) ≤ r`` is found by
bisection to 0.01 USDT (the risk along the path falls monotonically as ``x`` grows).

Assumptions, stated once:

- the repayment is made at the start (hindsight); no trading fee, no slippage;
- interest accrued during the scenario is ignored (a ten-minute scenario accrues at most one
  hourly charge); interest owed at the start counts as debt;
- the boundary is the infimum: with exactly the oracle amount the rate touches ``r`` at the
  worst point;
- one debt coin is repaid: with several, the coin that needs the least value is chosen (an
  upper bound of the true minimum, which could mix coins);
- ``feasible`` is False when even repaying that coin's whole debt (selling what it takes)
  does not keep the rate under ``r`` — ``repay_usdt`` is then that whole debt's value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_UP, Decimal

from riskd.risk import math as riskmath
from riskd.risk.snapshot import USDT, CoinBalance

ZERO = Decimal(0)
#: Bisection stops when the bracket is this narrow (USDT).
PRECISION_USDT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ScopeStart:
    """One scope as it stands when the scenario starts (after its set-up)."""

    account: str
    scope: str
    balances: tuple[CoinBalance, ...]
    #: maintenance margin rate per coin (cross: each coin's tier; isolated: the symbol's).
    mmr: Mapping[str, Decimal]
    liquidation_ratio: Decimal = Decimal(1)
    warning_ratio: Decimal = Decimal("0.8")


@dataclass(frozen=True, slots=True)
class PricePoint:
    """Index prices at one instant: ``t`` seconds after the scenario start, coin → USDT."""

    t: float
    prices: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class ScopeOracle:
    """The least repayment for one scope, and where on the path it binds."""

    account: str
    scope: str
    #: USDT value of the least repayment (0 when the path never reaches the ratio).
    repay_usdt: Decimal
    coin: str | None
    #: the same in units of ``coin``.
    amount: Decimal
    #: scenario second where the risk (without any action) is highest (None: no debt).
    worst_t: float | None
    #: the highest risk rate on the path without any action.
    max_risk_rate: Decimal
    feasible: bool
    #: True when the debt coin's available balance covers it (no sale needed).
    from_balance: bool
    #: the asset sold to raise the rest (None: none needed or none held).
    sold: str | None = None


@dataclass(frozen=True, slots=True)
class OracleResult:
    scopes: tuple[ScopeOracle, ...]

    @property
    def total_usdt(self) -> Decimal:
        return sum((s.repay_usdt for s in self.scopes), ZERO)

    @property
    def feasible(self) -> bool:
        return all(s.feasible for s in self.scopes)

    def for_scope(self, account: str, scope: str) -> ScopeOracle | None:
        for s in self.scopes:
            if s.account == account and s.scope == scope:
                return s
        return None


def _with_usdt(prices: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return prices if USDT in prices else {**prices, USDT: Decimal(1)}


def _price(prices: Mapping[str, Decimal], coin: str) -> Decimal:
    if coin == USDT:
        return Decimal(1)
    try:
        return prices[coin]
    except KeyError:
        raise KeyError(f"oracle: no price for {coin} in the price path") from None


def _rates(
    balances: Sequence[CoinBalance], mmr: Mapping[str, Decimal], path: Sequence[PricePoint]
) -> list[Decimal]:
    return [riskmath.risk_rate(balances, _with_usdt(p.prices), mmr) for p in path]


def max_risk_rate(start: ScopeStart, path: Iterable[PricePoint]) -> Decimal:
    """The highest risk rate of the scope's starting balances along the path."""
    return max(_rates(start.balances, start.mmr, list(path)), default=ZERO)


def _from_balance_need(
    start: ScopeStart, coin: str, path: Sequence[PricePoint]
) -> tuple[Decimal, float | None]:
    """Units of ``coin`` to repay from its balance (closed form) and where it binds;
    ``Infinity`` when equity is not positive somewhere (no such repayment can help)."""
    mmr = start.mmr[coin]
    r = start.liquidation_ratio
    need, worst = ZERO, None
    for point in path:
        v = riskmath.value(start.balances, _with_usdt(point.prices), start.mmr)
        if v.weighted_liabilities <= 0:
            continue
        if v.equity <= 0:
            return riskmath.INFINITE, point.t
        units = (v.weighted_liabilities - r * v.equity) / (_price(point.prices, coin) * mmr)
        if units > need:
            need, worst = units, point.t
    return need, worst


def after_repay(
    start: ScopeStart, coin: str, value: Decimal, prices0: Mapping[str, Decimal]
) -> tuple[tuple[CoinBalance, ...], str | None] | None:
    """The balances after repaying ``value`` USDT of ``coin`` at ``prices0``: from its
    available balance first, the rest from selling the largest other asset. ``None`` when
    that is more than the debt or than what can be sold."""
    bals = {b.coin: b for b in start.balances}
    debt = bals[coin]
    p_c = _price(prices0, coin)
    units = value / p_c
    if units > debt.liability:
        return None
    own = min(units, debt.available)
    short = units - own
    sold: str | None = None
    if short > 0:
        others = [b for b in start.balances if b.coin != coin and b.available > 0]
        if not others:
            return None
        other = max(others, key=lambda b: b.available * _price(prices0, b.coin))
        sell = short * p_c / _price(prices0, other.coin)
        if sell > other.available:
            return None
        bals[other.coin] = replace(other, available=other.available - sell)
        sold = other.coin
    interest_part = min(units, debt.interest)
    bals[coin] = replace(
        debt,
        available=debt.available - own,
        interest=debt.interest - interest_part,
        borrow=debt.borrow - (units - interest_part),
    )
    return tuple(bals.values()), sold


def _coin_oracle(
    start: ScopeStart, coin: str, path: Sequence[PricePoint], peak: Decimal, peak_t: float | None
) -> ScopeOracle:
    units, bind_t = _from_balance_need(start, coin, path)
    debt = next(b for b in start.balances if b.coin == coin)
    prices0 = _with_usdt(path[0].prices)
    if units == 0:
        return ScopeOracle(start.account, start.scope, ZERO, None, ZERO, peak_t, peak, True, True)
    if units <= debt.available:
        at = next(p for p in path if p.t == bind_t)
        return ScopeOracle(
            start.account,
            start.scope,
            units * _price(at.prices, coin),
            coin,
            units,
            peak_t,
            peak,
            True,
            True,
        )
    r = start.liquidation_ratio
    # The riskiest instants for the starting balances first: a repayment too small fails
    # there, so the search stops at the first instant over the line (same answer, sooner).
    start_rates = _rates(start.balances, start.mmr, path)
    riskiest = [
        _with_usdt(path[i].prices)
        for i in sorted(range(len(path)), key=lambda i: start_rates[i], reverse=True)
    ]

    def ok(value: Decimal) -> tuple[bool, str | None]:
        after = after_repay(start, coin, value, prices0)
        if after is None:
            return False, None
        held = all(riskmath.risk_rate(after[0], p, start.mmr) <= r for p in riskiest)
        return held, after[1]

    p_c = _price(prices0, coin)
    hi = debt.liability * p_c
    good, sold = ok(hi)
    if not good:
        return ScopeOracle(
            start.account, start.scope, hi, coin, debt.liability, peak_t, peak, False, False, sold
        )
    lo = ZERO
    while hi - lo > PRECISION_USDT:
        mid = (lo + hi) / 2
        good_mid, sold_mid = ok(mid)
        if good_mid:
            hi, sold = mid, sold_mid
        else:
            lo = mid
    hi = hi.quantize(PRECISION_USDT, rounding=ROUND_UP)
    return ScopeOracle(
        start.account, start.scope, hi, coin, hi / p_c, peak_t, peak, True, False, sold
    )


def scope_oracle(start: ScopeStart, path: Sequence[PricePoint]) -> ScopeOracle:
    """The least repayment that keeps ``start``'s scope under its liquidation ratio."""
    if not path:
        raise ValueError("oracle: the price path is empty")
    rates = _rates(start.balances, start.mmr, path)
    peak = max(rates)
    peak_t = path[rates.index(peak)].t if peak > 0 else None
    best: ScopeOracle | None = None
    for bal in start.balances:
        if bal.liability <= 0:
            continue
        candidate = _coin_oracle(start, bal.coin, path, peak, peak_t)
        if candidate.repay_usdt == 0 and candidate.feasible:
            return candidate
        if best is None or _better(candidate, best):
            best = candidate
    if best is None:
        return ScopeOracle(start.account, start.scope, ZERO, None, ZERO, None, peak, True, True)
    return best


def _better(a: ScopeOracle, b: ScopeOracle) -> bool:
    if a.feasible != b.feasible:
        return a.feasible
    return a.repay_usdt < b.repay_usdt


def oracle(starts: Iterable[ScopeStart], path: Sequence[PricePoint]) -> OracleResult:
    """The oracle for every scope; ``total_usdt`` is the figure the demo prints."""
    return OracleResult(tuple(scope_oracle(s, path) for s in starts))


def first_crossing(
    start: ScopeStart, path: Sequence[PricePoint], ratio: Decimal | None = None
) -> float | None:
    """First instant of ``path`` where the starting balances reach ``ratio`` (warning)."""
    line = start.warning_ratio if ratio is None else ratio
    for point in path:
        if riskmath.risk_rate(start.balances, _with_usdt(point.prices), start.mmr) >= line:
            return point.t
    return None
