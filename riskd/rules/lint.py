"""Lints for ``riskd check``: rules that load but probably do not do what was meant.

Warnings only; ``riskd check --strict`` turns them into failures.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from decimal import Decimal

from riskd.durations import format_duration
from riskd.rules.expressions import Expression
from riskd.rules.model import ActionKind, Level, Problem, Rule, RuleSet
from riskd.rules.variables import PER_COIN, SCALARS, Ref

#: Risk rates at or above this are liquidation already (the usual liquidationRiskRatio).
LIQUIDATION = Decimal(1)
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
_ACTS = (ActionKind.REPAY, ActionKind.FLASH_REPAY, ActionKind.REDUCE, ActionKind.CANCEL_ORDERS)


@dataclass(frozen=True, slots=True)
class Interval:
    lo: Decimal | None = None
    lo_open: bool = False
    hi: Decimal | None = None
    hi_open: bool = False

    def meet(self, o: Interval) -> Interval:
        lo, lo_open = self.lo, self.lo_open
        if o.lo is not None and (lo is None or o.lo > lo or (o.lo == lo and o.lo_open)):
            lo, lo_open = o.lo, o.lo_open
        hi, hi_open = self.hi, self.hi_open
        if o.hi is not None and (hi is None or o.hi < hi or (o.hi == hi and o.hi_open)):
            hi, hi_open = o.hi, o.hi_open
        return Interval(lo, lo_open, hi, hi_open)

    @property
    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))


def _bounds(ref: Ref) -> Interval:
    if ref.fn is not None:
        return Interval()
    spec = SCALARS.get(ref.name) if ref.coin is None else PER_COIN.get(ref.name)
    if spec is None:
        return Interval()
    return Interval(spec.lower, False, spec.upper, False)


class _Analysis:
    """Which plain ``var op constant`` facts a condition requires (for "never fires")."""

    def __init__(self, expr: Expression) -> None:
        self.expr = expr

    def const(self, node: ast.AST) -> Decimal | None:
        if isinstance(node, ast.Name) and node.id.startswith("k"):
            return self.expr.consts[int(node.id[1:])]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.const(node.operand)
            return None if inner is None else -inner
        return None

    def ref(self, node: ast.AST) -> Ref | None:
        if isinstance(node, ast.Name) and node.id.startswith("r"):
            return self.expr.refs[int(node.id[1:])]
        return None

    def facts(self, node: ast.AST) -> dict[Ref, Interval] | None:
        """Constraints that must all hold for ``node`` to be true; None: contradiction."""
        out: dict[Ref, Interval] = {}
        if isinstance(node, ast.Constant) and node.value is False:
            return None
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            for v in node.values:
                sub = self.facts(v)
                if sub is None:
                    return None
                for r, iv in sub.items():
                    out[r] = out.get(r, _bounds(r)).meet(iv)
        elif isinstance(node, ast.BoolOp):
            branches = [self.facts(v) for v in node.values]
            if all(b is None for b in branches):
                return None
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, a, b in zip(node.ops, operands, operands[1:], strict=False):
                fact = self.compare(a, op, b)
                if fact is not None:
                    r, iv = fact
                    out[r] = out.get(r, _bounds(r)).meet(iv)
        for iv in out.values():
            if iv.empty:
                return None
        return out

    def compare(self, a: ast.AST, op: ast.cmpop, b: ast.AST) -> tuple[Ref, Interval] | None:
        ra, cb = self.ref(a), self.const(b)
        flip = False
        if ra is None or cb is None:
            ra, cb, flip = self.ref(b), self.const(a), True
        if ra is None or cb is None:
            return None
        kind = type(op)
        if flip:
            kind = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}.get(
                kind, kind
            )
        if kind is ast.Gt:
            return ra, Interval(lo=cb, lo_open=True)
        if kind is ast.GtE:
            return ra, Interval(lo=cb)
        if kind is ast.Lt:
            return ra, Interval(hi=cb, hi_open=True)
        if kind is ast.LtE:
            return ra, Interval(hi=cb)
        if kind is ast.Eq:
            return ra, Interval(lo=cb, hi=cb)
        return None


def _never_reason(rule: Rule) -> str | None:
    expr = rule.when
    if not expr.refs:
        value = bool(expr.fn())
        return None if value else "its condition is always false: it can never fire"
    facts = _Analysis(expr).facts(expr.tree)
    if facts is None:
        return "its condition can never be true (the bounds contradict each other)"
    for ref, iv in facts.items():
        if (
            ref.name in ("riskRate", "localRiskRate")
            and ref.fn is None
            and iv.lo is not None
            and (iv.lo > LIQUIDATION or (iv.lo == LIQUIDATION and iv.lo_open))
        ):
            return (
                f"it needs {ref.name} above {iv.lo}, past the liquidation ratio (1): the"
                " exchange liquidates first, so it can never fire in time"
            )
    return None


def lint_rule(rule: Rule, interval: float) -> list[str]:
    out: list[str] = []
    never = _never_reason(rule)
    if never:
        out.append(never)
    elif not rule.when.refs:
        out.append("its condition is always true: it fires on every scope at once")
    for p in rule.scope.patterns:
        sym = p.removeprefix("isolated:")
        if p.startswith("isolated:") and sym != "*" and not _SYMBOL.fullmatch(sym):
            out.append(
                f"scope '{p}' names no symbol the exchange uses (symbols look like BTCUSDT):"
                " it will match nothing"
            )
    every = format_duration(interval)
    if 0 < rule.keep_firing_for < rule.for_:
        out.append(
            f"'for' ({format_duration(rule.for_)}) is longer than 'keep_firing_for'"
            f" ({format_duration(rule.keep_firing_for)}): keep_firing_for only holds a rule that"
            " is already firing; a dip while pending still restarts the"
            f" {format_duration(rule.for_)} wait"
        )
    if 0 < rule.keep_firing_for < interval:
        out.append(f"keep_firing_for is shorter than the evaluation interval ({every}): no effect")
    if 0 < rule.for_ < interval:
        out.append(
            f"'for' is shorter than the evaluation interval ({every}): it fires at the second"
            " evaluation where the condition holds"
        )
    acts = [a for a in rule.then if a.kind in _ACTS]
    if acts and rule.cooldown < interval:
        out.append(
            f"cooldown ({format_duration(rule.cooldown)}) is shorter than the evaluation interval"
            f" ({every}): actions can repeat at every evaluation while the rule holds"
        )
    for ref in rule.when.refs:
        if ref.fn is not None and ref.window < 2 * interval:
            out.append(
                f"{ref.fn}() over {format_duration(ref.window)} spans fewer than two evaluations"
                f" at {every}: it compares with the previous sample only"
            )
    first_act = next((a.index for a in rule.then if a.kind in _ACTS), None)
    late = [
        a
        for a in rule.then
        if first_act is not None and a.kind is ActionKind.NOTIFY and a.index > first_act
    ]
    if late:
        out.append(
            f"then[{late[0].index}] notify stands after an action: riskd sends it when the rule"
            " fires, before the action, not after it (each action's own alert reports its"
            " outcome); put it first to say so"
        )
    for a in rule.then:
        target = a.target_risk_rate
        if target is not None and not target.refs:
            t = target.fn()
            if t >= Decimal("0.8"):
                out.append(
                    f"then[{a.index}] repays to target_risk_rate {t}, at or above the"
                    " margin-call level (0.8): it will rarely repay anything"
                )
    return out


def lint(rules: RuleSet, interval: float = 10.0) -> list[Problem]:
    """Warnings for every rule, evaluated for an evaluation interval of ``interval`` seconds."""
    problems: list[Problem] = []
    for rule in rules.rules:
        for message in lint_rule(rule, interval):
            problems.append(Problem(rule.file, message, rule.line, rule.name, None, Level.WARNING))
    return problems
