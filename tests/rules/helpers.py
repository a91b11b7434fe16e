"""Builders shared by the rules-engine tests."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.rules.decisions import Evaluation
from riskd.rules.engine import evaluate
from riskd.rules.loader import load_texts
from riskd.rules.model import RuleSet
from riskd.rules.state import EngineState

D = Decimal
#: observed_at meaning "observed at the evaluation time" (Driver fills it in).
FRESH = -1.0


def ruleset(text: str, file: str = "rules.toml") -> RuleSet:
    """Load one rule file's text; fail the test with every problem if it does not load."""
    result = load_texts([(file, text)])
    assert result.ruleset is not None, "\n".join(map(str, result.problems))
    return result.ruleset


def rule_text(when: str = "riskRate > 0.8", **fields: Any) -> str:
    """One [[rule]] named 'r' with TOML-literal fields (strings quoted, lists as written)."""
    lines = ["[[rule]]", 'name = "r"', f"when = '{when}'"]
    for key, value in fields.items():
        key = "for" if key == "for_" else key
        lines.append(f"{key} = {value if not isinstance(value, str) else repr_toml(value)}")
    return "\n".join(lines) + "\n"


def repr_toml(value: str) -> str:
    if value.startswith(("[", "{", '"')):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def coin(
    name: str,
    available: str = "0",
    borrow: str = "0",
    interest: str = "0",
    frozen: str = "0",
) -> CoinBalance:
    return CoinBalance(name, D(available), D(frozen), D(borrow), D(interest))


def snap(
    risk: str = "0.5",
    *,
    scope: str = "cross",
    account: str = "main",
    observed_at: float = FRESH,
    coins: tuple[CoinBalance, ...] = (),
    **kw: Any,
) -> ScopeSnapshot:
    balances = {c.coin: c for c in coins}
    if scope.startswith("isolated:") and "base_coin" not in kw:
        symbol = scope.split(":", 1)[1]
        if symbol.endswith("USDT"):
            kw.setdefault("base_coin", symbol[:-4])
            kw.setdefault("quote_coin", "USDT")
    return ScopeSnapshot(account, scope, D(risk), balances, observed_at, **kw)


def data(*snaps: ScopeSnapshot) -> Mapping[str, ScopeSnapshot]:
    return {f"{s.account}/{s.scope}": s for s in snaps}


class Driver:
    """Runs evaluations over time, keeping the state, like the daemon would."""

    def __init__(self, rules: RuleSet, state: EngineState | None = None) -> None:
        self.rules = rules
        self.state = state or EngineState()
        self.last: Evaluation | None = None

    def at(self, now: float, *snaps: ScopeSnapshot) -> Evaluation:
        fresh = [_with_time(s, now) if s.observed_at == FRESH else s for s in snaps]
        ev = evaluate(self.rules, data(*fresh), now, self.state)
        self.state = ev.state
        self.last = ev
        return ev

    def kinds(self, now: float, *snaps: ScopeSnapshot) -> list[str]:
        """Actions and notifications at ``now`` as short strings, e.g. ``firing r``."""
        ev = self.at(now, *snaps)
        return [f"{n.kind} {n.rule}" for n in ev.notifications] + [
            f"{a.kind} {a.rule}" for a in ev.actions
        ]

    def status(self, rule: str = "r", scope: str = "cross", account: str = "main") -> str:
        return str(self.state.get(account, scope, rule).status)


def _with_time(s: ScopeSnapshot, now: float) -> ScopeSnapshot:
    from dataclasses import replace

    return replace(s, observed_at=now)
