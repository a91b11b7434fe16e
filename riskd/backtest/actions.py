"""Carry out a rule's action on the backtest exchange, sized exactly as the daemon sizes it.

The daemon's pure layer decides: :func:`riskd.daemon.plans.plan_action` turns an
:class:`~riskd.rules.ActionRequest` into an :class:`~riskd.daemon.plans.ActionPlan` (sized by
:mod:`riskd.sizing` on the freshest snapshot). What is re-implemented here is only the
*sending*: instead of the client, the plan is applied to the simulator's core (repay →
``Ledger.repay``, reduce → a market ``autoRepay`` order through ``Trading.place``, flash repay →
``FlashRepayer.start``, cancelOrders → ``Trading.cancel_scope``). A cross ``reduce`` with
``symbol = "*"`` or a plan lowered to a limit goes out leg after leg on re-read data, like the
daemon's runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from riskd.backtest.ledger import BacktestExchange
from riskd.daemon.plans import ANY_SYMBOL, ActionPlan, plan_action
from riskd.rules import ActionRequest
from riskd.sim.errors import SimError
from riskd.sim.orders import OrderRequest
from riskd.sizing import Skip

ZERO = Decimal(0)
MAX_LEGS = 6


@dataclass(frozen=True, slots=True)
class Done:
    """What one action request did: legs sent, capital moved (USDT), the first error."""

    request: ActionRequest
    legs: tuple[ActionPlan, ...]
    capital: Decimal
    error: str | None
    skipped: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def _send(ex: BacktestExchange, plan: ActionPlan, now: float) -> Decimal:
    """Apply one plan; returns the USDT value it moved (raises SimError when refused)."""
    ex.sync()
    ex.touched()
    acct = ex.account
    book = acct.scope(plan.scope)
    price = ex.price
    if plan.kind == "repay":
        assert plan.coin is not None and plan.amount is not None
        paid, _ = ex.ex.ledger.repay(acct, book, plan.coin, plan.amount, now)
        return paid * (price if plan.coin == ex.base else Decimal(1))
    if plan.kind == "flashRepay":
        ex.ex.flash.start(acct, plan.scope, plan.coin, now)
        return sum(
            (a * (price if c == ex.base else Decimal(1)) for c, a in plan.legs.items()), ZERO
        )
    if plan.kind == "cancelOrders":
        ex.ex.trading.cancel_scope(acct, book, now)
        return ZERO
    assert plan.amount is not None and plan.symbol is not None
    sell = plan.side == "sell"
    req = OrderRequest(
        plan.symbol,
        "sell" if sell else "buy",
        "market",
        "autoRepay",
        "gtc",
        base_quantity=plan.amount if sell else None,
        quote_amount=None if sell else plan.amount,
        client_oid=plan.client_oid,
    )
    ex.ex.trading.place(acct, book, req, now)
    return plan.amount * price if sell else plan.amount


def execute(ex: BacktestExchange, req: ActionRequest, now: float, seq: int) -> Done:
    """Size ``req`` on fresh data with the daemon's planner and apply it, leg after leg.

    ``seq`` makes each intent id (and so each order's clientOid) unique in the run."""
    legs: list[ActionPlan] = []
    capital = ZERO
    skipped: str | None = None
    for i in range(MAX_LEGS):
        book = ex.account.scope(req.scope)
        snap = ex.snapshot(book, now)
        try:
            plan = plan_action(str(req.kind), req.params, snap, ex.prices(), f"bt{seq}.{i}")
        except ValueError as exc:
            return Done(req, tuple(legs), capital, f"not sized: {exc}", None)
        if isinstance(plan, Skip):
            if not legs:
                skipped = plan.reason
            break
        try:
            capital += _send(ex, plan, now)
        except SimError as exc:
            return Done(req, tuple(legs), capital, f"refused: {exc}", None)
        legs.append(plan)
        more = req.params.get("symbol") == ANY_SYMBOL or plan.limited
        if plan.kind not in ("reduce", "repay") or not more:
            break
    return Done(req, tuple(legs), capital, None, skipped)
