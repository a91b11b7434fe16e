"""Orders against the index price, with fees, frozen balances and ``loanType`` semantics.

- Market orders fill at once at the index price: a buy spends ``quoteAmount`` of the quote
  coin, a sell sells ``baseQuantity``.
- Limit orders fill at the index price when they cross on placement (taker), otherwise they
  rest with their cost frozen (buy: ``baseQuantity × price`` of quote; sell: the base) and fill
  at their limit price when the index crosses it (buy: index ≤ price; sell: index ≥ price).
  ``post_only`` orders that would cross are cancelled; ``ioc`` / ``fok`` orders that do not
  cross are cancelled. Orders fill completely (no partial fills).
- Fees (``takerFeeRate`` = ``makerFeeRate``) are charged in the received coin.
- ``autoLoan`` borrows the shortfall of the spent coin at placement (loan type ``autoLoan``);
  ``autoRepay`` uses the received coin to repay that coin's debt after the fill (repay type
  ``autoRepay``); ``autoLoanAndRepay`` does both; ``normal`` needs the balance.
- With a settlement delay (a scenario's ``settlement.order_s``), an order that would fill on
  placement (market, or a crossing limit) is accepted as ``new`` with its cost frozen and
  fills ``order_s`` later at the index price of that moment (a limit order only if the index
  still crosses it; otherwise it rests). A scenario's set-up (its positions) is not delayed:
  it is the state the scenario starts in.
- System trades (liquidation, flash repay) are market orders with the sides
  ``liquidation-sell`` / ``liquidation-buy`` / ``systemRepay-sell`` / ``systemRepay-buy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from riskd.amounts import fmt8, quantize_down
from riskd.sim.book import Account, Balance, Fill, Order, ScopeBook
from riskd.sim.catalog import SymbolSpec
from riskd.sim.errors import SimError, param_empty, param_error
from riskd.sim.ledger import Ledger, ms
from riskd.sim.records import IdSource

ZERO = Decimal(0)
_Q8 = Decimal("0.00000001")
SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market")
LOAN_TYPES = ("normal", "autoLoan", "autoRepay", "autoLoanAndRepay")
TIME_IN_FORCE = ("gtc", "post_only", "fok", "ioc")
CLIENT_OID_MAX = 40


def _up(value: Decimal) -> Decimal:
    return value.quantize(_Q8, rounding=ROUND_UP)


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated-for-presence order as the client sent it."""

    symbol: str
    side: str
    order_type: str
    loan_type: str
    time_in_force: str
    price: Decimal | None = None
    base_quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    client_oid: str | None = None


