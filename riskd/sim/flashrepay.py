"""Flash repay: asynchronous, ``BEGIN`` → ``REPAYING`` → ``FINISH`` over market time.

A flash repay is accepted at once with an id (status ``BEGIN``); after half of its settlement
time (``REPAYING_AFTER_S``, 1 s by default) it is ``REPAYING``; after all of it
(``FINISH_AFTER_S``, 2 s by default; a scenario's ``settlement.flash_repay_s``) it sells the
scope's other assets
(``systemRepay-sell`` / ``systemRepay-buy`` orders) to cover the debt, repays it (repay type
``autoRepay``, the document's type for repays the system makes) and is ``FINISH``.
Cross repays one coin or, without a coin, every debt; isolated repays every debt of a symbol.
"""

from __future__ import annotations

from decimal import Decimal

from riskd.sim.book import Account, FlashRepay
from riskd.sim.convert import raise_coin
from riskd.sim.orders import Trading
from riskd.sim.records import IdSource

REPAYING_AFTER_S = 1.0
FINISH_AFTER_S = 2.0


class FlashRepayer:
    """Starts flash repays and moves them along as market time passes."""

    def __init__(
        self, trading: Trading, ids: IdSource, finish_after_s: float = FINISH_AFTER_S
    ) -> None:
        self.trading = trading
        self.ids = ids
        self.count = 0
        self.finish_after_s = finish_after_s
        self.repaying_after_s = finish_after_s * REPAYING_AFTER_S / FINISH_AFTER_S

    def start(self, account: Account, scope: str, coin: str | None, now_s: float) -> FlashRepay:
        account.scope(scope)
        repay = FlashRepay(self.ids.next(), scope, coin, now_s)
        account.flash_repays.append(repay)
        self.count += 1
        return repay

    def pending(self, account: Account) -> bool:
        return any(r.status != "FINISH" for r in account.flash_repays)

    def advance(self, account: Account, now_s: float) -> None:
        for repay in account.flash_repays:
            if repay.status == "FINISH":
                continue
            if repay.status == "BEGIN" and now_s >= repay.created_s + self.repaying_after_s:
                repay.status = "REPAYING"
            if repay.status == "REPAYING" and now_s >= repay.created_s + self.finish_after_s:
                self._execute(account, repay, now_s)
                repay.status = "FINISH"

    def _execute(self, account: Account, repay: FlashRepay, now_s: float) -> None:
        ledger = self.trading.ledger
        book = account.scope(repay.scope)
        coins = (
            [repay.coin]
            if repay.coin
            else [b.coin for b in book.balances.values() if b.liability > 0]
        )
        for coin in coins:
            bal = book.peek(coin)
            if bal is None or bal.liability <= 0:
                continue
            have = raise_coin(
                self.trading, account, book, coin, bal.liability, now_s, "systemRepay"
            )
            amount = min(have, bal.liability)
            if amount > Decimal(0):
                ledger.repay(account, book, coin, amount, now_s, "autoRepay", strict=False)

    def status(self, account: Account, kind: str, ids: list[str]) -> list[dict[str, str]]:
        """``[{id, status}]`` for the ids of this account and margin kind (others omitted)."""
        wanted = set(ids)
        out = []
        for repay in account.flash_repays:
            is_cross = repay.scope == "cross"
            if str(repay.id) in wanted and is_cross == (kind == "cross"):
                out.append({"id": str(repay.id), "status": repay.status})
        return out
