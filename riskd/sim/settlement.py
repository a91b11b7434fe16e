"""Repays with a settlement delay (a scenario's ``settlement.repay_s``).

Without a delay a repay executes at once (:meth:`Ledger.repay`). With one, the repay is checked
as usual (50040/50011/50041/50042), its amount (at most the debt) moves from ``available`` to
``frozen`` and the answer comes at once with the repay id and the debt expected to remain; the
debt is reduced ``repay_s`` later (repay type ``manualRepay``, the record carries the id given
in the answer). A repay that cannot settle in full (interest grew meanwhile) repays what the
frozen amount covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from riskd.sim.book import Account, PendingRepay, ScopeBook
from riskd.sim.ledger import Ledger, ms
from riskd.sim.records import IdSource


@dataclass(frozen=True, slots=True)
class RepayAccepted:
    """What a repay endpoint answers: the repay id, the amount taken and the debt left."""

    repay_id: int
    amount: Decimal
    remaining: Decimal


class RepaySettler:
    """Executes user repays at once or after the scenario's delay."""

    def __init__(self, ledger: Ledger, ids: IdSource, delay_s: float = 0.0) -> None:
        self.ledger = ledger
        self.ids = ids
        self.delay_s = delay_s

    def repay(
        self, account: Account, book: ScopeBook, coin: str, amount: Decimal, now_s: float
    ) -> RepayAccepted:
        if self.delay_s <= 0:
            paid, remain = self.ledger.repay(account, book, coin, amount, now_s)
            return RepayAccepted(account.records.all("repay")[-1].id, paid, remain)
        self.ledger.check_coin(book, coin)
        bal = book.balance(coin, ms(now_s))
        self.ledger.check_repay(bal, coin, amount)
        taken = min(amount, bal.liability)
        bal.available -= taken
        bal.frozen += taken
        pending = PendingRepay(self.ids.next(), book.scope, coin, taken, now_s + self.delay_s)
        account.pending_repays.append(pending)
        return RepayAccepted(pending.id, taken, bal.liability - taken)

    @staticmethod
    def pending(account: Account) -> bool:
        return bool(account.pending_repays)

    def advance(self, account: Account, now_s: float) -> None:
        """Settle every repay due by ``now_s``."""
        due = [p for p in account.pending_repays if p.due_s <= now_s]
        for p in due:
            account.pending_repays.remove(p)
            book = account.scope(p.scope)
            bal = book.balance(p.coin, ms(p.due_s))
            released = min(p.amount, bal.frozen)
            bal.frozen -= released
            bal.available += released
            self.ledger.repay(
                account, book, p.coin, released, p.due_s, strict=False, record_id=p.id
            )
