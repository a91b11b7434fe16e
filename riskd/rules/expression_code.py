"""Lowered rule expressions to Python functions (:mod:`riskd.rules.expressions` checks and
lowers them): one expression's function, or one function for a batch of expressions.

A lowered tree reads ``r0, r1, …`` (its refs, positional parameters) and ``k0, k1, …`` (its
literals, globals); it is compiled into a lambda whose globals hold no builtins, only the
runtime helpers below. No user text ever reaches the compiler as source.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from riskd.rules.variables import Ref

if TYPE_CHECKING:
    from riskd.rules.expressions import Expression

#: Runtime functions available to compiled code (and nothing else: no builtins).
_RUNTIME: dict[str, Any] = {"__builtins__": {}, "_min": min, "_max": max, "_abs": abs}


def make_function(params: Sequence[str], body: ast.expr, consts: Sequence[Any]) -> Any:
    """A function of ``params`` returning ``body``, with ``k<i>`` bound to ``consts[i]``."""
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=p) for p in params],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    tree = ast.fix_missing_locations(ast.Expression(body=ast.Lambda(args=args, body=body)))
    code = compile(tree, "<rule expression>", "eval")
    namespace = dict(_RUNTIME)
    namespace.update({f"k{i}": c for i, c in enumerate(consts)})
    # The tree was lowered by riskd.rules.expressions from checked nodes only; no builtins
    # are reachable.
    return eval(code, namespace)  # noqa: S307


class _Renamer(ast.NodeTransformer):
    def __init__(self, refs: dict[str, str], consts: dict[str, str]) -> None:
        self.refs = refs
        self.consts = consts

    def visit_Name(self, node: ast.Name) -> ast.Name:
        new = self.refs.get(node.id) or self.consts.get(node.id) or node.id
        return ast.Name(id=new, ctx=ast.Load())


@dataclass(frozen=True, slots=True)
class Batch:
    """Many expressions compiled into one function returning a tuple of their values."""

    refs: tuple[Ref, ...]
    fn: Callable[..., tuple[Any, ...]] = field(repr=False, compare=False)


def compile_batch(
    exprs: Sequence[Expression], literal: Callable[[Decimal], Any] | None = None
) -> Batch:
    """One function ``f(*values_of_refs) -> (value_0, value_1, …)`` for all ``exprs``.

    ``literal`` converts each numeric literal (default: keep the Decimal); the benchmark
    passes ``float`` to measure what exact Decimal arithmetic costs.
    """
    refs: list[Ref] = []
    index: dict[Ref, int] = {}
    consts: list[Decimal] = []
    bodies: list[ast.expr] = []
    for e in exprs:
        ref_names: dict[str, str] = {}
        for i, r in enumerate(e.refs):
            if r not in index:
                index[r] = len(refs)
                refs.append(r)
            ref_names[f"r{i}"] = f"r{index[r]}"
        const_names: dict[str, str] = {}
        for j, c in enumerate(e.consts):
            const_names[f"k{j}"] = f"k{len(consts)}"
            consts.append(c)
        bodies.append(_Renamer(ref_names, const_names).visit(copy.deepcopy(e.tree)))
    body = ast.Tuple(elts=bodies, ctx=ast.Load())
    values = [literal(c) for c in consts] if literal else consts
    fn = make_function([f"r{i}" for i in range(len(refs))], body, values)
    return Batch(tuple(refs), fn)


__all__ = ["Batch", "compile_batch", "make_function"]
