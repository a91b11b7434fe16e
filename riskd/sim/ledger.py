"""Money movements of the simulated exchange: transfers, borrow, repay, interest, limits.

Every change writes its records (loan, repay, interest, fin). Amounts are Decimals with 8
decimals. Formulas (documented here because the document does not give them):

- **Interest** is charged hourly on the borrowed principal: ``borrow × dailyRate / 24``,
  rounded *up* to 8 decimals. Borrowing charges the first hour at once (type ``first``); then
  one ``scheduled`` charge per full hour of market time.
- **Repay** pays interest first, then principal; it is refused when ``repayAmount`` is below
  the interest (50042) or above the available balance (50041); more than the debt repays the
  debt only.
- **Max borrowable** of coin ``c``: with equity ``E`` (assets − liabilities, USDT), scope
  leverage ``L`` (cross 3, isolated 10) and liabilities ``Λ`` (USDT):
  ``min((E × (L − 1) − Λ) / price_c, tierMax_c − borrow_c)``, never below 0. Borrowing up to it
  puts the account at leverage ``L`` (cross: risk rate 0.2; isolated: 0.45).
- **Max transfer out**: the available balance when there is no debt; otherwise what leaves
  ``E × (L − 1) ≥ Λ``: ``min(available, (E − Λ / (L − 1)) / price)``.
- **Risk rate** is :func:`riskd.risk.math.value` (liabilities × mmr / net assets).
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from riskd.amounts import fmt8, quantize_down
from riskd.risk import math as riskmath
from riskd.sim.book import Account, Balance, ScopeBook
from riskd.sim.catalog import Catalog
from riskd.sim.errors import SimError
from riskd.sim.market import Market

ZERO = Decimal(0)
HOUR_S = 3600.0
_Q8 = Decimal("0.00000001")


def ms(now_s: float) -> int:
    return round(now_s * 1000)


def hourly_interest(principal: Decimal, daily_rate: Decimal) -> Decimal:
    return (principal * daily_rate / 24).quantize(_Q8, rounding=ROUND_UP)


class Ledger:
    """Balance changes and the figures derived from balances and prices."""

    def __init__(self, catalog: Catalog, market: Market) -> None:
        self.catalog = catalog
        self.market = market

    # ------------------------------------------------------------------ tier data per scope
    def check_coin(self, book: ScopeBook, coin: str) -> None:
        self.catalog.coin(coin)
        symbol = book.symbol
        if symbol is not None and coin not in self.catalog.symbol(symbol).coins():
            raise SimError("50039", detail=f"{coin} is not a coin of {symbol}")

    def mmr(self, book: ScopeBook) -> dict[str, Decimal]:
        if book.symbol is None:
            return {c: self.catalog.coin(c).cross_mmr for c in book.balances}
        spec = self.catalog.symbol(book.symbol)
        return {spec.base: spec.mmr, spec.quote: spec.mmr}

    def leverage(self, book: ScopeBook) -> Decimal:
        if book.symbol is None:
            return self.catalog.coin("USDT").cross_leverage
        return self.catalog.symbol(book.symbol).leverage

    def daily_rate(self, book: ScopeBook, coin: str) -> Decimal:
        if book.symbol is None:
            return self.catalog.coin(coin).daily_interest_rate
        return self.catalog.symbol(book.symbol).daily_rate(coin)

    def tier_max(self, book: ScopeBook, coin: str) -> Decimal:
        if book.symbol is None:
            return self.catalog.coin(coin).cross_max_borrowable
        return self.catalog.symbol(book.symbol).max_borrowable(coin)

    # ------------------------------------------------------------------ valuation
    def valuation(self, book: ScopeBook, now_s: float) -> riskmath.Valuation:
        return riskmath.value(book.snapshots(), self.market.coin_prices(now_s), self.mmr(book))

    def risk_rate(self, book: ScopeBook, now_s: float) -> Decimal:
        return self.valuation(book, now_s).risk_rate

    def max_borrowable(self, book: ScopeBook, coin: str, now_s: float) -> Decimal:
        self.check_coin(book, coin)
        if not self.catalog.coin(coin).borrowable:
            return ZERO
        v = self.valuation(book, now_s)
        room_value = v.equity * (self.leverage(book) - 1) - v.liabilities
        room = room_value / self.market.coin_price(coin, now_s)
        bal = book.peek(coin)
        tier_room = self.tier_max(book, coin) - (bal.borrow if bal else ZERO)
        return max(ZERO, quantize_down(min(room, tier_room)))

    def max_transfer_out(self, book: ScopeBook, coin: str, now_s: float) -> Decimal:
        self.check_coin(book, coin)
        bal = book.peek(coin)
        if bal is None:
            return ZERO
        v = self.valuation(book, now_s)
        if v.liabilities <= 0:
            return bal.available
        spare = v.equity - v.liabilities / (self.leverage(book) - 1)
        value = spare / self.market.coin_price(coin, now_s)
        return max(ZERO, quantize_down(min(bal.available, value)))

    # ------------------------------------------------------------------ records
    def _base_fields(self, book: ScopeBook) -> dict[str, str | None]:
        return {"symbol": book.symbol} if book.symbol is not None else {}

    def fin(
        self,
        account: Account,
        book: ScopeBook,
        coin: str,
        margin_type: str,
        amount: Decimal,
        now_s: float,
        fee: Decimal = ZERO,
    ) -> None:
        bal = book.balance(coin, ms(now_s))
        fields = self._base_fields(book)
        fields.update(
            coin=coin,
            marginType=margin_type,
            amount=fmt8(amount),
            fee=fmt8(fee),
            balance=fmt8(bal.total),
            cTime=str(ms(now_s)),
        )
        account.records.add("fin", book.scope, coin, ms(now_s), margin_type, fields)

    def _interest_record(
        self, account: Account, book: ScopeBook, coin: str, amount: Decimal, kind: str, t: float
    ) -> None:
        fields = self._base_fields(book)
        fields.update(
            cTime=str(ms(t)),
            amount=fmt8(amount),
            type=kind,
            interestCoin=coin,
            loanCoin=coin,
            interestRate=fmt8(self.daily_rate(book, coin)),
        )
        account.records.add("interest", book.scope, coin, ms(t), kind, fields)

    # ------------------------------------------------------------------ movements
    def transfer_in(
        self, account: Account, book: ScopeBook, coin: str, amount: Decimal, now_s: float
    ) -> None:
        self.check_coin(book, coin)
        if amount <= 0:
            raise ValueError(f"transfer of {amount} {coin} into {book.scope}: must be > 0")
        bal = book.balance(coin, ms(now_s))
        bal.available += quantize_down(amount)
        self.fin(account, book, coin, "transfer_in", quantize_down(amount), now_s)

    def borrow(
        self,
        account: Account,
        book: ScopeBook,
        coin: str,
        amount: Decimal,
        now_s: float,
        loan_type: str = "manualLoan",
    ) -> Decimal:
        self.check_coin(book, coin)
        spec = self.catalog.coin(coin)
        if not spec.borrowable:
            raise SimError("50037")
        if amount < Decimal("0.00000001"):
            raise SimError("50034")
        limit = self.max_borrowable(book, coin, now_s)
        if amount > limit:
            raise SimError("50035", detail=f"at most {fmt8(limit)} {coin} can be borrowed now")
        bal = book.balance(coin, ms(now_s))
        bal.available += amount
        bal.borrow += amount
        first = hourly_interest(amount, self.daily_rate(book, coin))
        bal.interest += first
        if bal.next_interest_s is None:
            bal.next_interest_s = now_s + HOUR_S
        fields = self._base_fields(book)
        fields.update(coin=coin, cTime=str(ms(now_s)), amount=fmt8(amount), type=loan_type)
        account.records.add("loan", book.scope, coin, ms(now_s), loan_type, fields)
        self._interest_record(account, book, coin, first, "first", now_s)
        self.fin(account, book, coin, "borrow", amount, now_s)
        return amount

    @staticmethod
    def check_repay(bal: Balance, coin: str, amount: Decimal) -> None:
        """The document's refusals of a user's repay."""
        if amount <= 0:
            raise SimError("50040")
        if bal.liability <= 0:
            raise SimError("50011", detail=f"there is no {coin} debt to repay")
        if amount > bal.available:
            raise SimError("50041")
        if amount < bal.interest:
            raise SimError("50042", detail=f"interest is {fmt8(bal.interest)} {coin}")

    def repay(
        self,
        account: Account,
        book: ScopeBook,
        coin: str,
        amount: Decimal,
        now_s: float,
        repay_type: str = "manualRepay",
        strict: bool = True,
        record_id: int | None = None,
    ) -> tuple[Decimal, Decimal]:
        """Repay up to ``amount`` (interest first); returns (repaid, remaining debt).

        ``strict`` applies the document's refusals (user repays); the exchange's own repays
        (auto, liquidation, flash) pass ``strict=False`` and repay what they can.
        """
        self.check_coin(book, coin)
        bal = book.balance(coin, ms(now_s))
        if strict:
            self.check_repay(bal, coin, amount)
        amount = min(amount, bal.available, bal.liability)
        if amount <= 0:
            return ZERO, bal.liability
        interest_part = min(amount, bal.interest)
        principal = min(amount - interest_part, bal.borrow)
        paid = interest_part + principal
        bal.available -= paid
        bal.interest -= interest_part
        bal.borrow -= principal
        if bal.borrow <= 0:
            bal.next_interest_s = None
        fields = self._base_fields(book)
        fields.update(
            coin=coin,
            cTime=str(ms(now_s)),
            totalAmount=fmt8(paid),
            type=repay_type,
            interest=fmt8(interest_part),
            amount=fmt8(principal),
        )
        account.records.add("repay", book.scope, coin, ms(now_s), repay_type, fields, record_id)
        self.fin(account, book, coin, "repay", -paid, now_s)
        return paid, bal.liability

    def accrue(self, account: Account, now_s: float) -> None:
        """Charge every hourly interest due up to ``now_s``."""
        for book in account.scopes.values():
            for bal in book.balances.values():
                self._accrue_one(account, book, bal, now_s)

    def _accrue_one(self, account: Account, book: ScopeBook, bal: Balance, now_s: float) -> None:
        while bal.next_interest_s is not None and bal.next_interest_s <= now_s:
            t = bal.next_interest_s
            if bal.borrow <= 0:
                bal.next_interest_s = None
                return
            amount = hourly_interest(bal.borrow, self.daily_rate(book, bal.coin))
            bal.interest += amount
            self._interest_record(account, book, bal.coin, amount, "scheduled", t)
            bal.next_interest_s = t + HOUR_S

    def scopes_with_debt(self, account: Account) -> list[ScopeBook]:
        return [b for b in account.scopes.values() if b.has_debt()]
