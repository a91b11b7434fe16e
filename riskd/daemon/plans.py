"""From a rule's action request to exactly what will be sent (pure).

The rules engine says *what kind* of action a scope needs (``repay``, ``flashRepay``,
``cancelOrders``, ``reduce``) with its parameters; :func:`plan_action` turns that into an
:class:`ActionPlan` with concrete coins and amounts, using the scope's latest snapshot:

- ``repay``: coin = ``params.coin`` or the scope's largest debt; amount = ``params.amount``
  (or, with ``params.target`` and prices, what brings the risk rate to that target; or the
  whole debt), then capped by the available balance and by the debt (borrow + interest). The
  exchange refuses a ``repayAmount`` below the interest (code 50042): a smaller amount is
  raised to the interest when the balance allows, otherwise the action is skipped.
- ``flashRepay``: cross → ``params.coin`` or every coin; isolated → the scope's symbol.
  Its legs (for caps) are the debts it will repay.
- ``cancelOrders``: every open order of the scope's symbol (isolated) or of ``params.symbols``
  / the ``<COIN>USDT`` symbols of the cross coins with a frozen balance, and — when USDT is
  frozen (buy orders) — of every other coin the cross scope holds or owes.
- ``reduce``: a market order with ``loanType = autoRepay`` that trades the non-debt coin for
  the debt coin: sells base (``baseQuantity``) when the quote coin is owed, buys base
  (``quoteAmount``) when the base coin is owed. Amount = ``params.amount``; or, with a price,
  what repays ``params.target_risk_rate``'s share of the debt (see :func:`reduce_units`) or
  else the whole debt, grossed up for the taker fee and 0.5 % slack; capped by the available
  balance and the symbol's largest order, then rounded down to the decimals the symbol
  accepts (``quantityScale`` for a base quantity, ``priceScale`` for a quote amount; 8 when
  unknown). Below the symbol's minimum order it is skipped. Cross needs ``params.symbol``
  (or ``params.coin``).

Targets (``target_risk_rate`` and/or ``target_distance``, on repay and reduce) are sized
again here, on the freshest data, by :mod:`riskd.sizing` (targets, caps, lot sizes and
minimums live there). A cross ``reduce`` with ``symbol = "*"`` becomes its next leg
(:mod:`riskd.sizing.legs`): a repay, a sale of the largest coin held, or a buy-back.

A :class:`~riskd.sizing.Skip` explains why nothing can be sent (no debt, nothing
available...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal

from riskd.amounts import WIRE_DECIMALS, quantize_down, to_wire
from riskd.risk.snapshot import USDT, UTA, ScopeSnapshot, SymbolTradeRule
from riskd.sizing import ActionKind, Skip, orders
from riskd.sizing.legs import legs_params, next_leg
from riskd.sizing.orders import DUST_SHARE, REDUCE_SLACK
from riskd.sizing.pieces import MAX_PIECES, piece_count, piece_oid, split_even
from riskd.sizing.targets import units_for_targets

#: ``reduce`` with this symbol (cross): the coins and the legs are chosen here.
ANY_SYMBOL = "*"
ZERO = Decimal(0)
ONE = Decimal(1)
_NO_RULE = SymbolTradeRule()
_EMPTY: Mapping[str, Decimal] = MappingProxyType({})


#: Every clientOid riskd sends starts with this: its own protective orders are known by it.
OWN_OID_PREFIX = "riskd-"


def client_oid(intent_id: str) -> str:
    """The clientOid of the order an intent places (≤ 40 characters, found again by it)."""
    return f"{OWN_OID_PREFIX}{intent_id}"[:40]


def is_own_order(order_client_oid: str | None) -> bool:
    """True for an order riskd placed itself (a protective market order still settling):
    ``cancelOrders`` leaves it working — cancelling it undoes the protection it is giving."""
    return bool(order_client_oid) and str(order_client_oid).startswith(OWN_OID_PREFIX)


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """One protective call, fully resolved."""

    intent_id: str
    kind: ActionKind
    account: str
    scope: str
    symbol: str | None = None
    coin: str | None = None
    amount: Decimal | None = None
    side: Literal["buy", "sell"] | None = None
    symbols: tuple[str, ...] = ()
    #: Coin amounts the action moves, for caps.
    legs: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    #: riskd chose the amount and may lower it to fit a cap.
    adjustable: bool = False
    client_oid: str | None = None
    #: Decimals the exchange accepts for ``amount`` (a lowered amount is rounded down to it).
    decimals: int = WIRE_DECIMALS
    #: Set when the amount was lowered to a limit of the exchange (``maxTradeAmount``): the
    #: runner journals it as a cap, and a step with a target sends the rest as another leg.
    note: str | None = None
    #: The amount was lowered to a limit (``note``, or all of the free balance): what the
    #: target still needs may go in another order.
    limited: bool = False
    #: A reduce over the symbol's ``maxTradeAmount``, sent as even orders of at most this
    #: in one batch call (:mod:`riskd.sizing.pieces`); None: one order.
    piece_max: Decimal | None = None
    #: A repay on a ``uta`` scope: the coin's debt when it was decided, journaled as
    #: ``debtBefore`` so that reconciliation can settle it by the debt after a restart (v3
    #: has no repay records).
    debt_before: Decimal | None = None

    @property
    def margin(self) -> Literal["cross", "isolated"]:
        return "cross" if self.scope == "cross" else "isolated"

    def with_legs(self, legs: Mapping[str, Decimal]) -> ActionPlan:
        """The plan with amounts lowered to ``legs`` (after caps)."""
        if not self.adjustable or self.coin is None:
            return self
        amount = legs.get(self.coin, self.amount)
        new_legs = dict(legs)
        if amount is not None:
            amount = quantize_down(amount, self.decimals)
            new_legs[self.coin] = amount
        return replace(self, amount=amount, legs=MappingProxyType(new_legs))

    def order_amounts(self) -> tuple[Decimal, ...]:
        """A reduce's orders: its amount, or the batch's even pieces of it."""
        if self.amount is None:
            return ()
        if self.piece_max is None:
            return (self.amount,)
        return split_even(self.amount, self.piece_max, self.decimals)

    def client_oids(self) -> tuple[str, ...]:
        """The clientOid of each of :meth:`order_amounts` (one order: the plan's own)."""
        first = self.client_oid or client_oid(self.intent_id)
        n = len(self.order_amounts())
        return (first,) if n <= 1 else tuple(piece_oid(first, k) for k in range(n))

    def params(self) -> dict[str, str]:
        """What is journaled with the intent (and what reconciliation looks for)."""
        out: dict[str, str] = {"kind": self.kind, "scope": self.scope}
        if self.symbol:
            out["symbol"] = self.symbol
        if self.coin:
            out["coin"] = self.coin
        if self.amount is not None:
            out["amount"] = to_wire(self.amount)
        if self.side:
            out["side"] = self.side
        if self.symbols:
            out["symbols"] = ",".join(self.symbols)
        if self.client_oid:
            out["clientOid"] = self.client_oid
            pieces = self.order_amounts()
            if len(pieces) > 1:
                out["clientOids"] = ",".join(self.client_oids())
                out["pieces"] = ",".join(to_wire(a) for a in pieces)
        if self.debt_before is not None:
            out["debtBefore"] = to_wire(self.debt_before)
        return out

    def describe(self) -> str:
        params = self.params()
        if self.kind == "reduce":
            params["pieces"] = ",".join(to_wire(a) for a in self.order_amounts())
        return f"{describe_call(self.kind, params)} in {self.account}/{self.scope}"


def describe_call(kind: str, params: Mapping[str, str]) -> str:
    """A call in words from its journaled :meth:`ActionPlan.params` ("market sell 0.5 BTC on
    BTCUSDT (autoRepay)"); ``riskd status`` says the last action the same way."""
    amount = params.get("amount", "0")
    if kind == "repay":
        return f"repay {amount} {params.get('coin', '?')}"
    if kind == "flashRepay":
        return f"flash repay {params.get('coin') or params.get('symbol') or 'all debt'}"
    if kind == "cancelOrders":
        return f"cancel open orders on {params.get('symbols', '').replace(',', ', ')}"
    pieces = len([p for p in params.get("pieces", "").split(",") if p])
    batch = f" as {pieces} orders in one batch" if pieces > 1 else ""
    return (
        f"market {params.get('side', '?')} {amount} {params.get('coin', '?')} on"
        f" {params.get('symbol', '?')} (autoRepay){batch}"
    )


def _decimal(params: Mapping[str, object], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool | float):
        raise ValueError(f"parameter {name}: {raw!r} is not a decimal")
    try:
        result = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"parameter {name}: {raw!r} is not a decimal") from None
    if not result.is_finite():
        raise ValueError(f"parameter {name}: {raw!r} is not finite")
    return result


