"""Settling intents whose outcome is unknown (a crash, ``kill -9``, a lost answer).

Every protective call is journaled as an intent *before* it is sent. An intent still
``pending`` or ``accepted`` at start — or after a call that got no usable answer — is checked
against the exchange before the daemon acts again on that scope:

- ``repay``: the repay records since the intent (coin, symbol, ``totalAmount`` or ``amount``
  equal to the amount sent). Earlier repays of the same amount in the window are discounted,
  so one record is never counted for two intents.
- ``flashRepay``: with the id journaled when the POST returned, its status (FINISH, or
  ``unknown`` once the flash repay timeout has passed); without an id (the answer was lost),
  whether the scope's debt in the repaid coins is gone or system (``autoRepay``) repay
  records appeared since the intent. Until the timeout after the intent has passed, an
  undecided flash repay stays open and is looked at again next cycle (nothing blocks).
- ``reduce``: the order placed with the intent's ``clientOid`` (open orders, then history).
- ``cancelOrders``: cancelling is idempotent; succeeded if no open order is left.

A Unified Trading Account (:class:`~riskd.daemon.uta_exchange.UtaExchange`) is read through
v3: a ``reduce`` (a MARGIN order) is found by its ``clientOid`` (open orders, then v3 order
info); a ``repay`` — v3 lists no repay records — by comparing the coin's debt before it was
sent (the intent's ``debtBefore`` parameter, else the figure the exchange read just before
sending) with the debt now: lower now is executed; not lower is not executed once
:data:`UTA_GRACE` seconds have passed since the intent (until then it is looked at again next
cycle); the journal line names the method and both figures. The account-wide repay of a
``"*"`` flashRepay whose answer was lost is settled the same way over every debt it repaid.
Without a figure from before (a restart), a coin owing nothing now settles it (nothing to
send again); otherwise the intent stays open with one critical alert, never guessed "not
executed".

The intent is then finished as ``succeeded`` (with the exchange's id), ``not_executed`` or,
for a flash repay still running, ``unknown`` — never sent again by accident. If the exchange
cannot be read, the intent stays open and is retried next cycle; meanwhile the scope takes
no new action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from riskd.clock import Clock
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import CallRejected, CallUncertain, Exchange, Margin
from riskd.daemon.journal import (
    NOT_EXECUTED,
    PENDING,
    SUCCEEDED,
    UNKNOWN,
    IntentRecord,
    Journal,
)
from riskd.daemon.uta_exchange import UtaExchange

log = logging.getLogger(__name__)

#: A flash repay's status once it has repaid.
FINISH = "FINISH"
#: Tolerance between the daemon's clock and the exchange's record times.
SLACK_MS = 5_000
NOT_AUTO = ("liqRepay", "autoRepay")
#: Intent parameter holding a coin's debt before the repay (used when journaled).
DEBT_BEFORE = "debtBefore"
#: Seconds after a UTA repay's intent before an unchanged debt reads as "not executed" (a
#: repay still being processed would otherwise be sent again).
UTA_GRACE = SLACK_MS / 1000


@dataclass(frozen=True, slots=True)
class Settled:
    intent: IntentRecord
    status: str
    detail: str
    ref: str | None = None


class Reconciler:
    """Settles open intents; ``exchange_for(account)`` gives that account's exchange."""

    def __init__(
        self,
        journal: Journal,
        exchange_for: Callable[[str], Exchange],
        clock: Clock,
        *,
        flash_timeout: float = 30.0,
    ) -> None:
        self._journal = journal
        self._exchange_for = exchange_for
        self._clock = clock
        self._flash_timeout = flash_timeout

    async def reconcile_all(self, accounts: set[str] | None = None) -> tuple[list[Settled], int]:
        """Settle every open intent; returns (settled, how many are still open)."""
        settled: list[Settled] = []
        still_open = 0
        for rec in await self._journal.open_intents():
            if accounts is not None and rec.intent.account not in accounts:
                continue
            try:
                result = await self.settle(rec)
            except (CallRejected, CallUncertain) as exc:
                still_open += 1
                log.warning(
                    "intent %s (%s %s/%s) cannot be reconciled yet: %s",
                    rec.intent.intent_id,
                    rec.intent.kind,
                    rec.intent.account,
                    rec.intent.scope,
                    exc,
                )
                continue
            if result is None:
                still_open += 1
            else:
                settled.append(result)
        return settled, still_open

    async def status_of(self, rec: IntentRecord) -> str:
        """Settle one intent and return its final status, or ``pending`` while it cannot be
        known yet (for :class:`ActionRunner`)."""
        result = await self.settle(rec)
        return PENDING if result is None else result.status

    async def settle(self, rec: IntentRecord) -> Settled | None:
        """Find out what became of ``rec`` and journal it; ``None``: not known yet (a flash
        repay still within its timeout). Raises if the exchange cannot be read. Never waits:
        the cycle goes on, and the intent is looked at again next cycle."""
        kind = rec.intent.kind
        ex = self._exchange_for(rec.intent.account)
        result: Settled | None
        if kind == "repay" and isinstance(ex, UtaExchange):
            result = await self._uta_repay(rec, ex)
        elif kind == "repay":
            result = await self._repay(rec, ex)
        elif kind == "flashRepay" and isinstance(ex, UtaExchange) and not rec.ref:
            result = await self._uta_flash(rec, ex)
        elif kind == "flashRepay":
            result = await self._flash(rec, ex)
        elif kind == "reduce":
            result = await self._reduce(rec, ex)
        elif kind == "cancelOrders":
            result = await self._cancel(rec, ex)
        else:
            result = Settled(rec, NOT_EXECUTED, f"unknown action kind {kind!r}")
        if result is None:
            return None
        await self._journal.finish_intent(
            rec.intent.intent_id,
            result.status,
            at=self._clock.now(),
            summary=f"reconciled {kind}: {result.detail}",
            outcome={"detail": result.detail, "reconciled": True},
            ref=result.ref,
            kind=EventKind.RECONCILED,
        )
        log.info("reconciled intent %s: %s", rec.intent.intent_id, result.detail)
        return result

    async def _repay(self, rec: IntentRecord, ex: Exchange) -> Settled:
        i = rec.intent
        coin = i.params.get("coin", "")
        amount = Decimal(i.params.get("amount", "0"))
        symbol = i.params.get("symbol")
        start_ms = int(i.at * 1000) - SLACK_MS
        records = await ex.repays(_margin(i.scope), symbol=symbol, coin=coin, start_ms=start_ms)
        matches = sorted(
            (
                r
                for r in records
                if r.coin == coin
                and r.ctime_ms >= start_ms
                and r.type not in NOT_AUTO
                and (symbol is None or r.symbol in (None, symbol))
                and amount in (r.total_amount, r.amount)
            ),
            key=lambda r: (r.ctime_ms, r.repay_id),
        )
        used = await self._journal.used_refs(i.account, "repay")
        matches = [r for r in matches if r.repay_id not in used]
        # Earlier intents of the same amount in the window account for that many records.
        prior = [
            p
            for p in await self._journal.intents(since=i.at - SLACK_MS / 1000)
            if p.intent.intent_id != i.intent_id
            and p.intent.account == i.account
            and p.intent.scope == i.scope
            and p.intent.kind == "repay"
            and not p.intent.dry_run
            and p.status == SUCCEEDED
            and p.ref is None
            and p.intent.at <= i.at
            and p.intent.params.get("coin") == coin
            and p.intent.params.get("amount") == i.params.get("amount")
        ]
        if len(matches) > len(prior):
            r = matches[len(prior)]
            return Settled(
                rec, SUCCEEDED, f"repay {r.repay_id} of {amount} {coin} found", r.repay_id
            )
        return Settled(rec, NOT_EXECUTED, f"no repay of {amount} {coin} since the intent")

    async def _uta_repay(self, rec: IntentRecord, ex: UtaExchange) -> Settled | None:
        """A v3 repay: the coin's debt before (read just before sending by this process, else
        journaled with the intent at its decision) against now."""
        i = rec.intent
        coin = i.params.get("coin", "")
        journaled = i.params.get(DEBT_BEFORE)
        remembered = ex.debt_before_repay(coin)
        before = (
            remembered if remembered is not None else (Decimal(journaled) if journaled else None)
        )
        source = "read just before sending" if remembered is not None else "journaled"
        now = await ex.debt_now(coin)
        if before is None and now == 0:
            ex.repay_settled(coin)
            detail = f"uta repay of {coin}: no {coin} debt is left (nothing to send again)"
            return Settled(rec, SUCCEEDED, detail)
        if before is None:
            await ex.cannot_settle(
                i.intent_id,
                f"uta repay of {coin} in {i.account}: its outcome is unknown and cannot be"
                f" told (v3 lists no repay records, and no {coin} debt figure from before it"
                f" was sent survives a restart; {now} is owed now); the intent stays open and"
                " the uta scope takes no new action until it is settled: check the account",
            )
            return None
        how = f"by debt comparison ({coin} debt {before} {source}, {now} now)"
        if now < before:
            ex.repay_settled(coin)
            return Settled(rec, SUCCEEDED, f"uta repay of {coin} executed, {how}")
        if not self._uta_settled_after(i.at):
            return None  # a repay still being processed: look again next cycle
        ex.repay_settled(coin)
        return Settled(rec, NOT_EXECUTED, f"uta repay of {coin} not executed, {how}")

    def _uta_settled_after(self, at: float) -> bool:
        """True once :data:`UTA_GRACE` seconds have passed since the intent at ``at``."""
        return self._clock.now() >= at + UTA_GRACE

    async def _uta_flash(self, rec: IntentRecord, ex: UtaExchange) -> Settled | None:
        """The account-wide v3 repay a ``"*"`` flashRepay stands for, its answer lost: the
        debts before it against now (any lower: executed)."""
        i = rec.intent
        before = ex.debts_before_flash()
        now = await ex.debts_now()
        if before is None and not now:
            ex.flash_settled()
            return Settled(rec, SUCCEEDED, "uta repay of every debt: no debt is left")
        if before is None:
            owed = ", ".join(f"{v} {c}" for c, v in sorted(now.items()))
            await ex.cannot_settle(
                i.intent_id,
                f"uta repay of every debt in {i.account}: its outcome is unknown and cannot"
                " be told (v3 lists no repay records, and no debt figure from before it was"
                f" sent survives a restart; {owed} owed now); the intent stays open and the"
                " uta scope takes no new action until it is settled: check the account",
            )
            return None
        lower = sorted(c for c, v in before.items() if now.get(c, Decimal(0)) < v)
        figures = ", ".join(
            f"{c} {v} before, {now.get(c, Decimal(0))} now" for c, v in sorted(before.items())
        )
        how = f"by debt comparison ({figures})"
        if lower:
            ex.flash_settled()
            return Settled(rec, SUCCEEDED, f"uta repay of every debt executed, {how}")
        if not self._uta_settled_after(i.at):
            return None
        ex.flash_settled()
        return Settled(rec, NOT_EXECUTED, f"uta repay of every debt not executed, {how}")

    async def _flash(self, rec: IntentRecord, ex: Exchange) -> Settled | None:
        i = rec.intent
        margin = _margin(i.scope)
        timed_out = self._clock.now() >= i.at + self._flash_timeout
        if rec.ref:
            status = await ex.flash_repay_status(margin, rec.ref)
            if status == FINISH:
                return Settled(rec, SUCCEEDED, f"flash repay {rec.ref} finished", rec.ref)
            if timed_out:
                detail = f"flash repay {rec.ref} still {status} after {self._flash_timeout:g}s"
                return Settled(rec, UNKNOWN, detail, rec.ref)
            return None
        # No id: the answer was lost. A flash repay shows as the debt vanishing and as
        # system ("autoRepay") repay records once it finishes (seconds later): look again
        # each cycle until the flash repay timeout after the intent has passed.
        coin = i.params.get("coin")
        symbol = i.params.get("symbol")
        start_ms = int(i.at * 1000) - SLACK_MS
        rows = await ex.assets(margin)
        owed = sum(
            (
                r.borrow + r.interest
                for r in rows
                if (symbol is None or r.symbol == symbol) and (coin is None or r.coin == coin)
            ),
            Decimal(0),
        )
        if owed == 0:
            return Settled(rec, SUCCEEDED, "no id was journaled, but the debt is gone")
        records = await ex.repays(margin, symbol=symbol, coin=coin, start_ms=start_ms)
        system = [r for r in records if r.type == "autoRepay" and r.ctime_ms >= start_ms]
        if system:
            detail = f"no id was journaled; system repay {system[0].repay_id} since the intent"
            return Settled(rec, SUCCEEDED, detail)
        if timed_out:
            return Settled(rec, NOT_EXECUTED, f"no id was journaled and {owed} is still owed")
        return None

    async def _reduce(self, rec: IntentRecord, ex: Exchange) -> Settled:
        """The intent's order (or each order of its batch) found by clientOid: executed when
        any of them is found, not executed when none is."""
        i = rec.intent
        symbol = i.params.get("symbol", "")
        oids = [o for o in i.params.get("clientOids", "").split(",") if o]
        oids = oids or [i.params.get("clientOid", "")]
        margin = _margin(i.scope)
        found = []
        for oid in oids:
            orders = await ex.open_orders(margin, symbol, client_oid=oid)
            if not orders:
                orders = await ex.order_history(
                    margin, symbol, start_ms=int(i.at * 1000) - SLACK_MS, client_oid=oid
                )
            found += [o for o in orders if o.client_oid == oid][:1]
        if not found:
            return Settled(rec, NOT_EXECUTED, f"no order with clientOid {', '.join(oids)}")
        ids = ",".join(o.order_id for o in found)
        if len(oids) == 1:
            o = found[0]
            return Settled(rec, SUCCEEDED, f"order {o.order_id} ({o.status}) found", ids)
        detail = f"{len(found)} of the batch's {len(oids)} orders found ({ids})"
        return Settled(rec, SUCCEEDED, detail, ids)

    async def _cancel(self, rec: IntentRecord, ex: Exchange) -> Settled:
        i = rec.intent
        margin = _margin(i.scope)
        left = 0
        for symbol in filter(None, i.params.get("symbols", "").split(",")):
            left += len(await ex.open_orders(margin, symbol))
        if left == 0:
            return Settled(rec, SUCCEEDED, "no open order left")
        return Settled(rec, NOT_EXECUTED, f"{left} open order(s) remain")


def _margin(scope: str) -> Margin:
    return "cross" if scope == "cross" else "isolated"
