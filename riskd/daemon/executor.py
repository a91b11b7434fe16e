"""Executors: what happens to a resolved :class:`~riskd.daemon.plans.ActionPlan`.

Two implementations of one :class:`Executor` protocol, chosen per account at start:

- :class:`LiveExecutor` sends the protective call. A flash repay is accepted at once and
  finishes seconds later: the executor returns :data:`FOLLOWING` with its id, the intent
  stays open, and reconciliation follows it to ``FINISH`` (or the timeout) on the next
  cycles — the cycle, and the polling of every other scope, never waits for it;
- :class:`DryRunExecutor` reads what it needs (open orders) and describes, exactly, what
  would have been sent. It has no code path to a mutating endpoint. Over a
  :class:`~riskd.daemon.shadow_exchange.ShadowExchange` (a Unified Trading Account's:
  :class:`~riskd.daemon.shadow_exchange.ShadowUtaExchange`) it applies the would-be effect
  to the account's shadow ledger and says what would have followed.

Everything around the call — pause, staleness, caps, the journal, the verifying re-poll —
is the same for both and lives in :mod:`riskd.daemon.actions`.

``accepted`` is called as soon as the exchange has taken the call and given an id (flash
repay id, order id), so the journal holds it before anything else can go wrong.

Client ids: an order carries the plan's ``clientOid``; a repay goes out with the client id
derived from its intent (:func:`riskd.daemon.plans.client_oid`) where the exchange takes one
(:class:`~riskd.daemon.exchange.IdempotentRepay`: v2 isolated repay), and its repay id, when
answered, is the intent's reference — reconciliation then never counts that record for another
intent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from riskd.amounts import to_wire
from riskd.daemon.exchange import (
    BatchOrders,
    CallRejected,
    CallUncertain,
    Exchange,
    IdempotentRepay,
)
from riskd.daemon.journal import DRY_RUN, FAILED, SUCCEEDED
from riskd.daemon.plans import ActionPlan, client_oid, is_own_order
from riskd.daemon.shadow_exchange import book_of

#: Called with (exchange id, one-line summary) when the exchange has accepted the call.
AcceptedHook = Callable[[str, str], Awaitable[None]]
#: Order ids per batch cancel call.
CANCEL_BATCH = 50
#: Marks an outcome whose call may or may not have been executed: reconcile it.
UNCERTAIN = "uncertain"
#: The call was accepted and runs on at the exchange (a flash repay): the intent stays open
#: and reconciliation settles it on a later cycle.
FOLLOWING = "following"


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What became of a plan. ``status``: succeeded, failed, unknown, dry_run, uncertain or
    following."""

    status: str
    detail: str
    ref: str | None = None
    code: str | None = None
    data: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Not executed for a passing reason (rate limit, maintenance, 5xx): may be tried again.
    transient: bool = False


class Executor(Protocol):
    @property
    def dry_run(self) -> bool:
        """True when nothing is sent (intents are journaled as dry-run)."""
        ...

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult: ...


