"""Safe rule expressions: checked once at load, compiled to plain Python functions.

The language is a strict subset of simpleeval's (which serves as the reference interpreter in
the tests and the benchmark): numbers, ``True``/``False``, ``+ - * / // %``, ``**`` with a
small literal exponent, comparisons (chains allowed), ``and``/``or``/``not``,
``a if cond else b``, ``name["COIN"]`` and the whitelisted functions of
:mod:`riskd.rules.variables`. Everything else — attribute access, any other call, lambda,
comprehension, f-string, container literal, walrus, names starting with ``_`` — is refused
**at load** with a message naming the problem, as are unknown names (with a "did you mean").

Checking is static and typed: every sub-expression is a number, a condition or a coin name,
and strings exist only as coin names and function arguments (≤ 32 characters), so nothing
can build a long string or a huge power at run time. Numbers are ``Decimal`` throughout;
literals are read from their source text, so ``riskRate > 0.8`` compares exactly.

A checked tree is *lowered*: every value it reads becomes a positional parameter
(``r0, r1, …`` for :class:`~riskd.rules.variables.Ref`) and every literal a global
(``k0, k1, …``); the lowered tree is compiled with ``compile()`` into a lambda whose globals
hold no builtins (:mod:`riskd.rules.expression_code`). No user text ever reaches the compiler
as source.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from riskd.durations import DurationError
from riskd.rules.durations import rule_duration
from riskd.rules.expression_code import Batch as Batch  # re-exported
from riskd.rules.expression_code import compile_batch as compile_batch  # re-exported
from riskd.rules.expression_code import make_function
from riskd.rules.suggest import suggest
from riskd.rules.variables import (
    ACTION_COIN,
    ALL_NAMES,
    BASE,
    COIN_NAMES,
    FUNCTIONS,
    HISTORIC,
    PER_COIN,
    PRICE_FUNCTIONS,
    QUOTE,
    SCALARS,
    Ref,
    ScopeContext,
)

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 30
MAX_EXPONENT = 16
MAX_TEXT = 32


class ExpressionError(ValueError):
    """An expression refused at load; the message says what and where."""


class Kind(StrEnum):
    NUMBER = "number"
    CONDITION = "condition"
    COIN = "coin name"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Env:
    """What an expression may refer to where it appears."""

    #: Bare per-coin names (``borrow``) mean the action's coin.
    action_coin: bool = False
    #: ``base``/``quote`` are allowed (every scope of the rule is isolated).
    isolated: bool = False


_OPS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_CMPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)

_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Slice: "slices are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked, compiled expression."""

    source: str
    kind: Kind
    refs: tuple[Ref, ...]
    consts: tuple[Decimal, ...]
    #: Lowered tree: ``Name("r<i>")`` for refs[i], ``Name("k<j>")`` for consts[j].
    tree: ast.expr = field(repr=False, compare=False)
    fn: Callable[..., Any] = field(repr=False, compare=False)

    def evaluate(self, ctx: ScopeContext, action_coin: str | None = None) -> Any:
        """Value for one scope; raises EvalError / ArithmeticError on a runtime failure."""
        return self.fn(*[ctx.value(r, action_coin) for r in self.refs])