def _largest_debt(snap: ScopeSnapshot, prices: Mapping[str, Decimal]) -> str | None:
    best: tuple[Decimal, str] | None = None
    for coin, b in snap.balances.items():
        if b.liability <= 0:
            continue
        price = Decimal(1) if coin == USDT else prices.get(coin)
        weight = b.liability * price if price else b.liability
        if best is None or weight > best[0]:
            best = (weight, coin)
    return None if best is None else best[1]


def _split_symbol(snap: ScopeSnapshot, symbol: str) -> tuple[str, str]:
    if snap.symbol == symbol and snap.base_coin and snap.quote_coin:
        return snap.base_coin, snap.quote_coin
    if symbol.endswith(USDT) and len(symbol) > len(USDT):
        return symbol[: -len(USDT)], USDT
    raise ValueError(f"cannot tell base and quote coins of symbol {symbol!r}")


def plan_action(
    kind: str,
    params: Mapping[str, object],
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    intent_id: str,
    *,
    batch: bool = False,
) -> ActionPlan | Skip:
    """Resolve one protective action against ``snap``; ValueError for a bad parameter.
    ``batch``: the exchange takes batch orders (a reduce over ``maxTradeAmount`` goes out as
    several orders in one call, not one order per leg)."""
    plan = _plan_action(kind, params, snap, prices, intent_id, batch)
    uta_repay = isinstance(plan, ActionPlan) and plan.kind is ActionKind.REPAY
    if uta_repay and snap.scope == UTA and isinstance(plan, ActionPlan) and plan.coin:
        b = snap.balance(plan.coin)
        return replace(plan, debt_before=b.borrow + b.interest)
    return plan


