"""A rule step with a target runs leg after leg (:class:`LegRunner`, mixed into
:class:`riskd.daemon.actions.ActionRunner`).

A ``reduce`` or ``repay`` with ``target_risk_rate`` / ``target_distance`` may need more than
one call: an order split at the symbol's ``maxTradeAmount`` or at a cap, the next coin when
one is sold out, a funding sale before a buy-back (:mod:`riskd.sizing.legs`). Each leg is its
own intent — journaled before its call, with its own id and ``clientOid`` — sized on the
scope as re-polled after the leg before. The run stops when the targets are met, after
:data:`MAX_LEGS`, when a leg is skipped (journaled with the reason), when a leg would only
repeat the last trade without a limit having cut it, or when the re-poll does not show the
last leg done (an order not yet filled is never followed by another: never twice by
accident).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from riskd.clock import Clock
from riskd.daemon.journal import SUCCEEDED, Journal
from riskd.daemon.plans import ActionPlan, plan_action, same_trade, took_effect
from riskd.risk.snapshot import ScopeSnapshot
from riskd.sizing import Skip

if TYPE_CHECKING:
    from riskd.daemon.actions import ActionReport, ActionRequestLike

#: Most orders one rule step may send on its way to its target.
MAX_LEGS = 8
#: Parameters that make a step run leg after leg until its target is met.
TARGETS = ("target_risk_rate", "target_distance")
SKIPPED = "skipped"


class _Execute(Protocol):
    async def __call__(
        self,
        req: ActionRequestLike,
        plan: ActionPlan,
        snap: ScopeSnapshot,
        prices: Mapping[str, Decimal],
    ) -> ActionReport: ...


class LegRunner:
    """The run of legs; the runner provides the state and ``_execute``."""

    account: str
    _clock: Clock
    _journal: Journal
    _stale_after: float
    _prices: Callable[[], Mapping[str, Decimal]]
    #: The scope as re-polled after the last action (``None``: not re-polled).
    _after: ScopeSnapshot | None
    #: The last plan was lowered to a limit (a cap, maxTradeAmount, the free balance).
    _limited: bool
    _execute: _Execute

    async def _more_legs(
        self, req: ActionRequestLike, plan: ActionPlan, snap: ScopeSnapshot, report: ActionReport
    ) -> ActionReport:
        """A step with a target runs leg after leg — each its own intent, sized on the
        scope as re-polled after the one before — until the target is met, a leg did not
        visibly take effect (never twice by accident), or :data:`MAX_LEGS`."""
        if not any(k in req.params for k in TARGETS) or req.kind not in ("reduce", "repay"):
            return report
        first, descriptions, legs = report, [report.description or ""], 1
        while report.status == SUCCEEDED and legs < MAX_LEGS:
            after = self._after
            if after is None or after.age(self._clock.now()) > self._stale_after:
                break
            if not took_effect(plan, snap, after):
                break
            limited = self._limited
            snap, intent_id = after, uuid.uuid4().hex
            try:
                nxt = plan_action(
                    req.kind, req.params, snap, {**snap.prices_usdt, **self._prices()}, intent_id
                )
            except ValueError as exc:
                nxt = Skip(str(exc))
            if not isinstance(nxt, Skip) and same_trade(plan, nxt) and not limited:
                # Legs split what a limit held back, or move to another coin; they do not
                # top up a target the first order just missed (fees, the fill's price).
                break
            if isinstance(nxt, Skip):
                if not nxt.met:
                    await self._journal.record(
                        SKIPPED,
                        f"{req.kind} leg {legs + 1} not sent: {nxt.reason}",
                        at=self._clock.now(),
                        account=self.account,
                        scope=req.scope,
                        rule=req.rule,
                        data={"action_id": req.id, "leg": legs + 1, "reason": nxt.reason},
                    )
                    descriptions.append(f"next leg skipped: {nxt.reason}")
                break
            legs += 1
            report = await self._execute(req, nxt, snap, self._prices())
            descriptions.append(report.description or "")
            plan = nxt
        if legs == 1 and len(descriptions) == 1:
            return report
        return replace(
            report,
            risk_before=first.risk_before,
            description="; ".join(d for d in descriptions if d),
            detail=f"{legs} leg(s): {report.detail}",
        )
