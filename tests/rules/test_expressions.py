"""Safe expressions: hostile input refused at load; exact Decimal results; simpleeval agrees."""

from __future__ import annotations

import ast
import operator
import re
from decimal import Decimal
from typing import Any

import pytest
import simpleeval
from hypothesis import given, settings
from hypothesis import strategies as st

from riskd.rules.expressions import (
    MAX_EXPRESSION_LENGTH,
    Env,
    ExpressionError,
    Kind,
    compile_batch,
    compile_expression,
)
from riskd.rules.loader import load_texts
from riskd.rules.variables import ScopeContext

from .helpers import D, coin, snap

HOSTILE = [
    ("().__class__", "attribute access"),
    ('"{0.__class__}".format(x)', "attribute access"),
    ("riskRate.__class__.__mro__", "attribute access"),
    ("9**9**9", "exponent of '**'"),
    ("riskRate ** riskRate > 1", "exponent of '**'"),
    ("2 ** 100 > 1", "exponent of '**'"),
    ('"a"*10**9', "must be a number"),
    ('"a" * 100 == "b"', "must be a number"),
    ("lambda: 1", "lambda is not allowed"),
    ("(lambda: 1)() > 0", "lambda is not allowed"),
    ("import os", "syntax error"),
    ('__import__("os")', "names starting with '_'"),
    ("__builtins__", "names starting with '_'"),
    ("_x > 1", "names starting with '_'"),
    ('open("/etc/passwd")', "unknown function 'open'"),
    ('eval("1")', "unknown function 'eval'"),
    ("[x for x in (1, 2)]", "comprehensions are not allowed"),
    ("{x: 1 for x in (1, 2)}", "comprehensions are not allowed"),
    ("(x for x in (1, 2))", "comprehensions are not allowed"),
    ('f"{riskRate}" == "1"', "f-strings are not allowed"),
    ("[1, 2]", "lists are not allowed"),
    ("(1, 2)", "tuples are not allowed"),
    ('{"a": 1}', "dicts are not allowed"),
    ("(x := 1)", "':=' is not allowed"),
    ("riskRate in (1, 2)", "comparison In"),
    ("riskRate is None", "comparison Is"),
    ("~1 > 0", "operator '~'"),
    ("1 << 1000 > 0", "operator LShift"),
    ("None", "NoneType literals are not allowed"),
    ('b"x" == b"x"', "bytes literals are not allowed"),
    ("1j", "complex literals are not allowed"),
    ("x" * (MAX_EXPRESSION_LENGTH + 1), "the limit is"),
    ("-" * 100 + "1 > 0", "nested too deeply"),
    ("riskRate > 0.8; riskRate", "syntax error"),
    ("riskRate = 1", "syntax error"),
    ('"' + "a" * 40 + '" == 1', "text longer than"),
    ("riskRate\x00", "null bytes"),
    ("", "expression is empty"),
    ("min(riskRate, 1)(2) > 0", "only the listed functions"),
    ("min(x=1) > 0", "keyword arguments"),
    ("min(*riskRate) > 0", "'*' unpacking"),
]


@pytest.mark.parametrize(("source", "message"), HOSTILE)
def test_hostile_expressions_are_refused_at_load(source: str, message: str) -> None:
    """Every hostile or unsupported construct is an ExpressionError naming the problem."""
    with pytest.raises(ExpressionError, match=re.escape(message)):
        compile_expression(source, Kind.CONDITION)


@pytest.mark.parametrize(("source", "message"), HOSTILE[:12])
def test_hostile_expressions_fail_the_whole_load(source: str, message: str) -> None:
    """A hostile `when` in a rule file is a load error for that rule and field."""
    text = "[[rule]]\nname = \"bad\"\nwhen = '''" + source + "'''\n"
    result = load_texts([("evil.toml", text)])
    assert result.ruleset is None
    (problem,) = result.errors
    assert (problem.rule, problem.field, problem.line) == ("bad", "when", 3)