class _Checker:
    def __init__(self, source: str, env: Env) -> None:
        self.source = source
        self.env = env
        self.refs: list[Ref] = []
        self.consts: list[Decimal] = []
        self.nodes = 0

    def fail(self, node: ast.AST | None, message: str) -> ExpressionError:
        col = getattr(node, "col_offset", None)
        where = f" (at column {col + 1})" if isinstance(col, int) else ""
        return ExpressionError(f"{message}{where}")

    def ref(self, r: Ref) -> ast.expr:
        if r not in self.refs:
            self.refs.append(r)
        return ast.Name(id=f"r{self.refs.index(r)}", ctx=ast.Load())

    def const(self, d: Decimal) -> ast.expr:
        for i, c in enumerate(self.consts):
            if c == d and str(c) == str(d):
                return ast.Name(id=f"k{i}", ctx=ast.Load())
        self.consts.append(d)
        return ast.Name(id=f"k{len(self.consts) - 1}", ctx=ast.Load())

    # --- the walk: returns (lowered node, kind) ---------------------------------------

    def walk(self, node: ast.AST, depth: int = 0) -> tuple[ast.expr, Kind]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(None, f"expression is too complex (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"expression is nested too deeply (over {MAX_DEPTH} levels)")
        refused = _REFUSED.get(type(node))
        if refused is not None:
            raise self.fail(node, refused)
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not allowed in a rule expression")
        result: tuple[ast.expr, Kind] = method(node, depth + 1)
        return result

    def expect(self, node: ast.AST, want: Kind, depth: int, what: str) -> ast.expr:
        lowered, kind = self.walk(node, depth)
        if kind != want:
            seg = ast.get_source_segment(self.source, node) or "?"
            raise self.fail(node, f"{what} must be a {want}, but '{seg}' is a {kind}")
        return lowered

    def _Constant(self, node: ast.Constant, depth: int) -> tuple[ast.expr, Kind]:
        v = node.value
        if isinstance(v, bool):
            return ast.Constant(value=v), Kind.CONDITION
        if isinstance(v, int):
            return self.const(Decimal(v)), Kind.NUMBER
        if isinstance(v, float):
            text = ast.get_source_segment(self.source, node) or repr(v)
            try:
                d = Decimal(text.replace("_", ""))
            except InvalidOperation:
                d = Decimal(repr(v))
            if not d.is_finite():
                raise self.fail(node, f"number {text} is not finite")
            return self.const(d), Kind.NUMBER
        if isinstance(v, str):
            if len(v) > MAX_TEXT:
                raise self.fail(node, f"text longer than {MAX_TEXT} characters is not allowed")
            return ast.Constant(value=v), Kind.TEXT
        raise self.fail(node, f"{type(v).__name__} literals are not allowed")

    def _Name(self, node: ast.Name, depth: int) -> tuple[ast.expr, Kind]:
        name = node.id
        if name.startswith("_"):
            raise self.fail(node, f"names starting with '_' are not allowed ('{name}')")
        if name in SCALARS:
            return self.ref(Ref(name)), Kind.NUMBER
        if name in PER_COIN:
            if self.env.action_coin:
                return self.ref(Ref(name, ACTION_COIN)), Kind.NUMBER
            raise self.fail(
                node,
                f"'{name}' is per coin: write {name}[\"USDT\"] (or {name}[base] in isolated"
                " scopes); the bare name only means the action's coin inside an action",
            )
        if name in COIN_NAMES:
            if not self.env.isolated:
                raise self.fail(
                    node,
                    f"'{name}' only exists in isolated scopes, and this rule's scope "
                    "includes cross",
                )
            return ast.Constant(value=BASE if name == "base" else QUOTE), Kind.COIN
        if name in FUNCTIONS:
            raise self.fail(node, f"'{name}' is a function: call it, e.g. {FUNCTIONS[name]}")
        raise self.fail(node, f"unknown name '{name}'{suggest(name, ALL_NAMES)}")

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> tuple[ast.expr, Kind]:
        if isinstance(node.op, ast.Not):
            inner = self.expect(node.operand, Kind.CONDITION, depth, "the operand of 'not'")
            return ast.UnaryOp(op=ast.Not(), operand=inner), Kind.CONDITION
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.expect(node.operand, Kind.NUMBER, depth, "the operand of '-'")
            return ast.UnaryOp(op=node.op, operand=inner), Kind.NUMBER
        raise self.fail(node, "operator '~' is not allowed")

    def _BinOp(self, node: ast.BinOp, depth: int) -> tuple[ast.expr, Kind]:
        sym = _OPS.get(type(node.op))
        if sym is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        left = self.expect(node.left, Kind.NUMBER, depth, f"the left side of '{sym}'")
        if sym == "**":
            exp = _literal_number(node.right)
            if exp is None or abs(exp) > MAX_EXPONENT:
                raise self.fail(
                    node,
                    f"the exponent of '**' must be a plain number between -{MAX_EXPONENT} and"
                    f" {MAX_EXPONENT}",
                )
        right = self.expect(node.right, Kind.NUMBER, depth, f"the right side of '{sym}'")
        return ast.BinOp(left=left, op=node.op, right=right), Kind.NUMBER

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> tuple[ast.expr, Kind]:
        word = "and" if isinstance(node.op, ast.And) else "or"
        values = [
            self.expect(v, Kind.CONDITION, depth, f"each side of '{word}'") for v in node.values
        ]
        return ast.BoolOp(op=node.op, values=values), Kind.CONDITION

    def _Compare(self, node: ast.Compare, depth: int) -> tuple[ast.expr, Kind]:
        for op in node.ops:
            if not isinstance(op, _CMPS):
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
        left = self.expect(node.left, Kind.NUMBER, depth, "a compared value")
        rest = [self.expect(c, Kind.NUMBER, depth, "a compared value") for c in node.comparators]
        return ast.Compare(left=left, ops=node.ops, comparators=rest), Kind.CONDITION

    def _IfExp(self, node: ast.IfExp, depth: int) -> tuple[ast.expr, Kind]:
        test = self.expect(node.test, Kind.CONDITION, depth, "the condition after 'if'")
        body, kind = self.walk(node.body, depth)
        if kind not in (Kind.NUMBER, Kind.CONDITION):
            raise self.fail(node, "'x if c else y' must choose between numbers or conditions")
        orelse = self.expect(node.orelse, kind, depth, "the value after 'else'")
        return ast.IfExp(test=test, body=body, orelse=orelse), kind

    def _Subscript(self, node: ast.Subscript, depth: int) -> tuple[ast.expr, Kind]:
        value = node.value
        if isinstance(value, ast.Name) and value.id not in PER_COIN and value.id not in SCALARS:
            raise self.fail(
                node,
                f"unknown per-coin name '{value.id}'{suggest(value.id, list(PER_COIN))}; per-coin"
                f" names: {', '.join(PER_COIN)}",
            )
        if not isinstance(value, ast.Name) or value.id not in PER_COIN:
            seg = ast.get_source_segment(self.source, node.value) or "?"
            raise self.fail(
                node,
                f"'[...]' only follows a per-coin name such as borrow[\"USDT\"], not '{seg}'"
                f" (per-coin names: {', '.join(PER_COIN)})",
            )
        coin = self._coin(node.slice, depth)
        return self.ref(Ref(value.id, coin)), Kind.NUMBER

    def _coin(self, node: ast.AST, depth: int) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            check_coin(node.value)
            return node.value
        if isinstance(node, ast.Name) and node.id in COIN_NAMES:
            lowered, _ = self.walk(node, depth)
            assert isinstance(lowered, ast.Constant)
            return str(lowered.value)
        raise self.fail(node, 'a coin must be written as text, e.g. ["USDT"], or base / quote')

    def _Call(self, node: ast.Call, depth: int) -> tuple[ast.expr, Kind]:
        if not isinstance(node.func, ast.Name):
            refused = _REFUSED.get(type(node.func))
            if refused is not None:  # name the real problem (attribute access, lambda…)
                raise self.fail(node.func, refused)
            raise self.fail(
                node, "only the listed functions can be called: " + ", ".join(FUNCTIONS)
            )
        name = node.func.id
        if name.startswith("_"):
            raise self.fail(node, f"names starting with '_' are not allowed ('{name}')")
        if name not in FUNCTIONS:
            raise self.fail(
                node,
                f"unknown function '{name}'{suggest(name, list(FUNCTIONS))}; functions: "
                + ", ".join(FUNCTIONS),
            )
        if node.keywords:
            raise self.fail(node, f"{name}() takes no keyword arguments")
        args = node.args
        for a in args:
            if isinstance(a, ast.Starred):
                raise self.fail(a, _REFUSED[ast.Starred])
        if name in ("delta", "rate"):
            return self._history(node, name, args), Kind.NUMBER
        if name in PRICE_FUNCTIONS:
            return self._price_window(node, name, args), Kind.NUMBER
        if name == "distanceToLiquidation":
            if len(args) != 1:
                raise self.fail(
                    node,
                    'distanceToLiquidation() takes one coin, e.g. distanceToLiquidation("BTC")',
                )
            return self.ref(Ref(name, self._coin(args[0], depth))), Kind.NUMBER
        if name == "abs" and len(args) != 1:
            raise self.fail(node, "abs() takes exactly one number")
        if name in ("min", "max") and len(args) < 2:
            raise self.fail(node, f"{name}() takes two or more numbers")
        lowered = [self.expect(a, Kind.NUMBER, depth, f"an argument of {name}()") for a in args]
        call = ast.Call(func=ast.Name(id=f"_{name}", ctx=ast.Load()), args=lowered, keywords=[])
        return call, Kind.NUMBER

    def _price_window(self, node: ast.Call, name: str, args: list[ast.expr]) -> ast.expr:
        usage = f'{name}() takes a window, e.g. {name}("2m")'
        if len(args) != 1 or not (
            isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)
        ):
            raise self.fail(node, usage)
        try:
            window = rule_duration(args[0].value)
        except DurationError as exc:
            raise self.fail(node, f"{name}() window: {exc}") from None
        if window <= 0:
            raise self.fail(node, f"{name}() window must be longer than 0s")
        return self.ref(Ref(name, None, name, window))

    def _history(self, node: ast.Call, name: str, args: list[ast.expr]) -> ast.expr:
        usage = f'{name}() takes a scalar name and a window, e.g. {name}("riskRate", "5m")'
        if len(args) != 2 or not all(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
        ):
            raise self.fail(node, usage)
        var = args[0].value  # type: ignore[attr-defined]
        if var not in HISTORIC:
            raise self.fail(
                node,
                f"{name}() cannot follow '{var}'{suggest(var, sorted(HISTORIC))}; it follows: "
                + ", ".join(sorted(HISTORIC)),
            )
        try:
            window = rule_duration(args[1].value)  # type: ignore[attr-defined]
        except DurationError as exc:
            raise self.fail(node, f"{name}() window: {exc}") from None
        if window <= 0:
            raise self.fail(node, f"{name}() window must be longer than 0s")
        return self.ref(Ref(var, None, name, window))


