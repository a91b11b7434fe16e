"""``evaluate(rules, data, now, state) -> Evaluation``: the pure heart of riskd.

For every scope snapshot in ``data``, every rule whose ``scope`` matches is evaluated (the
conditions of one scope are compiled into one function, see
:func:`riskd.rules.expressions.compile_batch`), and each rule × scope is stepped through
its state machine (:mod:`riskd.rules.transitions`). Nothing reads the clock and nothing does
I/O: the same rules, data, ``now`` and state always give the same decisions.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType

from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules.decisions import Evaluation
from riskd.rules.model import Group, Rule, RuleSet
from riskd.rules.state import EngineState, Key, RuleScopeState, ScopeKey
from riskd.rules.transitions import RUNTIME_ERRORS, Stepper, describe_error
from riskd.rules.variables import (
    PRICE_SERIES,
    SEEN_SERIES,
    Ref,
    Sample,
    ScopeContext,
    exposed_coins,
)

#: Decimal arithmetic for rule expressions: errors raise (and make the rule unhealthy).
CONTEXT = decimal.Context(
    prec=28, traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow]
)
#: Samples kept per scalar per scope: a window is followed at ~window/HISTORY_POINTS.
HISTORY_POINTS = 200

History = Mapping[str, tuple[Sample, ...]]


def conditions(group: Group, ctx: ScopeContext) -> Sequence[bool | str]:
    """Each condition of ``group``: True / False, or the error that stopped it (a str).

    The compiled batch runs first; if anything in it fails, each rule is evaluated on its
    own so that one failing rule does not take the others with it.
    """
    try:
        values = [ctx.value(r) for r in group.batch.refs]
        result: tuple[bool, ...] = group.batch.fn(*values)
        return result
    except RUNTIME_ERRORS:
        pass
    out: list[bool | str] = []
    for rule in group.rules:
        try:
            out.append(bool(rule.when.evaluate(ctx)))
        except RUNTIME_ERRORS as exc:
            out.append(describe_error(exc))
    return out


def _cooling(rule: Rule, e: RuleScopeState, now: float) -> bool:
    return e.last_run_end is not None and now - e.last_run_end < rule.cooldown


def _record(hist: History, ctx: ScopeContext, windows: Mapping[str, float]) -> History:
    """Append this snapshot's values of the followed scalars, keeping one window of each."""
    t = ctx.snap.observed_at
    out: dict[str, tuple[Sample, ...]] = {}
    series: list[tuple[str, float]] = []
    for name, window in windows.items():
        if name == PRICE_SERIES:
            series += [(PRICE_SERIES + c, window) for c in exposed_coins(ctx.snap)]
        else:
            series.append((name, window))
    for name, window in series:
        samples = hist.get(name, ())
        if samples and t - samples[-1][0] < max(window / HISTORY_POINTS, 1e-9):
            out[name] = samples  # not newer data (or too close to the last sample)
            continue
        try:
            value = _series_value(ctx, name)
        except RUNTIME_ERRORS:
            out[name] = samples
            continue
        cutoff = t - window
        start = 0
        while start + 1 < len(samples) and samples[start + 1][0] <= cutoff:
            start += 1  # keep one sample at or before the cutoff as the window's anchor
        out[name] = (*samples[start:][-2 * HISTORY_POINTS :], (t, value))
    return MappingProxyType(out)


def _series_value(ctx: ScopeContext, name: str) -> Decimal:
    """The value recorded for one history series at this observation."""
    if name == SEEN_SERIES:
        return Decimal(0)
    if name.startswith(PRICE_SERIES):
        return ctx.value(Ref("price", name[len(PRICE_SERIES) :]))
    return ctx.value(Ref(name))


class _Evaluation:
    def __init__(self, rules: RuleSet, state: EngineState, now: float) -> None:
        self.rules = rules
        self.now = now
        self.entries: dict[ScopeKey, Mapping[str, RuleScopeState]] = dict(state.entries)
        self.history: dict[ScopeKey, History] = dict(state.history)
        self.stepper = Stepper(now, state.seq)

    def scope(self, snap: ScopeSnapshot) -> None:
        skey = (snap.account, snap.scope)
        hist = self.history.get(skey, {})
        ctx = ScopeContext(snap, self.now, hist)
        group = self.rules.group_for(snap.scope)
        results = conditions(group, ctx)
        old = self.entries.get(skey)
        per: dict[str, RuleScopeState] = dict(old) if old else {}
        step = self.stepper.step
        now = self.now
        for rule, res in zip(group.rules, results, strict=True):
            name = rule.name
            e = per.get(name)
            if res is False:
                if e is None:
                    continue
                new = step(rule, (skey[0], skey[1], name), e, False, None, ctx)
            elif res is True:
                new = step(rule, (skey[0], skey[1], name), e, True, None, ctx)
            else:
                new = step(rule, (skey[0], skey[1], name), e, False, str(res), ctx)
            if new is e:
                if e.idle() and not _cooling(rule, e, now):
                    del per[name]
                continue
            if new.idle() and not _cooling(rule, new, now):
                per.pop(name, None)
            else:
                per[name] = new
        for name in set(per) - group.names:  # rule removed, or no longer for this scope
            self._gone(skey, name, per, " (rule removed or no longer for this scope)")
        self._store(skey, per)
        windows = self.rules.windows
        if windows:
            self.history[skey] = _record(hist, ctx, windows)
        else:
            self.history.pop(skey, None)

    def _gone(self, skey: ScopeKey, name: str, per: dict[str, RuleScopeState], why: str) -> None:
        rule = self.rules.rule(name)
        key: Key = (skey[0], skey[1], name)
        e = self.stepper.resolve_state(rule, key, per[name], why)
        if e.outstanding is None and not (rule and _cooling(rule, e, self.now)):
            del per[name]
        else:
            per[name] = e

    def _store(self, skey: ScopeKey, per: dict[str, RuleScopeState]) -> None:
        if per:
            self.entries[skey] = MappingProxyType(per)
        else:
            self.entries.pop(skey, None)

    def absent(self, present: set[ScopeKey]) -> None:
        """Resolve the scopes of reported accounts that were not reported this time."""
        accounts = {a for a, _ in present}
        for skey in list(self.entries):
            if skey[0] in accounts and skey not in present:
                per = dict(self.entries[skey])
                for name in list(per):
                    self._gone(skey, name, per, " (scope no longer reported)")
                self._store(skey, per)
        for skey in list(self.history):
            if skey[0] in accounts and skey not in present:
                del self.history[skey]


def evaluate(
    rules: RuleSet, data: Mapping[str, ScopeSnapshot], now: float, state: EngineState
) -> Evaluation:
    """Evaluate every rule on every scope in ``data`` at ``now``, starting from ``state``.

    ``data`` holds snapshots (keyed by anything; each carries its account and scope).
    Scopes of an account present in ``data`` but missing from it resolve: the daemon keeps
    passing the last snapshot while polling fails (its ``dataAge`` grows), and leaves a scope
    out only when it is gone. State of accounts absent from ``data`` is left untouched.
    """
    run = _Evaluation(rules, state, now)
    present: set[ScopeKey] = set()
    with decimal.localcontext(CONTEXT):
        for snap in data.values():
            present.add((snap.account, snap.scope))
            run.scope(snap)
        run.absent(present)
    st = run.stepper
    new_state = EngineState(MappingProxyType(run.entries), MappingProxyType(run.history), st.seq)
    return Evaluation(new_state, tuple(st.actions), tuple(st.notes), tuple(st.skipped))