def test_compiled_code_sees_no_builtins() -> None:
    """The compiled function's globals hold no builtins, only min/max/abs and literals."""
    expr = compile_expression("riskRate > 0.8", Kind.CONDITION)
    assert expr.fn.__globals__["__builtins__"] == {}
    assert set(expr.fn.__globals__) == {"__builtins__", "_min", "_max", "_abs", "k0"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("riskrate > 0.8", "unknown name 'riskrate' (did you mean 'riskRate'?)"),
        ("dataage > 1", "did you mean 'dataAge'?"),
        ('borow["USDT"] > 1', "did you mean 'borrow'"),
        ("borrow > 1", "'borrow' is per coin: write borrow[\"USDT\"]"),
        ('borrow["usdt"] > 1', 'did you mean "USDT"?'),
        ("base == 1", "'base' only exists in isolated scopes"),
        ('riskRate["USDT"] > 1', "'[...]' only follows a per-coin name"),
        ("minn(1, 2) > 0", "unknown function 'minn' (did you mean 'min'?)"),
        ("min(1) > 0", "min() takes two or more numbers"),
        ("abs(1, 2) > 0", "abs() takes exactly one number"),
        ('delta("riskRat", "5m") > 0', "did you mean 'riskRate'?"),
        ('delta("riskRate", "5") > 0', "has no unit"),
        ('delta("riskRate", "0s") > 0', "longer than 0s"),
        ('delta("dataAge", "5m") > 0', "cannot follow 'dataAge'"),
        ("delta(riskRate, 5) > 0", "takes a scalar name and a window"),
        ("riskRate", "must be a condition"),
        ("riskRate > 1 and 2", "each side of 'and' must be a condition"),
        ("not 1", "the operand of 'not' must be a condition"),
        ("1 if riskRate else 2", "the condition after 'if' must be a condition"),
        ("min", "'min' is a function"),
    ],
)
def test_mistakes_get_clear_messages(source: str, message: str) -> None:
    """Typos and type mistakes are refused with a hint at the fix."""
    with pytest.raises(ExpressionError) as err:
        compile_expression(source, Kind.CONDITION)
    assert message in str(err.value)


def _eval(source: str, s: Any, env: Env | None = None, coin_: str | None = None) -> Any:
    expr = compile_expression(source, env=env)
    return expr.evaluate(ScopeContext(s, 100.0), coin_)


def test_literals_are_exact_decimals() -> None:
    """0.1 + 0.2 == 0.3 and riskRate > 0.8 compare exactly (no binary floats)."""
    assert _eval("0.1 + 0.2 == 0.3", snap()) is True
    assert _eval("riskRate > 0.8", snap("0.8")) is False
    assert _eval("riskRate > 0.8", snap("0.80000000000000000001")) is True
    assert _eval("riskRate * 3", snap("0.1")) == D("0.3")
    assert _eval("1_000.5 + 1e3", snap()) == D("2000.5")


def test_per_coin_values_and_bare_names_in_actions() -> None:
    """borrow["USDT"] reads the coin; inside an action the bare name means the action's coin."""
    s = snap(coins=(coin("USDT", available="7", borrow="3", interest="0.5"),))
    assert _eval('borrow["USDT"] + interest["USDT"]', s) == D("3.5")
    assert _eval("net", s, Env(action_coin=True), "USDT") == D("3.5")
    assert _eval('available["ETH"]', s) == 0  # a coin the scope does not hold is 0


def test_base_and_quote_in_isolated_scopes() -> None:
    """borrow[base] / borrow[quote] resolve to the isolated symbol's coins."""
    s = snap(
        scope="isolated:BTCUSDT",
        coins=(coin("BTC", borrow="0.5"), coin("USDT", borrow="100")),
    )
    assert _eval("borrow[base] * 2 + borrow[quote]", s, Env(isolated=True)) == D("101.0")


def test_data_age_is_seconds_since_observation() -> None:
    """dataAge = now − observed_at, never negative."""
    assert _eval("dataAge", snap(observed_at=40.0)) == D("60.0")
    assert _eval("dataAge", snap(observed_at=150.0)) == 0


def test_delta_and_rate_over_history() -> None:
    """delta = now − value at the window's start; rate = delta per second."""
    history = {"riskRate": ((0.0, D("0.5")), (60.0, D("0.6")), (120.0, D("0.65")))}
    s = snap("0.8", observed_at=180.0)
    ctx = ScopeContext(s, 180.0, history)
    delta = compile_expression('delta("riskRate", "2m")')
    rate = compile_expression('rate("riskRate", "2m")')
    assert delta.evaluate(ctx) == D("0.2")  # vs the sample at 60 s
    assert rate.evaluate(ctx) == D("0.2") / D(120)
    short = ScopeContext(s, 180.0, {"riskRate": ((120.0, D("0.65")),)})
    assert delta.evaluate(short) == D("0.15")  # history shorter than the window
    assert delta.evaluate(ScopeContext(s, 180.0, {})) == 0  # no history yet


