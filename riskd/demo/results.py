"""From what a run recorded to its :class:`~riskd.demo.summary.DemoSummary` (and its plots).

Reaction latency, precisely: for each scope, ``t_warn`` is the first market instant at which
the risk rate of its *starting* balances on the scenario's price path reaches the warning
ratio (the path sampled every 0.1 s, then bisected to the millisecond: it is when the market
put the scope over the line, whatever riskd saw); ``t_act`` is the market instant the
simulator executed riskd's first protective call on that scope (its own record time).
``reaction = max(0, t_act − t_warn)``; the run's figure is the worst scope's, in market ms.

Duplicates: for each (account, scope, kind), the protective operations the simulator
executed beyond the intents riskd journaled that could have executed (pending, accepted,
succeeded, unknown). Zero means no call was ever executed twice by accident.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from riskd.daemon.journal import IntentRecord
from riskd.demo.options import DemoOptions
from riskd.demo.oracle import ScopeStart, first_crossing, oracle
from riskd.demo.summary import (
    ActionTaken,
    AlertSeen,
    Delivery,
    DemoSummary,
    ScopeResult,
)
from riskd.demo.timeline import Marker, Sample, Timeline, scope_key
from riskd.demo.truth import Truth, first_action_at
from riskd.notify.alert import Alert, AlertKind
from riskd.notify.status import NotifierStatus
from riskd.risk import math as riskmath

ZERO = Decimal(0)
PATH_STEP_S = 0.1
#: Intent statuses whose call may have been executed by the exchange.
MAY_HAVE_EXECUTED = ("pending", "accepted", "succeeded", "unknown")
#: Journal intent kind → the action kind the simulator's records show.
_KIND = {"repay": "repay", "flashRepay": "flashRepay", "reduce": "reduce"}


@dataclass(frozen=True, slots=True)
class RunRecord:
    opts: DemoOptions
    truth: Truth
    starts: Sequence[ScopeStart]
    samples: tuple[Sample, ...]
    markers: tuple[Marker, ...]
    max_risk: Mapping[str, Decimal]
    min_distance: Mapping[str, Decimal]
    alerts: tuple[Alert, ...]
    notifier: NotifierStatus | None
    #: the notifier's status just before it was stopped (route health)
    notifier_health: NotifierStatus | None
    intents: tuple[IntentRecord, ...]
    loop_errors: tuple[str, ...]
    timeouts: int
    wall_s: float


def refine_crossing(start: ScopeStart, truth: Truth, lo: float, hi: float) -> float:
    """Bisect ``(lo, hi]`` to 1 ms for the first instant the warning ratio is reached."""
    while hi - lo > 0.001:
        mid = (lo + hi) / 2
        rate = riskmath.risk_rate(start.balances, truth.price_at(mid), start.mmr)
        if rate >= start.warning_ratio:
            hi = mid
        else:
            lo = mid
    return hi


def _duplicates(actions: Sequence[ActionTaken], intents: Sequence[IntentRecord]) -> int:
    executed = Counter((a.account, a.scope, a.kind) for a in actions)
    possible = Counter(
        (r.intent.account, r.intent.scope, _KIND.get(r.intent.kind, r.intent.kind))
        for r in intents
        if not r.intent.dry_run and r.status in MAY_HAVE_EXECUTED
    )
    return sum(max(0, n - possible.get(k, 0)) for k, n in executed.items())


def _delivery(status: NotifierStatus | None, health: NotifierStatus | None) -> Delivery:
    """Counts after the final flush; route health as it was while running."""
    if status is None:
        return Delivery()
    healthy = {r.name: r.healthy for r in (health or status).routes}
    return Delivery(
        submitted=status.submitted,
        delivered=status.delivered,
        retrying=status.retrying,
        failed=status.failed,
        routes=tuple(
            f"{r.name}: {'healthy' if healthy.get(r.name) else 'failing'}, "
            f"{sum(c.delivered for c in r.channels)} delivered, "
            f"{sum(c.failed for c in r.channels)} failed attempt(s)"
            for r in status.routes
        ),
    )


def _facts(rec: RunRecord) -> dict[str, int]:
    firing = Counter((a.account, a.scope, a.rule) for a in rec.alerts if a.kind == AlertKind.FIRING)
    return {
        "max_firing_per_rule": max(firing.values(), default=0),
        "stale_alerts": sum(1 for a in rec.alerts if a.kind == AlertKind.STALE),
        "error_alerts": sum(1 for a in rec.alerts if a.kind == AlertKind.ERROR),
        "cycle_errors": len(rec.loop_errors),
        "timeouts": rec.timeouts,
    }


def build_summary(rec: RunRecord) -> DemoSummary:
    truth, opts = rec.truth, rec.opts
    states = truth.states()
    liquidations = tuple(truth.liquidations(states))
    actions = tuple(truth.actions())
    moved = truth.capital_moved()
    path = truth.price_path(opts.run_s, PATH_STEP_S)
    orc = oracle(rec.starts, path)
    scopes: list[ScopeResult] = []
    reactions: list[int] = []
    for start in rec.starts:
        key = scope_key(start.account, start.scope)
        t_warn = first_crossing(start, path)
        if t_warn is not None and t_warn > 0:
            t_warn = refine_crossing(start, truth, max(0.0, t_warn - PATH_STEP_S), t_warn)
        t_act = first_action_at(actions, start.account, start.scope)
        reaction = None
        if t_warn is not None and t_act is not None:
            reaction = max(0, round((t_act - t_warn) * 1000))
            reactions.append(reaction)
        so = orc.for_scope(start.account, start.scope)
        scopes.append(
            ScopeResult(
                account=start.account,
                scope=start.scope,
                max_risk_rate=rec.max_risk.get(key, ZERO),
                lowest_distance=rec.min_distance.get(key),
                liquidated=any(
                    x.account == start.account and x.scope == start.scope for x in liquidations
                ),
                warning_at=t_warn,
                first_action_at=t_act,
                reaction_ms=reaction,
                capital_moved=moved.get((start.account, start.scope), ZERO),
                oracle_min=so.repay_usdt if so is not None else ZERO,
                oracle_feasible=so.feasible if so is not None else True,
                actions=sum(
                    1 for a in actions if a.account == start.account and a.scope == start.scope
                ),
            )
        )
    plots = _plots(rec) if opts.out_dir is not None else {}
    stats = truth.sim.stats
    return DemoSummary(
        scenario=opts.scenario.name,
        description=opts.scenario.description,
        mode=(
            "riskd LIVE against the simulator (the simulator is not an exchange: nothing real "
            "was traded)"
            if opts.daemon
            else "riskd OFF (--no-daemon): what the same crash does without it"
        ),
        speed=opts.speed,
        market_seconds=rec.samples[-1].t if rec.samples else 0.0,
        wall_seconds=rec.wall_s,
        liquidated=bool(liquidations),
        liquidations=liquidations,
        max_risk_rate=max(rec.max_risk.values(), default=ZERO),
        lowest_distance=min(rec.min_distance.values(), default=None),
        actions=actions,
        capital_moved=sum(moved.values(), ZERO),
        reaction_ms=max(reactions) if reactions else None,
        api_calls=stats.total_requests,
        rate_limited=stats.rate_limited,
        server_errors=stats.faults,
        oracle_min=orc.total_usdt,
        oracle_feasible=orc.feasible,
        duplicates=_duplicates(actions, rec.intents),
        intents=sum(1 for r in rec.intents if not r.intent.dry_run),
        alerts=tuple(
            AlertSeen(
                a.at - truth.start_s, str(a.severity), str(a.kind), a.title, a.account, a.scope
            )
            for a in rec.alerts
        ),
        delivery=_delivery(rec.notifier, rec.notifier_health),
        scopes=tuple(scopes),
        plots=plots,
        facts=_facts(rec),
    )


def _plots(rec: RunRecord) -> dict[str, str]:
    from riskd.demo.plot import write_html, write_png

    opts = rec.opts
    assert opts.out_dir is not None
    tl = Timeline(opts.label, rec.samples, rec.markers, rec.truth.warning, rec.truth.liquidation)
    base: Path = opts.out_dir / opts.label
    png = write_png(tl, base.with_suffix(".png"))
    page = write_html(tl, base.with_suffix(".html"))
    return {"png": str(png), "html": str(page)}