def _plan_action(
    kind: str,
    params: Mapping[str, object],
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    intent_id: str,
    batch: bool,
) -> ActionPlan | Skip:
    prices = {**snap.prices_usdt, **prices}  # the freshest prices win over the snapshot's
    base = ActionPlan(intent_id, ActionKind.REPAY, snap.account, snap.scope, symbol=snap.symbol)
    if kind == "reduce" and params.get("symbol") == ANY_SYMBOL and snap.symbol is None:
        return plan_reduce_any(base, params, snap, prices, batch=batch)
    if kind == "repay":
        return _plan_repay(base, params, snap, prices)
    if kind == "flashRepay":
        return _plan_flash(base, params, snap)
    if kind == "cancelOrders":
        return _plan_cancel(base, params, snap)
    if kind == "reduce":
        return _plan_reduce(base, params, snap, prices, batch)
    raise ValueError(f"unknown action kind {kind!r}")


def plan_reduce_any(
    base: ActionPlan,
    params: Mapping[str, object],
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    *,
    batch: bool = False,
) -> ActionPlan | Skip:
    """``reduce`` with ``symbol = "*"`` in cross: the next leg (:mod:`riskd.sizing.legs`)."""
    rate, distance = legs_params(params)
    fresh = orders.priced(snap, prices)
    rate_met = rate is None or snap.risk_rate <= rate
    distance_met = distance is None or orders.distance_met(fresh, distance)
    if rate_met and distance_met:
        return Skip("the scope already meets its targets: nothing to reduce", met=True)
    leg = next_leg(fresh, None if rate_met else rate, None if distance_met else distance)
    if isinstance(leg, Skip):
        return leg
    kind, leg_params = leg
    return plan_action(kind, leg_params, snap, prices, base.intent_id, batch=batch)