class LiveExecutor:
    """Sends protective calls through one account's :class:`Exchange`."""

    dry_run = False

    def __init__(self, exchange: Exchange) -> None:
        self._ex = exchange

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        try:
            if plan.kind == "repay":
                return await self._repay(plan)
            if plan.kind == "flashRepay":
                return await self._flash(plan, accepted)
            if plan.kind == "cancelOrders":
                return await self._cancel(plan, accepted)
            return await self._reduce(plan, accepted)
        except CallRejected as exc:
            return ExecResult(FAILED, f"rejected: {exc}", code=exc.code, transient=exc.transient)
        except CallUncertain as exc:
            return ExecResult(UNCERTAIN, f"no answer: {exc}", code=exc.code, transient=True)

    async def _repay(self, plan: ActionPlan) -> ExecResult:
        assert plan.coin is not None and plan.amount is not None
        repay_id: str | None = None
        if isinstance(self._ex, IdempotentRepay):
            outcome = await self._ex.repay_once(
                plan.margin,
                coin=plan.coin,
                amount=plan.amount,
                symbol=plan.symbol,
                client_oid=plan.client_oid or client_oid(plan.intent_id),
            )
            remain, repay_id = outcome.remain, outcome.repay_id
        else:
            remain = await self._ex.repay(
                plan.margin, coin=plan.coin, amount=plan.amount, symbol=plan.symbol
            )
        detail = f"repaid {to_wire(plan.amount)} {plan.coin}"
        data: dict[str, str] = {"repaid": to_wire(plan.amount)}
        if remain is not None:
            detail += f", {to_wire(remain)} {plan.coin} still owed"
            data["remain_debt"] = to_wire(remain)
        if repay_id:
            detail += f" (repay {repay_id})"
            data["repay_id"] = repay_id
        return ExecResult(SUCCEEDED, detail, ref=repay_id, data=MappingProxyType(data))

    async def _flash(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        flash_id = await self._ex.flash_repay(plan.margin, coin=plan.coin, symbol=plan.symbol)
        await accepted(flash_id, f"flash repay accepted, id {flash_id}")
        return ExecResult(
            FOLLOWING, f"flash repay {flash_id} accepted; following it to FINISH", ref=flash_id
        )

    async def _cancel(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        cancelled: list[str] = []
        failed: list[str] = []
        kept = 0
        for symbol in plan.symbols:
            orders = await self._ex.open_orders(plan.margin, symbol)
            # riskd's own protective orders (still filling) are the protection: keep them.
            ids = [o.order_id for o in orders if not is_own_order(o.client_oid)]
            kept += len(orders) - len(ids)
            for i in range(0, len(ids), CANCEL_BATCH):
                result = await self._ex.batch_cancel(plan.margin, symbol, ids[i : i + CANCEL_BATCH])
                cancelled.extend(result.cancelled)
                failed.extend(result.failed)
        if cancelled:
            await accepted(",".join(cancelled), f"cancelled {len(cancelled)} order(s)")
        detail = f"cancelled {len(cancelled)} open order(s)"
        if failed:
            detail += f", {len(failed)} could not be cancelled"
        if kept:
            detail += f"; {kept} of riskd's own protective order(s) left working"
        status = FAILED if failed and not cancelled else SUCCEEDED
        return ExecResult(status, detail, ref=",".join(cancelled) or None)

    async def _reduce(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        assert plan.symbol and plan.side and plan.amount is not None and plan.client_oid
        pieces = plan.order_amounts()
        if len(pieces) > 1 and isinstance(self._ex, BatchOrders):
            return await self._reduce_batch(plan, pieces, accepted)
        order_id = await self._ex.place_market_autorepay(
            plan.margin,
            symbol=plan.symbol,
            side=plan.side,
            amount=plan.amount,
            client_oid=plan.client_oid,
        )
        await accepted(order_id, f"market order accepted, id {order_id}")
        return ExecResult(
            SUCCEEDED,
            f"market {plan.side} {to_wire(plan.amount)} {plan.coin} on {plan.symbol} placed"
            f" (order {order_id}, autoRepay)",
            ref=order_id,
        )

    async def _reduce_batch(
        self, plan: ActionPlan, pieces: tuple[Decimal, ...], accepted: AcceptedHook
    ) -> ExecResult:
        """A reduce split at ``maxTradeAmount``: its orders in one batch call. Accepted when
        any order was (the journal keeps every id; the refused ones are said)."""
        assert plan.symbol and plan.side and isinstance(self._ex, BatchOrders)
        placed = await self._ex.place_market_autorepay_batch(
            plan.margin,
            symbol=plan.symbol,
            side=plan.side,
            amounts=pieces,
            client_oids=plan.client_oids(),
        )
        n = len(pieces)
        refused = f"; refused: {'; '.join(placed.refused)}" if placed.refused else ""
        if not placed.order_ids:
            return ExecResult(FAILED, f"rejected: all {n} orders of the batch{refused}")
        ids = ",".join(placed.order_ids)
        await accepted(ids, f"{len(placed.order_ids)} of {n} market orders accepted")
        return ExecResult(
            SUCCEEDED,
            f"market {plan.side} {to_wire(plan.amount or Decimal(0))} {plan.coin} on"
            f" {plan.symbol} as {n} orders in one batch: {len(placed.order_ids)} placed"
            f" (orders {ids}, autoRepay){refused}",
            ref=ids,
        )


class DryRunExecutor:
    """Describes what would be sent; calls read endpoints only.

    Over a :class:`~riskd.daemon.shadow_exchange.ShadowExchange` (or its UTA counterpart) it
    also keeps the account's shadow ledger (:mod:`riskd.daemon.shadow_book`): the would-be
    effect is applied to the balances the rules see next, and the outcome says what would
    have followed (the risk rate before → after in the shadow), so the same action is decided
    once, not every cycle.
    """

    dry_run = True

    def __init__(self, exchange: Exchange) -> None:
        self._ex = exchange
        self._book = book_of(exchange)

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        detail = f"DRY-RUN: would {plan.describe()}"
        found: list[str] = []
        if plan.kind == "cancelOrders":
            try:
                for symbol in plan.symbols:
                    found.extend(
                        o.order_id for o in await self._ex.open_orders(plan.margin, symbol)
                    )
            except (CallRejected, CallUncertain) as exc:
                detail += f" (open orders unknown: {exc})"
            else:
                detail += f" ({len(found)} open order(s): {', '.join(found) or 'none'})"
        if self._book is not None:
            detail += await self._book.record(plan, found)
        return ExecResult(DRY_RUN, detail, data=MappingProxyType(plan.params()))
