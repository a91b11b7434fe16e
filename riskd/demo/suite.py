"""The scenario suite: run scenarios and check what each one's ``[expect]`` table demands.

A scenario's ``[expect]`` table (see :mod:`riskd.sim.scenario`) holds checks, and one
sub-table of run options for the demo, ``[expect.demo]``::

    [expect]
    no_liquidation = true          # the simulator liquidated nothing
    liquidated = true              # … or: it did (a --no-daemon rehearsal)
    max_risk_rate = "1.0"          # every sampled risk rate stayed below this
    no_duplicate_action = true     # no protective call executed twice by accident
    min_actions = 1                # riskd took at least / at most this many actions
    max_actions = 4
    max_over_oracle = "3"          # capital moved ≤ 3 × the hindsight minimum (when it is > 0)
    max_capital_moved = "5000"     # USDT
    max_reaction_ms = 15000        # market ms, warning crossed → first protective call
    max_rate_limited = 0           # HTTP 429 answers
    alerts_delivered = true        # the console route delivered alerts, nothing dropped there
    alerts_retried = true          # some delivery failed and was retried (notifier down)
    max_firing_per_rule = 2        # no flapping: a rule fires at most this often per scope
    max_cycle_errors = 0           # daemon cycles that raised

    [expect.demo]
    speed = 10                     # default --speed (live view pacing) for this scenario
    notify = ["json://127.0.0.1:1/"]   # apprise URLs alerts also go to

An unknown key is an error naming it (a typo must not silently check nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from riskd.demo.summary import DemoSummary, dec
from riskd.sim.scenario import Scenario, family_scenario_names, scenario_names


def suite_names() -> list[str]:
    """Every scenario the suite runs: the shipped ones and the loss families of issue 15
    (``scenarios/families/``: each is liquidated without riskd and must not be with it)."""
    return [*scenario_names(), *family_scenario_names()]


class ExpectError(ValueError):
    """An ``[expect]`` table that cannot be checked; names the scenario and the key."""


@dataclass(frozen=True, slots=True)
class DemoHints:
    """``[expect.demo]``: how the demo and the suite run this scenario."""

    speed: float | None = None
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    ok: bool
    detail: str


def _bool(name: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ExpectError(f"scenario {name}: expect.{key} must be true or false, got {value!r}")
    return value


def _int(name: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ExpectError(f"scenario {name}: expect.{key} must be an integer, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ExpectError(f"scenario {name}: expect.{key}: {value!r} is not a number") from None
    if number != number.to_integral_value() or number < 0:
        raise ExpectError(f"scenario {name}: expect.{key} must be an integer >= 0")
    return int(number)


def _dec(name: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ExpectError(f"scenario {name}: expect.{key} must be a decimal, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ExpectError(f"scenario {name}: expect.{key}: {value!r} is not a number") from None


def _positive_float(name: str, key: str, value: object) -> float:
    number = _dec(name, f"demo.{key}", value)
    if number <= 0:
        raise ExpectError(f"scenario {name}: expect.demo.{key} must be > 0")
    return float(number)


def demo_hints(scenario: Scenario) -> DemoHints:
    """The ``[expect.demo]`` table of ``scenario`` (empty when absent)."""
    raw = scenario.expect.get("demo")
    if raw is None:
        return DemoHints()
    name = scenario.name
    if not isinstance(raw, Mapping):
        raise ExpectError(f"scenario {name}: expect.demo must be a table")
    unknown = sorted(set(raw) - {"speed", "notify"})
    if unknown:
        raise ExpectError(
            f"scenario {name}: expect.demo: unknown key(s) {unknown} (allowed: speed, notify)"
        )
    notify = raw.get("notify", [])
    if not isinstance(notify, list) or not all(isinstance(u, str) for u in notify):
        raise ExpectError(f"scenario {name}: expect.demo.notify must be a list of apprise URLs")
    return DemoHints(
        speed=_positive_float(name, "speed", raw["speed"]) if "speed" in raw else None,
        notify=tuple(notify),
    )


def _check_over_oracle(s: DemoSummary, k: Decimal) -> Check:
    if s.oracle_min <= 0:
        ok = s.capital_moved == 0
        return Check(
            "max_over_oracle", ok, f"oracle is 0 and riskd moved {dec(s.capital_moved, 2)} USDT"
        )
    limit = k * s.oracle_min
    return Check(
        "max_over_oracle",
        s.capital_moved <= limit,
        f"moved {dec(s.capital_moved, 2)} ≤ {k} × oracle {dec(s.oracle_min, 2)} "
        f"= {dec(limit, 2)} USDT",
    )


Checker = Callable[[DemoSummary, str, str, object], Check]


def _checks() -> dict[str, Checker]:
    def no_liq(s: DemoSummary, n: str, k: str, v: object) -> Check:
        want = _bool(n, k, v)
        return Check(k, (not s.liquidated) == want, f"liquidated: {str(s.liquidated).lower()}")

    def liquidated(s: DemoSummary, n: str, k: str, v: object) -> Check:
        want = _bool(n, k, v)
        return Check(k, s.liquidated == want, f"liquidated: {str(s.liquidated).lower()}")

    def max_risk(s: DemoSummary, n: str, k: str, v: object) -> Check:
        limit = _dec(n, k, v)
        return Check(
            k, s.max_risk_rate < limit, f"max risk rate {dec(s.max_risk_rate, 4)} < {limit}"
        )

    def no_dup(s: DemoSummary, n: str, k: str, v: object) -> Check:
        want = _bool(n, k, v)
        return Check(k, (s.duplicates == 0) == want, f"{s.duplicates} duplicate action(s)")

    def min_actions(s: DemoSummary, n: str, k: str, v: object) -> Check:
        return Check(k, len(s.actions) >= _int(n, k, v), f"{len(s.actions)} action(s)")

    def max_actions(s: DemoSummary, n: str, k: str, v: object) -> Check:
        return Check(k, len(s.actions) <= _int(n, k, v), f"{len(s.actions)} action(s)")

    def over_oracle(s: DemoSummary, n: str, k: str, v: object) -> Check:
        return _check_over_oracle(s, _dec(n, k, v))

    def max_moved(s: DemoSummary, n: str, k: str, v: object) -> Check:
        limit = _dec(n, k, v)
        return Check(k, s.capital_moved <= limit, f"moved {dec(s.capital_moved, 2)} USDT")

    def max_reaction(s: DemoSummary, n: str, k: str, v: object) -> Check:
        limit = _int(n, k, v)
        ok = s.reaction_ms is not None and s.reaction_ms <= limit
        return Check(k, ok, f"reaction {s.reaction_ms} ms (market) ≤ {limit}")

    def max_429(s: DemoSummary, n: str, k: str, v: object) -> Check:
        return Check(k, s.rate_limited <= _int(n, k, v), f"{s.rate_limited} answer(s) 429")

    def delivered(s: DemoSummary, n: str, k: str, v: object) -> Check:
        want = _bool(n, k, v)
        d = s.delivery
        ok = d.delivered > 0 and all(
            r.startswith("console: healthy") for r in d.routes if r.startswith("console:")
        )
        return Check(k, ok == want, f"{d.delivered} delivered, {d.failed} failed attempt(s)")

    def retried(s: DemoSummary, n: str, k: str, v: object) -> Check:
        want = _bool(n, k, v)
        d = s.delivery
        return Check(k, (d.failed > 0) == want, f"{d.failed} failed attempt(s) retried")

    def fact(name: str) -> Checker:
        def check(s: DemoSummary, n: str, k: str, v: object) -> Check:
            got = s.facts.get(name, 0)
            return Check(k, got <= _int(n, k, v), f"{name} = {got}")

        return check

    return {
        "no_liquidation": no_liq,
        "liquidated": liquidated,
        "max_risk_rate": max_risk,
        "no_duplicate_action": no_dup,
        "min_actions": min_actions,
        "max_actions": max_actions,
        "max_over_oracle": over_oracle,
        "max_capital_moved": max_moved,
        "max_reaction_ms": max_reaction,
        "max_rate_limited": max_429,
        "alerts_delivered": delivered,
        "alerts_retried": retried,
        "max_firing_per_rule": fact("max_firing_per_rule"),
        "max_cycle_errors": fact("cycle_errors"),
    }


CHECKS = _checks()


def check_expect(scenario: Scenario, summary: DemoSummary) -> list[Check]:
    """Every check of ``scenario``'s ``[expect]`` table against ``summary``."""
    out: list[Check] = []
    unknown = sorted(k for k in scenario.expect if k not in CHECKS and k != "demo")
    if unknown:
        raise ExpectError(
            f"scenario {scenario.name}: unknown expect key(s) {unknown} "
            f"(known: {', '.join(sorted(CHECKS))}, demo)"
        )
    for key, value in scenario.expect.items():
        if key == "demo":
            continue
        out.append(CHECKS[key](summary, scenario.name, key, value))
    return out