def _plan_repay(
    base: ActionPlan,
    params: Mapping[str, object],
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
) -> ActionPlan | Skip:
    coin = str(params.get("coin") or "") or _largest_debt(snap, prices)
    if coin is None:
        return Skip("no debt to repay")
    b = snap.balance(coin)
    debt = b.liability
    if debt <= 0:
        return Skip(f"no {coin} debt to repay")
    amount = _decimal(params, "amount")
    target = _decimal(params, "target")
    rate, distance = _decimal(params, "target_risk_rate"), _decimal(params, "target_distance")
    if rate is not None or distance is not None:
        # Sized again here, on the freshest data, just before it leaves.
        fresh = orders.priced(snap, prices)
        if (rate is None or snap.risk_rate <= rate) and (
            distance is None or orders.distance_met(fresh, distance)
        ):
            return Skip(f"{coin} repay: the scope already meets its target", met=True)
        amount, _ = units_for_targets(fresh, coin, coin, rate=rate, distance=distance)
        wanted = min(amount, debt)
        if 0 < b.available < wanted * DUST_SHARE:
            # A crumb costs a call (in a crash, a cycle) and moves nothing: a reduce goes
            # straight to its trade, whose autoRepay takes the crumb anyway.
            return Skip(
                f"only {to_wire(b.available)} {coin} free of the {to_wire(wanted)} the target"
                " needs: too little to matter"
            )
    elif amount is None and target is not None:
        amount = orders.amount_for_target(snap, prices, coin, target)
    if amount is None:
        amount = debt
    amount = quantize_down(min(amount, b.available, debt))
    if amount < b.interest:
        if b.available >= b.interest:
            amount = b.interest
        else:
            return Skip(
                f"{coin} available {to_wire(b.available)} is below the interest "
                f"{to_wire(b.interest)}; the exchange refuses a smaller repayment (50042)"
            )
    if amount <= 0:
        return Skip(f"no {coin} available to repay (debt {to_wire(debt)})")
    return replace(
        base,
        kind=ActionKind.REPAY,
        coin=coin,
        amount=amount,
        legs=MappingProxyType({coin: amount}),
        adjustable=True,
    )


def _plan_flash(
    base: ActionPlan, params: Mapping[str, object], snap: ScopeSnapshot
) -> ActionPlan | Skip:
    coin = str(params.get("coin") or "") or None
    legs = {
        c: b.liability
        for c, b in snap.balances.items()
        if b.liability > 0 and (coin is None or c == coin)
    }
    if not legs:
        return Skip("no debt to flash repay" + (f" in {coin}" if coin else ""))
    if snap.kind == "isolated":
        coin = None
    return replace(base, kind=ActionKind.FLASH_REPAY, coin=coin, legs=MappingProxyType(legs))


def _plan_cancel(
    base: ActionPlan, params: Mapping[str, object], snap: ScopeSnapshot
) -> ActionPlan | Skip:
    if snap.symbol is not None:
        symbols: tuple[str, ...] = (snap.symbol,)
    else:
        raw = params.get("symbols") or params.get("symbol")
        if isinstance(raw, str):
            symbols = tuple(s.strip() for s in raw.split(",") if s.strip())
        elif isinstance(raw, list | tuple):
            symbols = tuple(str(s) for s in raw)
        else:
            symbols = _cross_cancel_symbols(snap)
            if not symbols and snap.balance(USDT).frozen > 0:
                return Skip(
                    "USDT is frozen (buy orders) but the scope holds and owes no other coin "
                    "to name their symbol; set params.symbol"
                )
    if not symbols:
        return Skip("no symbol with open orders (no frozen balance); set params.symbols")
    return replace(base, kind=ActionKind.CANCEL_ORDERS, symbols=symbols)


def _cross_cancel_symbols(snap: ScopeSnapshot) -> tuple[str, ...]:
    """``<COIN>USDT`` of every non-USDT coin with a frozen balance (sell orders); when USDT
    is frozen (buy orders, which freeze only USDT) also of every other coin the scope holds
    or owes — the symbols those buy orders are most likely on."""
    quote_frozen = snap.balance(USDT).frozen > 0
    coins = {
        c
        for c, b in snap.balances.items()
        if c != USDT
        and (b.frozen > 0 or (quote_frozen and (b.available > 0 or b.borrow > 0 or b.interest > 0)))
    }
    return tuple(sorted(f"{c}{USDT}" for c in coins))


