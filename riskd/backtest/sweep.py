"""``--sweep name=a:b:step``: run a rule file once per value of its placeholders.

A rule file may hold ``{{name}}`` placeholders; each sweep spec gives the values of one name
(Decimal steps, the end included). Every combination is substituted, loaded and run; the runs
are ranked by capital moved among those without a liquidation (then the liquidated ones).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from riskd.backtest.engine import Backtest
from riskd.rules import RuleSet, load_texts

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MAX_RUNS = 1000


class SweepError(ValueError):
    """A bad sweep spec, or placeholders and specs that do not match."""


@dataclass(frozen=True, slots=True)
class SweepSpec:
    name: str
    values: tuple[Decimal, ...]


def parse_spec(text: str) -> SweepSpec:
    """``threshold=0.6:0.8:0.05`` → values 0.6, 0.65, …, 0.8 (end included)."""
    name, sep, rng = text.partition("=")
    name = name.strip()
    parts = rng.split(":")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or len(parts) != 3:
        raise SweepError(f"--sweep {text!r}: expected name=start:end:step (e.g. t=0.6:0.8:0.05)")
    try:
        start, end, step = (Decimal(p.strip()) for p in parts)
    except InvalidOperation:
        raise SweepError(f"--sweep {text!r}: start, end and step must be decimals") from None
    if not all(x.is_finite() for x in (start, end, step)):
        raise SweepError(f"--sweep {text!r}: start, end and step must be finite")
    if step <= 0 or end < start:
        raise SweepError(f"--sweep {text!r}: need step > 0 and start <= end")
    places = min(_exponent(start), _exponent(step))
    quantum = Decimal(1).scaleb(places)
    values = []
    v = start
    while v <= end:
        values.append(v.quantize(quantum))  # one number of decimals for every value
        v += step
        if len(values) > MAX_RUNS:
            raise SweepError(f"--sweep {text!r}: more than {MAX_RUNS} values")
    return SweepSpec(name, tuple(values))


def _exponent(value: Decimal) -> int:
    exp = value.as_tuple().exponent
    return exp if isinstance(exp, int) else 0


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def substitute(text: str, values: Mapping[str, Decimal]) -> str:
    return PLACEHOLDER.sub(lambda m: format(values[m.group(1)], "f"), text)


def combinations(text: str, specs: Sequence[SweepSpec]) -> list[dict[str, Decimal]]:
    """Every combination of values; errors name unknown and missing placeholders."""
    found = placeholders(text)
    given = [s.name for s in specs]
    dup = sorted({n for n in given if given.count(n) > 1})
    if dup:
        raise SweepError(f"--sweep given twice for: {', '.join(dup)}")
    unknown = sorted(set(given) - found)
    missing = sorted(found - set(given))
    problems = []
    if unknown:
        problems.append(f"not in the rule file: {', '.join(unknown)}")
    if missing:
        problems.append(
            f"no --sweep for placeholder(s): {', '.join('{{' + m + '}}' for m in missing)}"
        )
    if problems:
        raise SweepError("; ".join(problems))
    combos = [
        dict(zip(given, vals, strict=True))
        for vals in itertools.product(*(s.values for s in specs))
    ]
    if len(combos) > MAX_RUNS:
        raise SweepError(f"{len(combos)} combinations: at most {MAX_RUNS}")
    return combos


def load_variant(source: str, text: str, values: Mapping[str, Decimal]) -> RuleSet:
    label = ", ".join(f"{k}={format(v, 'f')}" for k, v in values.items())
    result = load_texts([(f"{source} [{label}]", substitute(text, values))])
    if result.ruleset is None:
        problems = "\n".join(f"  {p}" for p in result.problems)
        raise SweepError(f"{source} with {label} does not load:\n{problems}")
    return result.ruleset


@dataclass(frozen=True, slots=True)
class SweepRow:
    values: Mapping[str, Decimal]
    result: Backtest

    @property
    def liquidated(self) -> bool:
        return bool(self.result.riskd.liquidations)


def run_sweep(
    source: str,
    text: str,
    specs: Sequence[SweepSpec],
    run: Callable[[RuleSet], Backtest],
) -> list[SweepRow]:
    """Run every combination; rows sorted: no liquidation first, then by capital moved."""
    combos = combinations(text, specs)
    rulesets = [(c, load_variant(source, text, c)) for c in combos]  # all load before any run
    rows = [SweepRow(c, run(rs)) for c, rs in rulesets]
    return sorted(rows, key=lambda r: (r.liquidated, r.result.riskd.capital_moved))