def test_rate_reads_a_fall_that_began_after_a_sparse_sample() -> None:
    """rate over 5 s after a calm sample 9 s old: the window's start is interpolated, so a
    fall that began 3 s ago reads its own pace, not one averaged with the calm before it."""
    history = {"riskRate": ((0.0, D("0.5")), (6.0, D("0.5")), (8.0, D("0.6")), (9.0, D("0.65")))}
    ctx = ScopeContext(snap("0.7", observed_at=10.0), 10.0, history)
    rate = compile_expression('rate("riskRate", "5s")')
    # start at 5 s: between 0.5 (0 s) and 0.5 (6 s) → 0.5; (0.7 − 0.5) / 5
    assert rate.evaluate(ctx) == D("0.04")
    sparse = {"riskRate": ((0.0, D("0.5")), (6.0, D("0.56")))}
    # start at 5 s: 0.5 + 0.06 × 5/6 = 0.55; (0.7 − 0.55) / 5 = 0.03 (the old reading, from
    # the sample at 0 s: 0.2 / 10 = 0.02)
    got = rate.evaluate(ScopeContext(snap("0.7", observed_at=10.0), 10.0, sparse))
    assert got == D("0.03")
    line = {"riskRate": ((0.0, D("0.5")), (10.0, D("0.6")))}
    # a straight line reads its slope whatever the samples: 0.01 per second
    assert rate.evaluate(ScopeContext(snap("0.7", observed_at=20.0), 20.0, line)) == D("0.01")


def test_batch_gives_the_same_values_as_each_expression() -> None:
    """compile_batch(exprs)(values) equals each expression evaluated alone."""
    sources = [
        "riskRate > 0.5",
        'borrow["USDT"] > available["USDT"] or riskRate >= 0.9',
        "abs(riskRate - 0.7) < 0.1 and dataAge < 60",
        "max(riskRate, 0.2) * 2 >= 1.5",
    ]
    exprs = [compile_expression(s) for s in sources]
    batch = compile_batch(exprs)
    for r in ("0.3", "0.6", "0.75", "0.95"):
        s = snap(r, observed_at=90.0, coins=(coin("USDT", available="5", borrow="8"),))
        ctx = ScopeContext(s, 100.0)
        got = batch.fn(*[ctx.value(ref) for ref in batch.refs])
        assert list(got) == [e.evaluate(ctx) for e in exprs]


# --- simpleeval as the reference interpreter --------------------------------------------

NAMES = ("riskRate", "warningRiskRatio", "dataAge", "openOrders")
number = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False)


def _leaf() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NAMES),
        st.sampled_from(['borrow["USDT"]', 'available["USDT"]', 'net["BTC"]']),
        number.map(lambda d: str(abs(d))),
    )


def _num(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binop = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "%", "//"]), children)
    return st.one_of(
        binop.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"(-{c})"),
        children.map(lambda c: f"abs({c})"),
        st.tuples(children, children).map(lambda t: f"min({t[0]}, {t[1]})"),
        st.tuples(children, children).map(lambda t: f"max({t[0]}, {t[1]})"),
        children.map(lambda c: f"({c} ** 2)"),
    )


numbers = st.recursive(_leaf(), _num, max_leaves=8)
comparisons = st.tuples(numbers, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numbers)


def _cond(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        children.map(lambda c: f"(not {c})"),
    )


conditions = st.recursive(comparisons.map(lambda t: f"{t[0]} {t[1]} {t[2]}"), _cond, max_leaves=4)


class _DecimalEval(simpleeval.SimpleEval):  # type: ignore[misc]
    """simpleeval with numeric literals read as Decimals (as riskd does)."""

    def __init__(self, names: dict[str, Any]) -> None:
        super().__init__(names=names, functions={"min": min, "max": max, "abs": abs})
        self.nodes[ast.Constant] = self._decimal_constant
        # riskd bounds powers statically (literal exponent ≤ 16; Decimal overflow traps),
        # so the reference uses plain ** rather than simpleeval's base-size limit.
        self.operators[ast.Pow] = operator.pow

    def _decimal_constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return Decimal(ast.get_source_segment(self.expr, node) or repr(node.value))
        return node.value


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "value", fn()
    except (ArithmeticError, ValueError) as exc:
        return "error", type(exc).__name__


@settings(max_examples=300, deadline=None)
@given(source=conditions, risk=number, borrow=number)
def test_compiled_expressions_agree_with_simpleeval(
    source: str, risk: Decimal, borrow: Decimal
) -> None:
    """On random expressions, riskd's compiled code and simpleeval give the same result."""
    import decimal

    from riskd.rules.engine import CONTEXT

    s = snap(
        str(abs(risk)),
        observed_at=50.0,
        open_orders=3,
        coins=(coin("USDT", available="12.5", borrow=str(abs(borrow))), coin("BTC", "0.1")),
    )
    ctx = ScopeContext(s, 100.0)
    expr = compile_expression(source, Kind.CONDITION)
    names = {
        "riskRate": s.risk_rate,
        "warningRiskRatio": s.warning_risk_ratio,
        "dataAge": D("50.0"),
        "openOrders": D(3),
        "borrow": {"USDT": s.balance("USDT").borrow},
        "available": {"USDT": s.balance("USDT").available},
        "net": {"BTC": s.balance("BTC").net},
    }
    reference = _DecimalEval(names)
    with decimal.localcontext(CONTEXT):
        ours = _outcome(lambda: expr.evaluate(ctx))
        theirs = _outcome(lambda: reference.eval(source))
    assert ours == theirs
