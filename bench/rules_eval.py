"""Rule evaluations (rule × scope) per second: 1,000 rules × 100 scopes.

Measured in one run, on one core, on the same expressions and the same scope data:

1. riskd's compiled batch (every condition of a scope in one compiled function, Decimal);
2. the same batch with float literals and float data (what exact Decimals cost);
3. the whole engine, ``evaluate()`` (state machine, history, decisions included), in steady
   state (state carried over) and for the first evaluation (every incident opening);
4. ``simpleeval.simple_eval`` (parses on every call — the baseline the issue names);
5. ``simpleeval.SimpleEval.eval`` with the tree parsed once (simpleeval at its fastest).

simpleeval is timed on a sample of the rule × scope pairs (it is much slower) and reported
as a rate. Run: ``.venv/bin/python bench/rules_eval.py [--rules 1000] [--scopes 100]``.
"""

from __future__ import annotations

import argparse
import ast
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import simpleeval

from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.rules.engine import CONTEXT, evaluate
from riskd.rules.expressions import compile_batch
from riskd.rules.loader import load_texts
from riskd.rules.model import RuleSet
from riskd.rules.state import EngineState
from riskd.rules.variables import Ref, ScopeContext

SHAPES = (
    "riskRate > 0.{a}",
    'riskRate >= warningRiskRatio - 0.0{b} and borrow["USDT"] > {a}',
    'min(available["USDT"], borrow["USDT"] + interest["USDT"]) > {a} or dataAge > 6{b}',
    'net["USDT"] < -{a} and riskRate > 0.5',
    "abs(riskRate - 0.5) * 2 > 0.{a}",
    "riskRate > 0.{a} and openOrders > {b}",
    "liquidationRiskRatio - riskRate < 0.0{b}",
    'max(borrow["USDT"], interest["USDT"] * 100) >= {a}0',
)


def make_rules(n: int) -> tuple[RuleSet, list[str]]:
    exprs = [SHAPES[i % len(SHAPES)].format(a=1 + i % 9, b=1 + i % 7) for i in range(n)]
    text = "\n".join(
        f'[[rule]]\nname = "r{i}"\nwhen = \'{e}\'\nthen = ["notify"]\n' for i, e in enumerate(exprs)
    )
    loaded = load_texts([("bench.toml", text)])
    assert loaded.ruleset is not None, loaded.problems
    return loaded.ruleset, exprs


def make_scopes(n: int, now: float) -> dict[str, ScopeSnapshot]:
    out = {}
    for i in range(n):
        scope = "cross" if i == 0 else f"isolated:S{i}USDT"
        usdt = CoinBalance("USDT", Decimal(100 + i), Decimal(i % 3), Decimal(50 * i), Decimal(i))
        out[scope] = ScopeSnapshot(
            "main", scope, Decimal(i % 95) / 100, {"USDT": usdt}, now - (i % 90), open_orders=i % 4
        )
    return out


def rate(fn: Callable[[], int], min_seconds: float = 1.0) -> float:
    """Evaluations per second of ``fn`` (which returns how many it did), best of 3 runs."""
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while True:
            done += fn()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds / 3:
                break
        best = max(best, done / elapsed)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--scopes", type=int, default=100)
    ap.add_argument("--sample", type=int, default=5000, help="simpleeval pairs per round")
    args = ap.parse_args()
    now = 1_000_000.0
    rules, exprs = make_rules(args.rules)
    snaps = make_scopes(args.scopes, now)
    pairs = args.rules * args.scopes

    groups = {s: rules.group_for(s) for s in snaps}
    float_batches = {
        s: compile_batch([rules.rules[i].when for i in g.indices], float) for s, g in groups.items()
    }

    def compiled() -> int:
        with _ctx():
            for scope, snap in snaps.items():
                batch = groups[scope].batch
                ctx = ScopeContext(snap, now)
                batch.fn(*[ctx.value(r) for r in batch.refs])
        return pairs

    float_values = {}
    for scope, snap in snaps.items():
        ctx = ScopeContext(snap, now)
        float_values[scope] = [float(ctx.value(r)) for r in float_batches[scope].refs]

    def floats() -> int:
        for scope in snaps:
            float_batches[scope].fn(*float_values[scope])
        return pairs

    cold_start = time.perf_counter()
    opened = evaluate(rules, snaps, now, EngineState())
    cold = pairs / (time.perf_counter() - cold_start)
    steady = opened.state

    def engine() -> int:
        evaluate(rules, snaps, now + 1, steady)
        return pairs

    names_by_scope = {s: _names(snap, now) for s, snap in snaps.items()}
    functions = {"min": min, "max": max, "abs": abs}
    scopes = list(snaps)
    sample = [(exprs[k % len(exprs)], scopes[(k * 7) % len(scopes)]) for k in range(args.sample)]

    def simple() -> int:
        for e, s in sample:
            simpleeval.simple_eval(e, names=names_by_scope[s], functions=functions)
        return len(sample)

    evaluators = {
        s: simpleeval.SimpleEval(names=n, functions=functions) for s, n in names_by_scope.items()
    }
    parsed = {e: simpleeval.SimpleEval.parse(e) for e in set(exprs)}

    def simple_parsed() -> int:
        for e, s in sample:
            evaluators[s].eval(e, previously_parsed=parsed[e])
        return len(sample)

    _check_agreement(rules, snaps, now, names_by_scope, exprs, functions)
    r_compiled = rate(compiled)
    r_float = rate(floats)
    r_engine = rate(engine)
    r_simple = rate(simple)
    r_parsed = rate(simple_parsed)
    print(f"rules × scopes: {args.rules} × {args.scopes} = {pairs} evaluations per round")
    print(f"riskd compiled batch (Decimal):      {r_compiled:>14,.0f} evaluations/s")
    print(
        f"riskd compiled batch (float):        {r_float:>14,.0f} evaluations/s"
        f"   (Decimal costs ×{r_float / r_compiled:.2f})"
    )
    firing = sum(len(per) for per in steady.entries.values())
    print(
        f"riskd evaluate() (whole engine):     {r_engine:>14,.0f} evaluations/s"
        f"   (steady state, {firing:,} of {pairs:,} rule × scopes firing)"
    )
    print(
        f"riskd evaluate() first evaluation:   {cold:>14,.0f} evaluations/s"
        f"   (opens {len(opened.notifications):,} incidents with notifications)"
    )
    print(f"simpleeval.simple_eval:              {r_simple:>14,.0f} evaluations/s")
    print(f"simpleeval parsed once:              {r_parsed:>14,.0f} evaluations/s")
    print(f"ratio compiled / simple_eval:        {r_compiled / r_simple:>14,.1f}")
    print(f"ratio evaluate() / simple_eval:      {r_engine / r_simple:>14,.1f}")
    print(f"ratio compiled / simpleeval parsed:  {r_compiled / r_parsed:>14,.1f}")
    goal = 1_000_000
    print(
        f"goal {goal:,}/s: compiled {'met' if r_compiled >= goal else 'MISSED'}, "
        f"evaluate() {'met' if r_engine >= goal else 'MISSED'}"
    )