def _plan_reduce(
    base: ActionPlan,
    params: Mapping[str, object],
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    batch: bool = False,
) -> ActionPlan | Skip:
    symbol = snap.symbol or str(params.get("symbol") or "") or None
    if symbol is None and params.get("coin"):
        symbol = f"{params['coin']}{USDT}"
    if symbol is None:
        return Skip("reduce on the cross account needs params.symbol (e.g. 'BTCUSDT')")
    base_coin, quote_coin = _split_symbol(snap, symbol)
    qb, bb = snap.balance(quote_coin), snap.balance(base_coin)
    price = orders.price_in_quote(base_coin, quote_coin, prices)
    rule = snap.trade_rules.get(symbol, _NO_RULE)
    side = params.get("side")
    if side not in ("buy", "sell"):
        base_debt = bb.liability * price if price else bb.liability
        side = "buy" if base_debt > qb.liability else "sell"
    sell = side == "sell"
    amount = _decimal(params, "amount")
    target = _decimal(params, "target_risk_rate")
    distance = _decimal(params, "target_distance")
    if amount is not None and (target is not None or distance is not None):
        raise ValueError("reduce takes params.amount or a target, not both")
    owed = quote_coin if sell else base_coin
    if amount is None and snap.balance(owed).available > 0 and snap.balance(owed).liability > 0:
        # The autoRepay trade would repay the owed coin's whole free balance with its
        # proceeds: that balance goes first, as a repay sized to the targets (no trade at
        # all when it is enough); the trade is then sized on the scope it leaves.
        first = _plan_repay(
            base,
            {"coin": owed, "target_risk_rate": target, "target_distance": distance},
            snap,
            prices,
        )
        if not isinstance(first, Skip) or first.met:
            return first
    if amount is None:
        units = orders.reduce_units(
            snap,
            prices,
            quote_coin if sell else base_coin,
            target,
            orders.fee(rule),
            distance=distance,
            funding=base_coin if sell else quote_coin,
        )
        if isinstance(units, Skip):
            return units
        if not price:
            return Skip(f"reduce needs params.amount or a {base_coin} price")
        gross = REDUCE_SLACK / (ONE - orders.fee(rule))
        amount = units / price * gross if sell else units * price * gross
    coin, spend = (base_coin, bb) if sell else (quote_coin, qb)
    if spend.available <= 0:
        return Skip(f"no {coin} available to {side} on {symbol}")
    limited = amount >= spend.available
    amount = min(amount, spend.available)
    note = None
    piece_max: Decimal | None = None
    decimals = orders.decimals(rule.quantity_scale if sell else rule.price_scale)
    if rule.max_trade_amount is not None and rule.max_trade_amount > 0:
        largest = (
            rule.max_trade_amount if sell else (rule.max_trade_amount * price if price else None)
        )
        if largest is not None and amount > largest:
            over = (
                f"split: {to_wire(amount)} {coin} is over {symbol}'s maxTradeAmount"
                f" {to_wire(rule.max_trade_amount)} {base_coin}"
            )
            if batch and quantize_down(largest, decimals) > 0:
                piece_max = quantize_down(largest, decimals)
                n = min(piece_count(amount, piece_max), MAX_PIECES)
                rest = amount > piece_max * n
                amount, limited = min(amount, piece_max * n), limited or rest
                # describe() says "as N orders in one batch"; the note says why.
                note = over + ("; the rest goes in the next call" if rest else "")
            else:
                note = f"{over}; the rest goes in the next order"
                amount, limited = largest, True
    raw, amount = amount, quantize_down(amount, decimals)
    if amount <= 0:
        return Skip(
            f"{side} of {to_wire(raw)} {coin} on {symbol} rounds to 0 at the {decimals}"
            " decimals the exchange accepts"
        )
    too_small = orders.below_minimum(
        rule, symbol, sell, amount, price, base_coin, quote_coin, prices
    )
    if too_small is not None:
        return too_small
    return replace(
        base,
        kind=ActionKind.REDUCE,
        symbol=symbol,
        coin=coin,
        amount=amount,
        side="sell" if sell else "buy",
        legs=MappingProxyType({coin: amount}),
        adjustable=True,
        client_oid=client_oid(base.intent_id),
        decimals=decimals,
        note=note,
        limited=limited,
        piece_max=piece_max,
    )


def same_trade(a: ActionPlan, b: ActionPlan) -> bool:
    """The same kind of call on the same symbol, side and coin."""
    return (a.kind, a.symbol, a.side, a.coin) == (b.kind, b.symbol, b.side, b.coin)


def took_effect(plan: ActionPlan, before: ScopeSnapshot, after: ScopeSnapshot) -> bool:
    """The re-poll shows the leg done: what it spends fell by at least half its amount (an
    order still waiting to fill, or an answer not yet visible, stops the run of legs)."""
    if plan.coin is None or plan.amount is None:
        return False
    spent = before.balance(plan.coin).total_amount - after.balance(plan.coin).total_amount
    return spent * 2 >= plan.amount