# ---------------------------------------------------------------------------- running
@dataclass(frozen=True, slots=True)
class SuiteResult:
    scenario: str
    summary: DemoSummary
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def report(self) -> str:
        lines = [f"{self.scenario}: {'ok' if self.ok else 'FAILED'}"]
        lines += [f"  {'ok  ' if c.ok else 'FAIL'} {c.key}: {c.detail}" for c in self.checks]
        return "\n".join(lines)


def run_checked(
    scenario: Scenario,
    rules_dir: Path,
    *,
    out_dir: Path | None = None,
    api: Literal["v1", "v2"] = "v2",
) -> SuiteResult:
    """Run ``scenario`` with the daemon (speaking ``api``) on unpaced virtual time, and check
    its ``[expect]`` table. Deterministic: the same scenario gives the same result on any
    machine, however loaded."""
    from riskd.demo.options import DemoOptions
    from riskd.demo.runner import run_demo_virtual

    hints = demo_hints(scenario)
    opts = DemoOptions(
        scenario=scenario,
        rules_dir=rules_dir,
        speed=None,
        notify_urls=hints.notify,
        out_dir=out_dir,
        api=api,
    )
    summary = run_demo_virtual(opts)
    label = scenario.name if api == "v2" else f"{scenario.name} (API {api})"
    return SuiteResult(label, summary, tuple(check_expect(scenario, summary)))
