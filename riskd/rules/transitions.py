"""The state machine of one rule × scope, and the run of its ``then`` steps.

``inactive`` → ``pending`` when the condition becomes true; → ``firing`` once it has held
for ``for`` (at once for ``0s``); ``firing`` → ``inactive`` ("resolved") once the condition
has been false for ``keep_firing_for`` (Prometheus semantics: counted from the first false
evaluation). A rule × scope whose condition cannot be evaluated is *unhealthy*: its state is
frozen (it neither advances nor resolves nor acts) until it evaluates again.

While firing and the condition holds, the ``then`` steps run in order. ``notify`` sends the
incident's firing notification (once per incident). Every other step becomes one
:class:`ActionRequest`; the next step waits until :func:`record_outcome` reports it, whether
it succeeded or failed. When the run ends, the next run starts after ``cooldown`` if the
condition still holds. At most one action per rule × scope is ever outstanding.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from riskd.rules.decisions import (
    ActionRequest,
    Notification,
    NotificationKind,
    Skipped,
)
from riskd.rules.model import ActionKind, Rule
from riskd.rules.sizing import action_params
from riskd.rules.state import Key, Outstanding, RuleScopeState, Status
from riskd.rules.templates import Template, format_value, render
from riskd.rules.variables import EvalError, Ref, ScopeContext
from riskd.severity import Severity
from riskd.sizing import Skip

#: Errors that make a rule × scope unhealthy (recorded and reported, never hidden).
RUNTIME_ERRORS = (EvalError, ArithmeticError, ValueError, TypeError, LookupError)
_SHOWN = ("riskRate", "warningRiskRatio", "liquidationRiskRatio", "dataAge")
_NO_LABELS: Mapping[str, str] = MappingProxyType({})
_RISK = Ref("riskRate")


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, decimal.DivisionByZero | ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, decimal.InvalidOperation):
        return "invalid arithmetic (such as 0/0)"
    if isinstance(exc, decimal.Overflow):
        return "number too large"
    return str(exc) or type(exc).__name__


class _Work:
    """A mutable copy of one :class:`RuleScopeState` while a step changes it."""

    __slots__ = (
        "active_since",
        "error",
        "false_since",
        "fired_at",
        "incident",
        "last_outcome",
        "last_run_end",
        "next_step",
        "notified",
        "outstanding",
        "run",
        "status",
    )

    def __init__(self, e: RuleScopeState) -> None:
        self.status: Status = e.status
        self.active_since: float | None = e.active_since
        self.fired_at: float | None = e.fired_at
        self.false_since: float | None = e.false_since
        self.incident: str | None = e.incident
        self.notified: bool = e.notified
        self.run: int = e.run
        self.next_step: int | None = e.next_step
        self.outstanding: Outstanding | None = e.outstanding
        self.last_run_end: float | None = e.last_run_end
        self.last_outcome: str | None = e.last_outcome
        self.error: str | None = e.error

    def freeze(self) -> RuleScopeState:
        return RuleScopeState(
            self.status,
            self.active_since,
            self.fired_at,
            self.false_since,
            self.incident,
            self.notified,
            self.run,
            self.next_step,
            self.outstanding,
            self.last_run_end,
            self.last_outcome,
            self.error,
        )


_INACTIVE = RuleScopeState()


class Stepper:
    """Steps rule × scopes for one evaluation, collecting what they decide."""

    def __init__(self, now: float, seq: int) -> None:
        self.now = now
        self.seq = seq
        self.actions: list[ActionRequest] = []
        self.notes: list[Notification] = []
        self.skipped: list[Skipped] = []
        self._shown: dict[str, tuple[tuple[str, Ref], ...]] = {}

    # --- notifications --------------------------------------------------------------

    def _values(self, rule: Rule | None, ctx: ScopeContext | None) -> Mapping[str, Decimal]:
        if ctx is None:
            return MappingProxyType({})
        name = rule.name if rule else ""
        shown = self._shown.get(name)
        if shown is None:
            refs = [Ref(n) for n in _SHOWN] + (list(rule.when.refs) if rule else [])
            shown = tuple(dict.fromkeys((r.label(), r) for r in refs))
            self._shown[name] = shown
        out: dict[str, Decimal] = {}
        for label, r in shown:
            try:
                out[label] = ctx.value(r)
            except RUNTIME_ERRORS:
                continue
        return MappingProxyType(out)

    def notify(
        self,
        kind: NotificationKind,
        rule: Rule | None,
        key: Key,
        incident: str | None,
        message: str,
        ctx: ScopeContext | None,
        error: str | None = None,
    ) -> None:
        self.notes.append(
            Notification(
                kind=kind,
                rule=key[2],
                account=key[0],
                scope=key[1],
                severity=rule.severity if rule else Severity.INFO,
                at=self.now,
                incident=incident,
                message=message,
                values=self._values(rule, ctx),
                labels=rule.labels if rule else _NO_LABELS,
                error=error,
            )
        )

    def message(self, rule: Rule, key: Key, template: Template | None, ctx: ScopeContext) -> str:
        if template is not None:
            words = {
                "rule": rule.name,
                "account": key[0],
                "scope": key[1],
                "symbol": ctx.snap.symbol or "",
                "severity": str(rule.severity),
            }
            return render(template, ctx, words)
        return f"{rule.name} on {key[0]} {key[1]}: {_rate(ctx)} ({rule.when.source})"

    # --- the state machine ------------------------------------------------------------

    def step(
        self,
        rule: Rule,
        key: Key,
        e: RuleScopeState | None,
        cond: bool,
        error: str | None,
        ctx: ScopeContext,
    ) -> RuleScopeState:
        """The new state of ``key`` given this evaluation's condition (or error)."""
        now = self.now
        if e is None:
            e = _INACTIVE
        elif error is None and e.error is None:
            # Fast paths: nothing changes (steady firing, or idle but cooling down).
            if cond:
                if e.status is Status.FIRING and e.false_since is None:
                    if e.outstanding is not None:
                        return e
                    if e.next_step is None and (
                        (e.last_run_end is not None and now - e.last_run_end < rule.cooldown)
                        or (e.notified and rule.notify_only)
                    ):
                        return e
            elif e.status is Status.INACTIVE:
                return e
        w = _Work(e)
        if error is not None:
            if e.error != error:
                self.notify(
                    NotificationKind.UNHEALTHY,
                    rule,
                    key,
                    e.incident,
                    f"{rule.name} cannot be evaluated for {key[1]}: {error}",
                    ctx,
                    error,
                )
                w.error = error
                return w.freeze()
            return e
        if e.error is not None:
            self.notify(
                NotificationKind.RECOVERED,
                rule,
                key,
                e.incident,
                f"{rule.name} evaluates again for {key[1]}",
                ctx,
            )
            w.error = None
        if cond:
            if w.status is Status.INACTIVE:
                w.status, w.active_since = Status.PENDING, now
            w.false_since = None
            since = now if w.active_since is None else w.active_since
            if w.status is Status.PENDING and now - since >= rule.for_:
                self.seq += 1
                w.status, w.fired_at = Status.FIRING, now
                w.incident = f"{rule.name}@{key[0]}/{key[1]}#{self.seq}"
                w.notified, w.run, w.next_step = False, 0, None
        elif w.status is Status.PENDING:
            w.status, w.active_since = Status.INACTIVE, None
        elif w.status is Status.FIRING:
            since = now if w.false_since is None else w.false_since
            if rule.keep_firing_for > 0 and now - since < rule.keep_firing_for:
                w.false_since = since
            else:
                self.resolve(rule, key, w, ctx, "")
        if w.status is Status.FIRING and cond and w.outstanding is None:
            self.ladder(rule, key, w, ctx)
        return w.freeze()

    def resolve_state(
        self, rule: Rule | None, key: Key, e: RuleScopeState, why: str
    ) -> RuleScopeState:
        """Resolve ``e`` without data (its scope or its rule is gone)."""
        w = _Work(e)
        if w.status is Status.FIRING:
            self.resolve(rule, key, w, None, why)
        w.status, w.active_since, w.error = Status.INACTIVE, None, None
        return w.freeze()

    def resolve(
        self, rule: Rule | None, key: Key, w: _Work, ctx: ScopeContext | None, why: str
    ) -> None:
        if w.notified:
            shown = f" ({_rate(ctx)})" if ctx is not None else ""
            self.notify(
                NotificationKind.RESOLVED,
                rule,
                key,
                w.incident,
                f"{key[2]} resolved for {key[1]}{shown}{why}",
                ctx,
            )
        if w.next_step is not None and w.outstanding is None:
            w.last_run_end = self.now  # a run cut short still starts the cooldown
        w.status, w.active_since, w.fired_at, w.false_since = Status.INACTIVE, None, None, None
        w.incident, w.notified, w.run, w.next_step = None, False, 0, None

    def ladder(self, rule: Rule, key: Key, w: _Work, ctx: ScopeContext) -> None:
        then = rule.then
        incident = w.incident
        if incident is None:  # firing always has an incident; never act without one
            return
        if w.next_step is None:
            if w.last_run_end is not None and self.now - w.last_run_end < rule.cooldown:
                # The cooldown holds back actions, never the incident's notification.
                notify = next((a for a in then if a.kind is ActionKind.NOTIFY), None)
                if notify is not None and not w.notified:
                    text = self.message(rule, key, notify.message or rule.message, ctx)
                    self.notify(NotificationKind.FIRING, rule, key, incident, text, ctx)
                    w.notified = True
                return
            if w.notified and rule.notify_only:
                return
            w.next_step, w.run = 0, w.run + 1
            # A notification in ``then`` is sent when the run starts, wherever it stands: a
            # ``notify`` after an action would never be reached once the action ended the
            # incident (each action still has its own alert with its outcome).
            notify = next((a for a in then if a.kind is ActionKind.NOTIFY), None)
            if notify is not None and not w.notified:
                text = self.message(rule, key, notify.message or rule.message, ctx)
                self.notify(NotificationKind.FIRING, rule, key, incident, text, ctx)
                w.notified = True
        step = w.next_step
        while step < len(then):
            action = then[step]
            step += 1
            if action.kind is ActionKind.NOTIFY:
                if not w.notified:
                    text = self.message(rule, key, action.message or rule.message, ctx)
                    self.notify(NotificationKind.FIRING, rule, key, incident, text, ctx)
                    w.notified = True
                continue
            try:
                params = action_params(action, ctx)
            except Skip as why:
                self._skip(rule, key, action.index, action.kind, str(why))
                continue
            except RUNTIME_ERRORS as exc:
                err = describe_error(exc)
                self.notify(
                    NotificationKind.UNHEALTHY,
                    rule,
                    key,
                    incident,
                    f"{rule.name}: cannot size {action.kind} for {key[1]}: {err}",
                    ctx,
                    f"then[{action.index}]: {err}",
                )
                self._skip(rule, key, action.index, action.kind, f"error: {err}")
                continue
            action_id = f"{incident}.{w.run}.{action.index}"
            self._acted(key)
            self.actions.append(
                ActionRequest(
                    id=action_id,
                    kind=action.kind,
                    account=key[0],
                    scope=key[1],
                    rule=rule.name,
                    step=action.index,
                    incident=incident,
                    severity=rule.severity,
                    params=MappingProxyType(params),
                    at=self.now,
                )
            )
            last = step >= len(then)
            w.outstanding = Outstanding(action_id, str(action.kind), action.index, self.now, last)
            w.next_step = None if last else step
            return
        w.next_step, w.last_run_end = None, self.now

    def _skip(self, rule: Rule, key: Key, index: int, kind: ActionKind, reason: str) -> None:
        self.skipped.append(Skipped(rule.name, key[0], key[1], index, kind, reason, self.now))

    def _acted(self, key: Key) -> None:
        """A step of rule × scope ``key`` acts: its steps skipped before it in this evaluation
        were passed over on the way to it."""
        self.skipped = [
            replace(s, acted_after=True) if (s.account, s.scope, s.rule) == key else s
            for s in self.skipped
        ]


def _rate(ctx: ScopeContext | None) -> str:
    if ctx is None:
        return "riskRate ?"
    try:
        return f"riskRate {format_value(ctx.value(_RISK))}"
    except RUNTIME_ERRORS:
        return "riskRate ?"
