"""Forced liquidation, as the exchange does it when a scope's risk rate reaches 1.0.

When ``riskRate ≥ liquidationRiskRatio`` (1.0) the scope is liquidated at once:

1. its open orders are cancelled (frozen balances released);
2. it repays debt (type ``liqRepay``) — selling assets (``liquidation-sell``) or buying back a
   borrowed coin (``liquidation-buy``) — until the risk rate is back near ``TARGET`` (0.5).
   The repayment is sized with the closed form of :func:`riskd.risk.math.repay_value_for_target`
   extended by the fees: ``x = (N − target × E) / (mmr − target × c)``;
3. it is charged a liquidation fee of ``FEE_RATE`` (1 %) of the repaid value, in USDT
   (fin ``liquidation_fee``);
4. when net assets are not positive (bust) everything is sold, what can be repaid is repaid,
   and the rest of the debt is written off by the risk fund (fin ``compensate``).

A Unified Trading Account is checked on its account-wide ``mgnRatio`` against its own level
(:func:`riskd.sim.uta.due_for_liquidation`) and liquidated the same way, down to ``TARGET`` ×
its level (half of it, as the classic 0.5 is half of 1).

A liquidation record (``liqRisk``, ``totalAssets``, ``totalDebt`` at the start, ``LiqFee``) is
written for each event.
"""

from __future__ import annotations

from decimal import Decimal

from riskd.amounts import fmt8
from riskd.risk.math import INFINITE
from riskd.sim import uta
from riskd.sim.book import Account, ScopeBook
from riskd.sim.catalog import USDT
from riskd.sim.convert import raise_coin
from riskd.sim.ledger import ms
from riskd.sim.market import q8
from riskd.sim.orders import Trading
from riskd.sim.records import Record

ZERO = Decimal(0)
TARGET = Decimal("0.5")
FEE_RATE = Decimal("0.01")
#: Display value of an infinite risk rate (no net assets) in the liquidation list.
RISK_CAP = Decimal("99999999")
_PASSES = 6


class Liquidator:
    """Checks risk rates and liquidates scopes at the liquidation ratio."""

    def __init__(self, trading: Trading, target: Decimal = TARGET, fee_rate: Decimal = FEE_RATE):
        self.trading = trading
        self.ledger = trading.ledger
        self.target = target
        self.fee_rate = fee_rate
        self.count = 0

    def check(self, account: Account, now_s: float) -> list[Record]:
        """Liquidate every scope of ``account`` at or above the liquidation ratio (a Unified
        Trading Account: its one book at its mgnRatio level, :mod:`riskd.sim.uta`)."""
        done: list[Record] = []
        if account.unified:
            if uta.due_for_liquidation(self.ledger, account, now_s):
                target = self.target * uta.liquidation_level(account)
                done.append(self.liquidate(account, uta.uta_book(account), now_s, target))
            return done
        ratio = self.ledger.catalog.liquidation_risk_ratio
        for book in self.ledger.scopes_with_debt(account):
            if self.ledger.risk_rate(book, now_s) >= ratio:
                done.append(self.liquidate(account, book, now_s))
        return done

    def liquidate(
        self, account: Account, book: ScopeBook, now_s: float, target: Decimal | None = None
    ) -> Record:
        """Liquidate ``book`` down to ``target`` (default :data:`TARGET`) risk rate."""
        goal = self.target if target is None else target
        start = self.ledger.valuation(book, now_s)
        self.trading.cancel_scope(account, book, now_s)
        fee_total = ZERO
        for _ in range(_PASSES):
            v = self.ledger.valuation(book, now_s)
            if v.liabilities <= 0 or v.risk_rate <= goal * Decimal("1.1"):
                break
            if v.equity <= 0:
                self._close_out(account, book, now_s)
                break
            avg_mmr = v.weighted_liabilities / v.liabilities
            cost = self.fee_rate + Decimal("0.002")
            denom = avg_mmr - goal * cost
            x = v.liabilities if denom <= 0 else (v.weighted_liabilities - goal * v.equity)
            if denom > 0:
                x = x / denom
            fee_total += self._repay_value(account, book, min(x, v.liabilities), now_s)
        rate = start.risk_rate
        fields: dict[str, str | None] = {"symbol": book.symbol} if book.symbol else {}
        now_ms = str(ms(now_s))
        fields.update(
            liqStartTime=now_ms,
            liqEndTime=now_ms,
            liqRisk=fmt8(RISK_CAP if rate == INFINITE else min(rate, RISK_CAP)),
            totalAssets=fmt8(start.assets),
            totalDebt=fmt8(start.liabilities),
            LiqFee=fmt8(fee_total),
            cTime=now_ms,
        )
        self.count += 1
        return account.records.add("liquidation", book.scope, None, ms(now_s), None, fields)

    def _repay_value(self, account: Account, book: ScopeBook, x: Decimal, now_s: float) -> Decimal:
        """Repay about ``x`` USDT of debt, largest liability first; returns the fee charged."""
        market = self.ledger.market
        fee_total = ZERO
        debts = [b for b in book.balances.values() if b.liability > 0]
        debts.sort(key=lambda b: b.liability * market.coin_price(b.coin, now_s), reverse=True)
        for bal in debts:
            if x <= 0:
                break
            price = market.coin_price(bal.coin, now_s)
            amount = min(bal.liability, q8(min(x, bal.liability * price) / price))
            have = raise_coin(self.trading, account, book, bal.coin, amount, now_s, "liquidation")
            paid, _ = self.ledger.repay(
                account, book, bal.coin, min(amount, have), now_s, "liqRepay", strict=False
            )
            x -= paid * price
            fee_total += self._charge_fee(account, book, q8(paid * price * self.fee_rate), now_s)
        return fee_total

    def _charge_fee(self, account: Account, book: ScopeBook, fee: Decimal, now_s: float) -> Decimal:
        if fee <= 0:
            return ZERO
        have = raise_coin(self.trading, account, book, USDT, fee, now_s, "liquidation")
        charged = min(fee, have)
        if charged <= 0:
            return ZERO
        book.balance(USDT, ms(now_s)).available -= charged
        self.ledger.fin(account, book, USDT, "liquidation_fee", -charged, now_s, fee=charged)
        return charged

    def _close_out(self, account: Account, book: ScopeBook, now_s: float) -> None:
        """Bust: repay what everything sells for, the risk fund writes off the rest."""
        for bal in [b for b in book.balances.values() if b.liability > 0]:
            have = raise_coin(
                self.trading, account, book, bal.coin, bal.liability, now_s, "liquidation"
            )
            self.ledger.repay(
                account, book, bal.coin, min(have, bal.liability), now_s, "liqRepay", strict=False
            )
        for bal in [b for b in book.balances.values() if b.liability > 0]:
            written_off = bal.liability
            bal.borrow = bal.interest = ZERO
            bal.next_interest_s = None
            self.ledger.fin(account, book, bal.coin, "compensate", written_off, now_s)
