"""Unified Trading Account (UTA) figures of the simulator, from the same ledger as classic.

A UTA account (``unified = true`` on a scenario account, or ``Simulator.add_account(...,
unified=True)``) keeps its coins in one account-wide book — the ledger's ``"cross"`` scope
(UTA spot margin is cross only, ENDPOINTS-v2.md §6) — so borrowing, interest, repaying, orders
and liquidation are the ledger's. What UTA adds is the account-wide view the v3 endpoints serve
(:func:`uta_figures`), all in USD (USDT = 1):

- per coin ``c``: ``balance = available + frozen``, ``debt = borrow + interest``,
  ``equity = balance − debt``, ``usdValue = equity × price``, ``locked = frozen``;
- ``accountEquity = Σ equity_c × price_c`` (assets − liabilities);
- ``effEquity = Σ max(equity_c, 0) × price_c × collateral_c + Σ min(equity_c, 0) × price_c``,
  with the collateral ratio ``collateral_c`` = :data:`COLLATERAL_RATIO` (1) for every coin:
  the real account discounts collateral by tiered "margin collateral ratios" (help centre
  article 12560603839176, H3 in ENDPOINTS-v2.md) that the simulator does not model, so here
  ``effEquity = accountEquity``;
- ``mmr = Σ debt_c × price_c × mmr_c`` with ``mmr_c`` the coin's maintenance margin rate of the
  catalog's cross tier (the same rate the classic cross account uses);
- ``imr = Σ debt_c × price_c / (L − 1)`` with ``L`` the cross leverage (3): borrowing up to the
  ledger's max borrowable puts ``imr`` at ``effEquity``;
- ``mgnRatio = mmr / effEquity`` (0 without debt; unbounded — shown as 99999999 — when
  ``effEquity ≤ 0``). Assumption: the margin-ratio reading of Bitget's futures pages
  (maintenance margin over equity, higher = riskier) applied to the effective equity; the exact
  UTA formula is unconfirmed. With collateral ratio 1 it equals the classic risk rate of
  :func:`riskd.risk.math.value`, so one crash hits a classic and a UTA account alike.

Liquidation: a UTA account is liquidated when ``mgnRatio ≥`` its liquidation level — a
simulator setting (scenario key ``uta_liquidation_level`` on the account, default
:data:`DEFAULT_LIQUIDATION_LEVEL` = 1, i.e. 100 %), because the real level is unconfirmed
(§6: "probably 100 %, by analogy with futures"). The liquidation itself is the classic one
(:class:`riskd.sim.liquidation.Liquidator`: cancel orders, repay down to the target, fee).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from riskd.risk.math import INFINITE
from riskd.sim.book import Account, ScopeBook
from riskd.sim.ledger import Ledger

ZERO = Decimal(0)
ONE = Decimal(1)
#: mgnRatio at which the simulator liquidates a UTA account unless the scenario says otherwise.
DEFAULT_LIQUIDATION_LEVEL = Decimal(1)
#: Collateral ratio applied to every coin's positive equity (no haircut; see the docstring).
COLLATERAL_RATIO = Decimal(1)
#: Display value of an unbounded ratio (no effective equity left).
RATIO_CAP = Decimal("99999999")


@dataclass(frozen=True, slots=True)
class UtaCoinFigures:
    """One coin of a UTA account, amounts in the coin (``usd_value`` in USD)."""

    coin: str
    balance: Decimal
    available: Decimal
    locked: Decimal
    debt: Decimal
    price: Decimal

    @property
    def equity(self) -> Decimal:
        return self.balance - self.debt

    @property
    def usd_value(self) -> Decimal:
        return self.equity * self.price


@dataclass(frozen=True, slots=True)
class UtaFigures:
    """The account-wide figures ``/api/v3/account/assets`` serves (USD)."""

    account_equity: Decimal
    eff_equity: Decimal
    mmr: Decimal
    imr: Decimal
    coins: tuple[UtaCoinFigures, ...]

    @property
    def mgn_ratio(self) -> Decimal:
        """``mmr / effEquity``; 0 without debt, ``Infinity`` without effective equity."""
        if self.mmr <= 0:
            return ZERO
        if self.eff_equity <= 0:
            return INFINITE
        return self.mmr / self.eff_equity


def uta_book(account: Account) -> ScopeBook:
    """The account-wide book of a UTA account (the ledger's cross scope)."""
    return account.cross()


def uta_figures(ledger: Ledger, book: ScopeBook, now_s: float) -> UtaFigures:
    """The account-wide figures of ``book`` at market time ``now_s`` (formulas above)."""
    market = ledger.market
    mmr_rates = ledger.mmr(book)
    leverage = ledger.leverage(book)
    equity = eff = mmr = imr = ZERO
    coins: list[UtaCoinFigures] = []
    for bal in book.balances.values():
        if bal.total == 0 and bal.liability == 0:
            continue
        price = market.coin_price(bal.coin, now_s)
        row = UtaCoinFigures(bal.coin, bal.total, bal.available, bal.frozen, bal.liability, price)
        coins.append(row)
        value = row.equity * price
        equity += value
        eff += value * COLLATERAL_RATIO if value > 0 else value
        debt_value = row.debt * price
        mmr += debt_value * mmr_rates[bal.coin]
        imr += debt_value / (leverage - ONE)
    return UtaFigures(equity, eff, mmr, imr, tuple(coins))


def liquidation_level(account: Account) -> Decimal:
    """The mgnRatio at which the simulator liquidates ``account`` (a UTA account)."""
    level = account.uta_liquidation_level
    return level if level is not None else DEFAULT_LIQUIDATION_LEVEL


def due_for_liquidation(ledger: Ledger, account: Account, now_s: float) -> bool:
    """True when a UTA account's mgnRatio has reached its liquidation level."""
    book = account.scopes.get("cross")
    if book is None or not book.has_debt():
        return False
    return uta_figures(ledger, book, now_s).mgn_ratio >= liquidation_level(account)


def ratio_text(value: Decimal) -> Decimal:
    """A ratio as served: capped at :data:`RATIO_CAP` (an unbounded ratio included)."""
    return RATIO_CAP if value == INFINITE else min(value, RATIO_CAP)
