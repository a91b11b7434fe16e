"""Message templates: ``"riskRate {riskRate:.2f} on {scope} (margin call at {warningRiskRatio})"``.

A placeholder is either one of the words ``rule``, ``scope``, ``account``, ``symbol``,
``severity``, or a rule expression (checked at load like any other). An optional format is
``:.Nf`` (N decimals) or ``:.N%`` (percent). ``{{`` and ``}}`` are literal braces. This is
not ``str.format``: nothing but those placeholders is interpreted.

Rendering never fails: a value that cannot be computed renders as ``?`` (and the error is
reported with the notification).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from riskd.rules.expressions import Env, Expression, ExpressionError, compile_expression
from riskd.rules.variables import EvalError, ScopeContext

MAX_TEMPLATE_LENGTH = 1000
MAX_PLACEHOLDERS = 20
WORDS = ("rule", "scope", "account", "symbol", "severity")
_SPEC = re.compile(r"\.(\d)([f%])")
_EIGHT = Decimal("1e-8")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True, slots=True)
class Placeholder:
    text: str
    word: str | None = None
    expr: Expression | None = None
    spec: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(p.expr for p in self.parts if isinstance(p, Placeholder) and p.expr)


def compile_template(text: object, env: Env | None = None) -> Template:
    if not isinstance(text, str):
        raise ExpressionError(f"expected text in quotes, got {type(text).__name__}")
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise ExpressionError(f"message is longer than {MAX_TEMPLATE_LENGTH} characters")
    parts: list[str | Placeholder] = []
    pos = 0
    count = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        pos = m.end()
        tok = m.group(0)
        if tok in ("{{", "}}"):
            parts.append(tok[0])
            continue
        if tok in ("{", "}"):
            raise ExpressionError(
                f"unmatched '{tok}' at position {m.start() + 1} (write {tok}{tok} for a brace)"
            )
        count += 1
        if count > MAX_PLACEHOLDERS:
            raise ExpressionError(f"more than {MAX_PLACEHOLDERS} placeholders")
        parts.append(_placeholder(m.group(1), env))
    if pos < len(text):
        parts.append(text[pos:])
    return Template(text, tuple(parts))


def _placeholder(inner: str, env: Env | None) -> Placeholder:
    body, spec = inner, None
    if ":" in inner:
        body, spec = inner.rsplit(":", 1)
        if not _SPEC.fullmatch(spec):
            raise ExpressionError(
                f"format ':{spec}' in {{{inner}}} is not allowed (use :.2f or :.1%)"
            )
    body = body.strip()
    if body in WORDS:
        return Placeholder(inner, word=body, spec=None)
    try:
        expr = compile_expression(body, env=env)
    except ExpressionError as exc:
        raise ExpressionError(f"in {{{inner}}}: {exc}") from None
    return Placeholder(inner, expr=expr, spec=spec)


def format_value(value: object, spec: str | None = None) -> str:
    """Decimal → plain text (≤ 8 decimals, no exponent); booleans → yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "∞" if value > 0 else ("-∞" if value < 0 else "NaN")
        if spec:
            m = _SPEC.fullmatch(spec)
            if m:
                digits, kind = int(m.group(1)), m.group(2)
                return format(value, f".{digits}{kind}")
        text = format(_round8(value), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def _round8(value: Decimal) -> Decimal:
    try:
        return value.quantize(_EIGHT)
    except InvalidOperation:
        return value


def render(template: Template, ctx: ScopeContext, words: dict[str, str]) -> str:
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
        elif part.word is not None:
            out.append(words.get(part.word, ""))
        elif part.expr is not None:
            try:
                out.append(format_value(part.expr.evaluate(ctx), part.spec))
            except (EvalError, ArithmeticError):
                out.append("?")
    return "".join(out)
