"""A rule step with a target runs leg after leg (:class:`LegRunner`, mixed into
:class:`riskd.daemon.actions.ActionRunner`).

A ``reduce`` or ``repay`` with ``target_risk_rate`` / ``target_distance`` may need more than
one call: an order split at the symbol's ``maxTradeAmount`` or at a cap, the next coin when
one is sold out, a funding sale before a buy-back (:mod:`riskd.sizing.legs`). Each leg is its
own intent — journaled before its call, with its own id and ``clientOid`` — sized on the
scope as re-polled after the leg before, once the leg's rate-budget slot is taken. The run
stops when the targets are met, after
:data:`MAX_LEGS`, when a leg is skipped (journaled with the reason), when a leg would only
repeat the last trade without a limit having cut it, or when the re-poll does not show the
last leg done (an order not yet filled is never followed by another: never twice by
accident).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from riskd.bitget.gate import slot_hold
from riskd.clock import Clock
from riskd.daemon.journal import SUCCEEDED, Journal
from riskd.daemon.plans import ActionPlan, same_trade, took_effect
from riskd.risk.snapshot import ScopeSnapshot
from riskd.sizing import Skip

if TYPE_CHECKING:
    from riskd.daemon.actions import ActionReport, ActionRequestLike

#: Most orders one rule step may send on its way to its target.
MAX_LEGS = 8
#: Parameters that make a step run leg after leg until its target is met.
TARGETS = ("target_risk_rate", "target_distance")
SKIPPED = "skipped"


@dataclass
class RunState:
    """What one step's run keeps between its legs (per task: see :func:`new_run`)."""

    after: ScopeSnapshot | None = None
    limited: bool = False
    spent: Decimal = Decimal(0)


_state: ContextVar[RunState | None] = ContextVar("riskd_action_run", default=None)


def new_run() -> RunState:
    """A fresh state for the step about to run, in the current task's context only."""
    state = RunState()
    _state.set(state)
    return state


def run_state() -> RunState:
    state = _state.get()
    return state if state is not None else new_run()


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

    # The state of the step being run lives in the running task's context (RunState): one
    # runner serves every scope of its account, and the scopes' pipelines run side by side.
    @property
    def _after(self) -> ScopeSnapshot | None:
        """The scope as re-polled after the last action (``None``: not re-polled)."""
        return run_state().after

    @_after.setter
    def _after(self, snap: ScopeSnapshot | None) -> None:
        run_state().after = snap

    @property
    def _limited(self) -> bool:
        """The last plan was lowered to a limit (a cap, maxTradeAmount, the free balance)."""
        return run_state().limited

    @_limited.setter
    def _limited(self, limited: bool) -> None:
        run_state().limited = limited

    @property
    def _run_spent(self) -> Decimal:
        """USDT moved by the earlier legs of the step being run (for max_action_usdt)."""
        return run_state().spent

    @_run_spent.setter
    def _run_spent(self, spent: Decimal) -> None:
        run_state().spent = spent

    _execute: _Execute

    async def _plan_fresh(
        self,
        req: ActionRequestLike,
        snap: ScopeSnapshot,
        wanted: Callable[[ActionPlan], bool] = ...,
    ) -> tuple[ActionPlan | Skip, ScopeSnapshot, Mapping[str, Decimal]] | None: ...

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
            with slot_hold():
                # The leg's slot first (when it makes a call), then its size: on the data
                # after any wait.
                try:
                    sized = await self._plan_fresh(req, after, _new_trade(plan, limited))
                except ValueError as exc:
                    sized = Skip(str(exc)), after, self._prices()
                if sized is None:
                    break
                nxt, snap, prices = sized
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
                report = await self._execute(req, nxt, snap, prices)
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


def _new_trade(last: ActionPlan, limited: bool) -> Callable[[ActionPlan], bool]:
    """Whether a next leg is worth its call: it splits what a limit held back, or trades
    something else than ``last`` (not a top-up of a target the last order just missed)."""
    return lambda plan: limited or not same_trade(last, plan)