class Trading:
    """Places, cancels and fills orders of every account."""

    def __init__(self, ledger: Ledger, ids: IdSource, settle_s: float = 0.0) -> None:
        self.ledger = ledger
        self.ids = ids
        #: Market seconds between accepting a taker order and its fill.
        self.settle_s = settle_s

    # ------------------------------------------------------------------ validation
    def validate(self, account: Account, req: OrderRequest, now_s: float) -> SymbolSpec:
        spec = self.ledger.catalog.symbol(req.symbol)
        for name, value, allowed in (
            ("side", req.side, SIDES),
            ("orderType", req.order_type, ORDER_TYPES),
            ("loanType", req.loan_type, LOAN_TYPES),
            ("timeInForce", req.time_in_force, TIME_IN_FORCE),
        ):
            if value not in allowed:
                raise param_error(name, f"{value!r} is not one of {', '.join(allowed)}")
        if req.client_oid is not None:
            if len(req.client_oid) > CLIENT_OID_MAX:
                raise param_error("clientOid", f"at most {CLIENT_OID_MAX} characters")
            if any(o.client_oid == req.client_oid for o in account.orders):
                raise SimError("50060")
        for name, amount in (
            ("price", req.price),
            ("baseQuantity", req.base_quantity),
            ("quoteAmount", req.quote_amount),
        ):
            if amount is not None and amount <= 0:
                raise param_error(name, "must be greater than 0")
        if req.price is not None and _decimals(req.price) > spec.price_scale:
            raise param_error("price", f"at most {spec.price_scale} decimals for {spec.symbol}")
        qty = req.base_quantity
        if qty is not None and _decimals(qty) > spec.quantity_scale:
            raise param_error(
                "baseQuantity", f"at most {spec.quantity_scale} decimals for {spec.symbol}"
            )
        index = self.ledger.market.price(spec.symbol, now_s)
        if req.order_type == "limit":
            if req.price is None:
                raise param_empty("price")
            if qty is None:
                raise param_empty("baseQuantity")
            notional = qty * req.price
        elif req.side == "buy":
            if req.quote_amount is None:
                raise param_empty("quoteAmount")
            notional = req.quote_amount
            qty = req.quote_amount / index
        else:
            if qty is None:
                raise param_empty("baseQuantity")
            notional = qty * index
        if qty < spec.min_trade_amount:
            raise SimError("45111", detail=f"minimum is {spec.min_trade_amount} {spec.base}")
        if qty > spec.max_trade_amount:
            raise SimError("45112", detail=f"maximum is {spec.max_trade_amount} {spec.base}")
        if notional < spec.min_trade_usdt:
            raise SimError("45110", spec.min_trade_usdt)
        return spec

    # ------------------------------------------------------------------ placement
    def place(
        self,
        account: Account,
        book: ScopeBook,
        req: OrderRequest,
        now_s: float,
        *,
        settle: bool = True,
    ) -> Order:
        """Place ``req``; with ``settle`` False (a scenario's set-up: the state it starts in)
        a crossing order fills at once whatever ``settlement.order_s``."""
        spec = self.validate(account, req, now_s)
        index = self.ledger.market.price(spec.symbol, now_s)
        order_id = self.ids.next()
        order = Order(
            id=order_id,
            client_oid=req.client_oid or f"sim{order_id}",
            scope=book.scope,
            symbol=spec.symbol,
            side=req.side,
            order_type=req.order_type,
            loan_type=req.loan_type,
            time_in_force=req.time_in_force,
            source="API",
            ctime_ms=ms(now_s),
            price=req.price,
            base_quantity=req.base_quantity,
            quote_amount=req.quote_amount,
        )
        crosses = req.order_type == "market" or self._crosses(order, index)
        if req.order_type == "limit" and (
            (req.time_in_force == "post_only" and crosses)
            or (req.time_in_force in ("ioc", "fok") and not crosses)
        ):
            order.status = "cancelled"
            account.orders.append(order)
            return order
        spend_coin = spec.quote if req.side == "buy" else spec.base
        delayed = crosses and settle and self.settle_s > 0
        need = self._cost(order, index if crosses and not delayed else None)
        self._fund(account, book, spend_coin, need, req.loan_type, now_s)
        account.orders.append(order)
        if delayed:
            order.settle_s = now_s + self.settle_s
        if crosses and not delayed:
            self._execute(account, book, order, index, now_s)
        else:
            bal = book.balance(spend_coin, ms(now_s))
            bal.available -= need
            bal.frozen += need
            order.frozen_coin, order.frozen_amount = spend_coin, need
        return order

    @staticmethod
    def _crosses(order: Order, index: Decimal) -> bool:
        assert order.price is not None
        return index <= order.price if order.buys else index >= order.price

    @staticmethod
    def _cost(order: Order, fill_price: Decimal | None) -> Decimal:
        """What the order spends (quote for a buy, base for a sell)."""
        if not order.buys:
            assert order.base_quantity is not None
            return order.base_quantity
        if order.order_type == "market":
            assert order.quote_amount is not None
            return order.quote_amount
        assert order.base_quantity is not None and order.price is not None
        return _up(order.base_quantity * (fill_price or order.price))

    def _fund(
        self,
        account: Account,
        book: ScopeBook,
        coin: str,
        need: Decimal,
        loan_type: str,
        now_s: float,
    ) -> None:
        bal = book.balance(coin, ms(now_s))
        short = need - bal.available
        if short <= 0:
            return
        if loan_type not in ("autoLoan", "autoLoanAndRepay"):
            raise SimError("50020", detail=f"{fmt8(bal.available)} {coin} available")
        self.ledger.borrow(account, book, coin, short, now_s, loan_type="autoLoan")

    # ------------------------------------------------------------------ execution
    def _execute(
        self, account: Account, book: ScopeBook, order: Order, price: Decimal, now_s: float
    ) -> None:
        spec = self.ledger.catalog.symbol(order.symbol)
        now_ms = ms(now_s)
        base = book.balance(spec.base, now_ms)
        quote = book.balance(spec.quote, now_ms)
        fee_rate = spec.taker_fee_rate
        if order.buys:
            cost = self._cost(order, price)
            qty = (
                quantize_down(cost / price)
                if order.order_type == "market"
                else (order.base_quantity or ZERO)
            )
            fee, fee_coin, got = _up(qty * fee_rate), spec.base, qty
            self._debit(quote, order, cost)
            base.available += got - fee
            spent_coin, received_coin, total = spec.quote, spec.base, cost
        else:
            qty = order.base_quantity or ZERO
            total = quantize_down(qty * price)
            fee, fee_coin, got = _up(total * fee_rate), spec.quote, total
            self._debit(base, order, qty)
            quote.available += got - fee
            spent_coin, received_coin = spec.base, spec.quote
        order.status = "full_fill"
        order.fill_price, order.fill_quantity, order.fill_total = price, qty, total
        account.fills.append(
            Fill(
                self.ids.next(),
                order.id,
                order.scope,
                order.symbol,
                order.side,
                order.order_type,
                price,
                qty,
                total,
                fee,
                fee_coin,
                now_ms,
            )
        )
        spent = total if order.buys else qty
        self.ledger.fin(account, book, spent_coin, "deal_out", -spent, now_s)
        self.ledger.fin(account, book, received_coin, "deal_in", got - fee, now_s, fee=fee)
        if order.loan_type in ("autoRepay", "autoLoanAndRepay"):
            bal = book.balance(received_coin, now_ms)
            if bal.liability > 0 and bal.available > 0:
                self.ledger.repay(
                    account, book, received_coin, bal.available, now_s, "autoRepay", strict=False
                )

    @staticmethod
    def _debit(bal: Balance, order: Order, amount: Decimal) -> None:
        if order.frozen_amount > 0:
            bal.frozen -= order.frozen_amount
            bal.available += order.frozen_amount - amount
            order.frozen_amount = ZERO
        else:
            bal.available -= amount

    # ------------------------------------------------------------------ cancel and match
    def cancel(self, account: Account, order: Order, now_s: float) -> None:
        if not order.is_open:
            raise SimError("50062")
        if order.frozen_coin is not None and order.frozen_amount > 0:
            bal = account.scope(order.scope).balance(order.frozen_coin, ms(now_s))
            bal.frozen -= order.frozen_amount
            bal.available += order.frozen_amount
            order.frozen_amount = ZERO
        order.status = "cancelled"

    @staticmethod
    def settling(account: Account) -> bool:
        """True while an accepted order waits for its settlement."""
        return any(o.settle_s is not None for o in account.open_orders())

    def cancel_scope(self, account: Account, book: ScopeBook, now_s: float) -> int:
        orders = account.open_orders(book.scope)
        for order in orders:
            self.cancel(account, order, now_s)
        return len(orders)

    def match(self, account: Account, now_s: float) -> None:
        """Fill every resting limit order the index price now crosses, at its limit price."""
        for order in account.open_orders():
            price = self.ledger.market.price(order.symbol, now_s)
            if order.settle_s is not None:
                if now_s < order.settle_s:
                    continue
                order.settle_s = None
                if order.price is None or self._crosses(order, price):
                    self._execute(account, account.scope(order.scope), order, price, now_s)
                continue
            if order.price is not None and self._crosses(order, price):
                self._execute(account, account.scope(order.scope), order, order.price, now_s)

    def system_trade(
        self,
        account: Account,
        book: ScopeBook,
        symbol: str,
        side: str,
        now_s: float,
        *,
        base_quantity: Decimal | None = None,
        quote_amount: Decimal | None = None,
        prefix: str = "liquidation",
    ) -> Order | None:
        """A forced market order (no minimums, no loans); ``None`` when there is nothing."""
        amount = base_quantity if side == "sell" else quote_amount
        if amount is None or quantize_down(amount) <= 0:
            return None
        order_id = self.ids.next()
        order = Order(
            id=order_id,
            client_oid=f"sys{order_id}",
            scope=book.scope,
            symbol=symbol,
            side=f"{prefix}-{side}",
            order_type="market",
            loan_type="normal",
            time_in_force="gtc",
            source="SYS",
            ctime_ms=ms(now_s),
            base_quantity=quantize_down(base_quantity) if base_quantity is not None else None,
            quote_amount=quantize_down(quote_amount) if quote_amount is not None else None,
        )
        account.orders.append(order)
        self._execute(account, book, order, self.ledger.market.price(symbol, now_s), now_s)
        return order