class _ctx:
    def __enter__(self) -> None:
        import decimal

        self._cm = decimal.localcontext(CONTEXT)
        self._cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)


def _names(snap: ScopeSnapshot, now: float) -> dict[str, Any]:
    """The same values as simpleeval names (floats: its literals are floats)."""
    b = snap.balance("USDT")
    return {
        "riskRate": float(snap.risk_rate),
        "warningRiskRatio": float(snap.warning_risk_ratio),
        "liquidationRiskRatio": float(snap.liquidation_risk_ratio),
        "dataAge": snap.age(now),
        "openOrders": snap.open_orders,
        "available": {"USDT": float(b.available)},
        "borrow": {"USDT": float(b.borrow)},
        "interest": {"USDT": float(b.interest)},
        "net": {"USDT": float(b.net)},
    }


class _DecimalEval(simpleeval.SimpleEval):  # type: ignore[misc]
    """simpleeval reading numeric literals as Decimals, as riskd does."""

    def __init__(self, names: dict[str, Any], functions: dict[str, Any]) -> None:
        super().__init__(names=names, functions=functions)
        self.nodes[ast.Constant] = self._constant

    def _constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return Decimal(ast.get_source_segment(self.expr, node) or repr(node.value))
        return node.value


def _decimal_names(names: dict[str, Any]) -> dict[str, Any]:
    def dec(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: dec(x) for k, x in v.items()}
        return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)

    return {k: dec(v) for k, v in names.items()}


def _check_agreement(
    rules: RuleSet,
    snaps: dict[str, ScopeSnapshot],
    now: float,
    names: dict[str, dict[str, Any]],
    exprs: list[str],
    functions: dict[str, Any],
) -> None:
    """Both evaluators must agree on what they are timed on (a sanity check, not a test).

    Against simpleeval with Decimal literals and values they must agree exactly; against
    plain (float) simple_eval they differ only where binary floats round at a threshold,
    e.g. abs(0.65 - 0.5) * 2 > 0.3 is True in floats (0.30000000000000004).
    """
    exact = floaty = 0
    with _ctx():
        for scope, snap in snaps.items():
            g = rules.group_for(scope)
            ctx = ScopeContext(snap, now)
            got = g.batch.fn(*[ctx.value(r) for r in g.batch.refs])
            dnames = _decimal_names(names[scope])
            dnames["dataAge"] = ctx.value(Ref("dataAge"))
            reference = _DecimalEval(dnames, functions)
            for i, value in zip(g.indices, got, strict=True):
                exact += bool(value) != bool(reference.eval(exprs[i]))
                ref = simpleeval.simple_eval(exprs[i], names=names[scope], functions=functions)
                floaty += bool(value) != bool(ref)
    print(
        f"agreement: {exact} disagreements with simpleeval on Decimals; {floaty} with float"
        " simple_eval (binary rounding at thresholds)"
    )
    assert exact == 0


if __name__ == "__main__":
    main()