def _literal_number(node: ast.AST) -> Decimal | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal_number(node.operand)
        if inner is None:
            return None
        return -inner if isinstance(node.op, ast.USub) else inner
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return Decimal(repr(node.value))
    return None


def check_coin(coin: str) -> str:
    """A coin symbol as the exchange writes it: upper-case letters and digits."""
    if not (1 <= len(coin) <= 20 and coin.isascii() and coin.isalnum() and coin.isupper()):
        hint = f' (did you mean "{coin.upper()}"?)' if coin.upper() != coin else ""
        raise ExpressionError(f'\'{coin}\' is not a coin symbol like "USDT" or "BTC"{hint}')
    return coin


def parse(source: str) -> ast.expr:
    """Parse one expression (after the length cap); SyntaxError → ExpressionError."""
    if not isinstance(source, str):
        raise ExpressionError(f"expected an expression in quotes, got {type(source).__name__}")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(source)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    text = source.strip()
    if not text:
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{col}: {exc.msg}") from None
    except ValueError as exc:  # e.g. null bytes
        raise ExpressionError(f"cannot read expression: {exc}") from None
    return tree.body


def compile_expression(source: str, want: Kind | None = None, env: Env | None = None) -> Expression:
    """Check and compile ``source``; ``want`` forces NUMBER or CONDITION."""
    body = parse(source)
    checker = _Checker(source.strip(), env or Env())
    try:
        lowered, kind = checker.walk(body)
    except RecursionError:
        raise ExpressionError("expression is nested too deeply") from None
    if kind in (Kind.COIN, Kind.TEXT):
        raise ExpressionError(f"expected a number or a condition, got a {kind}")
    if want is not None and kind != want:
        if want == Kind.CONDITION:
            raise ExpressionError(
                f"must be a condition (true/false) such as 'riskRate > 0.8', but it is a {kind}"
            )
        raise ExpressionError(f"must be a number, but it is a {kind}")
    params = [f"r{i}" for i in range(len(checker.refs))]
    fn = make_function(params, lowered, checker.consts)
    return Expression(source.strip(), kind, tuple(checker.refs), tuple(checker.consts), lowered, fn)
