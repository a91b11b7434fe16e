""":class:`~riskd.daemon.exchange.Exchange` of a Unified Trading Account (API v3).

A UTA account has one account-wide margin: riskd watches it as one scope, ``"uta"``
(:data:`riskd.risk.snapshot.UTA`). Its risk rate is ``mgnRatio ÷ liquidation level`` (the
level is a setting, ``uta_liquidation_level``: the real one is unconfirmed), so 1 is
liquidation and the shipped ladder's lines apply unchanged (docs/rules.md).

The daemon's calls map onto the v3 methods of :class:`~riskd.bitget.client_uta.UtaMethods`;
the ``margin`` argument of the :class:`Exchange` protocol is ignored (one book):

- :meth:`read` → ``uta_assets`` (the poller's one read per cycle for the ``uta`` scope);
  :meth:`assets` gives its coins as rows (``borrow`` = the coin's debt, interest included);
- ``repay`` → ``uta_repay`` of the coin paid with that coin only (the exchange repays what the
  balance covers; UTA's repay takes no amount and no client id);
- ``place_market_autorepay`` → a MARGIN market order carrying the intent's ``clientOid``, then
  (UTA orders never repay by themselves) a repay of the debt coin with what the order bought;
- ``batch_cancel`` / ``open_orders`` → ``uta_cancel_order`` / ``uta_open_orders``;
- ``flash_repay`` → UTA has none. A rule naming ``scope = "uta"`` with ``flashRepay`` is a load
  error; a ``"*"`` rule's flashRepay (the shipped ladder's last step) is sent as the
  account-wide repay it stands for: every debt coin, paid with every coin held. It finishes
  in the call (its status is ``FINISH`` at once).

Reconciliation (:mod:`riskd.daemon.reconcile`) of an intent whose answer was lost:

- an order is looked up by its ``clientOid`` (:meth:`order_history` → ``uta_order_info``;
  "no such order" is an answer, any failure is not and leaves the intent open);
- v3 lists no repay records, so a repay is settled by comparing the coin's debt before it was
  sent with the debt now. :meth:`repay` reads the debt just before sending (the poll's figure
  if that read fails) and keeps it until the intent is settled (:meth:`debt_before_repay`);
  after a restart that figure is gone, and the intent stays open with one critical alert
  (:meth:`cannot_settle`) rather than being guessed "not executed". The account-wide repay
  a ``"*"`` flashRepay stands for keeps every debt it repays the same way
  (:meth:`debts_before_flash`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from riskd.bitget.client import BitgetClient
from riskd.bitget.models_uta import UtaAssets, UtaOrder
from riskd.daemon.client_exchange import ClientExchange, _guard
from riskd.daemon.exchange import (
    AssetRow,
    CallRejected,
    CallUncertain,
    CancelResult,
    Margin,
    OrderInfo,
    RepayRecord,
    Side,
    SymbolInfo,
    TierInfo,
)
from riskd.risk.snapshot import USDT

log = logging.getLogger(__name__)
ZERO = Decimal(0)
#: The status the reconciler waits for on a flash repay (ours finishes in the call).
FINISH = "FINISH"
BadAnswerHook = Callable[[str], Awaitable[None]]


def _order(o: UtaOrder) -> OrderInfo:
    return OrderInfo(o.order_id, o.client_oid, o.status, o.symbol)


def _split(symbol: str) -> tuple[str, str]:
    if symbol.endswith(USDT) and len(symbol) > len(USDT):
        return symbol[: -len(USDT)], USDT
    raise CallRejected(f"not sent: cannot tell the coins of symbol {symbol!r}", code="request")


class UtaExchange:
    """One Unified Trading Account seen as an :class:`~riskd.daemon.exchange.Exchange`."""

    def __init__(
        self,
        client: BitgetClient,
        *,
        liquidation_level: Decimal,
        on_bad_answer: BadAnswerHook | None = None,
    ) -> None:
        if liquidation_level <= 0:
            raise ValueError(f"uta_liquidation_level must be above 0, got {liquidation_level}")
        self.client = client
        self.liquidation_level = liquidation_level
        #: Public reference data (currencies) is the classic API's: no 40085 there.
        self._public = ClientExchange(client, on_bad_answer=on_bad_answer)
        self.last: UtaAssets | None = None
        self._repays = 0
        self._on_bad_answer = on_bad_answer
        #: coin → its debt read just before the last repay of it that is not settled yet.
        self._debt_before: dict[str, Decimal] = {}
        self._alerted: set[str] = set()
        #: The debts (coin → debt, the cycle's read) before an unsettled account-wide repay.
        self._flash_before: dict[str, Decimal] | None = None

    # --- reads ------------------------------------------------------------------------------
    async def read(self) -> UtaAssets:
        """The account-wide figures the poller sees (one ``uta_assets`` call); the real ones
        are kept as :attr:`last` (a dry-run account's subclass puts its shadow on top,
        :class:`~riskd.daemon.shadow_exchange.ShadowUtaExchange`)."""
        return await self._fetch()

    async def _fetch(self) -> UtaAssets:
        """The real figures, kept as :attr:`last` (reconciliation and orders read these)."""
        self.last = await _guard(self.client.uta_assets())
        return self.last

    def risk_rate(self, assets: UtaAssets) -> Decimal:
        """``mgnRatio ÷ liquidation level``: 1 = liquidation."""
        return assets.mgn_ratio / self.liquidation_level

    async def assets(self, margin: Margin) -> list[AssetRow]:
        if margin == "isolated":
            return []
        got = await self.read()
        return [
            AssetRow(c.coin, c.available, max(c.balance - c.available, ZERO), c.debt, ZERO)
            for c in got.assets
        ]

    async def cross_risk_rate(self) -> Decimal:
        return self.risk_rate(await self.read())

    async def isolated_risk_rate(self, symbol: str) -> Decimal:
        raise CallRejected(f"a Unified Trading Account has no isolated scope ({symbol})")

    async def symbols(self) -> list[SymbolInfo]:
        return await self._public.symbols()

    async def tier(self, margin: Margin, key: str) -> TierInfo:
        """The coin's first MARGIN tier (maintenance margin rate, leverage)."""
        tiers = await _guard(self.client.uta_position_tiers(coin=key))
        if not tiers:
            raise CallRejected(f"no MARGIN tier listed for {key}")
        first = tiers[0]
        return TierInfo(first.mmr, first.leverage, {})

    async def open_orders(
        self, margin: Margin, symbol: str, *, client_oid: str | None = None
    ) -> list[OrderInfo]:
        orders = await _guard(self.client.uta_open_orders(symbol=symbol))
        return [_order(o) for o in orders if client_oid is None or o.client_oid == client_oid]

    async def order_history(
        self, margin: Margin, symbol: str, *, start_ms: int, client_oid: str
    ) -> list[OrderInfo]:
        """The order with ``client_oid`` (open or done) from v3 order info, or none."""
        got = await _guard(self.client.uta_order_info(client_oid=client_oid))
        if got is None or got.client_oid != client_oid:
            return []
        return [_order(got)]

    async def repays(
        self, margin: Margin, *, symbol: str | None, coin: str | None, start_ms: int
    ) -> list[RepayRecord]:
        """None: v3 lists no repay records (see the module docstring)."""
        return []

    # --- reconciliation of a repay ----------------------------------------------------------
    def debt_before_repay(self, coin: str) -> Decimal | None:
        """The debt of ``coin`` read just before its last unsettled repay, if this process
        sent it."""
        return self._debt_before.get(coin)

    def debts_before_flash(self) -> dict[str, Decimal] | None:
        """The debts before the last account-wide repay whose answer was lost, if any."""
        return None if self._flash_before is None else dict(self._flash_before)

    def flash_settled(self) -> None:
        """Forget the debts kept for the account-wide repay once its intent is settled."""
        self._flash_before = None

    async def debts_now(self) -> dict[str, Decimal]:
        """Every coin with debt now (one fresh ``uta_assets`` read)."""
        return (await self._fetch()).debts()

    def repay_settled(self, coin: str) -> None:
        """Forget the figure kept for ``coin``'s repay once its intent is settled."""
        self._debt_before.pop(coin, None)

    async def debt_now(self, coin: str) -> Decimal:
        """The debt of ``coin`` now (one fresh ``uta_assets`` read); 0 when none is held."""
        row = (await self._fetch()).coin(coin)
        return row.debt if row is not None else ZERO

    async def cannot_settle(self, intent_id: str, text: str) -> None:
        """Say once per intent, as a critical alert, that it cannot be settled."""
        if intent_id in self._alerted:
            return
        self._alerted.add(intent_id)
        log.critical("intent %s: %s", intent_id, text)
        if self._on_bad_answer is not None:
            await self._on_bad_answer(f"intent {intent_id}: {text}")

    async def flash_repay_status(self, margin: Margin, flash_id: str) -> str:
        return FINISH

    # --- protective calls -----------------------------------------------------------------
    async def repay(
        self, margin: Margin, *, coin: str, amount: Decimal, symbol: str | None
    ) -> Decimal | None:
        """Repay ``coin`` from its own balance (UTA repays what the balance covers; the
        amount is riskd's estimate of that). The remaining debt is not answered. The coin's
        debt is read first and kept until the intent is settled (for reconciliation)."""
        before: Decimal | None
        try:
            before = await self.debt_now(coin)
        except (CallRejected, CallUncertain) as exc:
            row = self.last.coin(coin) if self.last is not None else None
            log.warning("uta repay of %s: debt not read before sending (%s)", coin, exc)
            before = row.debt if row is not None else None
        if before is not None:
            self._debt_before[coin] = before
        try:
            result = await _guard(
                self.client.uta_repay(repayable_coins=[coin], payment_coins=[coin])
            )
        except CallRejected:
            self._debt_before.pop(coin, None)  # a definite refusal: nothing to settle
            raise
        self._debt_before.pop(coin, None)
        if not result.repaid:
            raise CallRejected(f"uta repay of {coin}: the exchange repaid nothing (result NO)")
        return None

    async def flash_repay(self, margin: Margin, *, coin: str | None, symbol: str | None) -> str:
        """The account-wide repay a ``"*"`` rule's flashRepay stands for (module docstring)."""
        got = self.last if self.last is not None else await self._fetch()
        debts = [coin] if coin is not None else sorted(got.debts())
        payers = sorted({c.coin for c in got.assets if c.available > 0} | set(debts))
        if not debts:
            raise CallRejected("uta repay: no debt to repay")
        owed = got.debts()
        self._flash_before = {c: owed.get(c, ZERO) for c in debts}
        try:
            result = await _guard(
                self.client.uta_repay(repayable_coins=debts, payment_coins=payers)
            )
        except CallRejected:
            self._flash_before = None
            raise
        self._flash_before = None
        if not result.repaid:
            raise CallRejected("uta repay of every debt: the exchange repaid nothing (result NO)")
        self._repays += 1
        return f"uta-repay-{self._repays}"

    async def batch_cancel(self, margin: Margin, symbol: str, order_ids: list[str]) -> CancelResult:
        cancelled: list[str] = []
        failed: list[str] = []
        for order_id in order_ids:
            try:
                await _guard(self.client.uta_cancel_order(order_id=order_id, symbol=symbol))
            except CallRejected as exc:
                log.warning("uta cancel of order %s refused: %s", order_id, exc)
                failed.append(order_id)
            else:
                cancelled.append(order_id)
        return CancelResult(tuple(cancelled), tuple(failed))

    async def place_market_autorepay(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amount: Decimal,
        client_oid: str,
    ) -> str:
        """A MARGIN market order (``amount``: base quantity to sell, or quote to spend on a
        buy, turned into a base quantity at the last known price), then the repay of the coin
        it bought, since a UTA order does not repay by itself."""
        base, quote = _split(symbol)
        qty = amount if side == "sell" else amount / self._price(base)
        placed = await _guard(
            self.client.uta_place_margin_order(
                symbol=symbol, side=side, order_type="market", qty=qty, client_oid=client_oid
            )
        )
        debt_coin = quote if side == "sell" else base
        try:
            await _guard(
                self.client.uta_repay(repayable_coins=[debt_coin], payment_coins=[debt_coin])
            )
        except (CallRejected, CallUncertain) as exc:
            # The order stands (it is the intent); the next poll shows the debt left and the
            # rules repay it then.
            log.warning(
                "uta repay of %s after order %s failed: %s", debt_coin, placed.order_id, exc
            )
        return placed.order_id

    def _price(self, coin: str) -> Decimal:
        row = self.last.coin(coin) if self.last is not None else None
        if row is None or row.usd_value is None or row.equity == 0:
            raise CallRejected(f"not sent: no price known for {coin}", code="request")
        return row.usd_value / row.equity
