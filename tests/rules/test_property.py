"""Property: random data over time never yields a second action while one is unresolved,
and never crashes the engine."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskd.rules.engine import evaluate
from riskd.rules.state import EngineState, record_outcome

from .helpers import coin, data, ruleset, snap

RULES = ruleset(
    """
[defaults]
cooldown = "10s"

[[rule]]
name = "ladder"
when = "riskRate >= 0.8"
for = "10s"
keep_firing_for = "20s"
then = [
  "notify",
  "cancelOrders",
  { action = "repay", coin = "USDT", target_risk_rate = 0.5 },
  "flashRepay",
]

[[rule]]
name = "fast"
when = 'riskRate > 0.6 and delta("riskRate", "30s") > 0.05'
cooldown = "0s"
then = [{ action = "repay", coin = "USDT", amount = "available / frozen" }, "cancelOrders"]

[[rule]]
name = "iso"
scope = "isolated:*"
when = "riskRate > 0.7 or dataAge > 25"
then = [{ action = "reduce", amount = "available / 2" }, "notify"]
"""
)

SCOPES = ("cross", "isolated:BTCUSDT", "isolated:ETHUSDT")
rates = st.decimals(min_value=0, max_value=Decimal("1.2"), places=2)
amounts = st.sampled_from(["0", "0.5", "10", "1000"])
tick = st.fixed_dictionaries(
    {
        "dt": st.sampled_from([0.0, 1.0, 5.0, 10.0, 30.0]),
        "scopes": st.lists(
            st.tuples(
                st.sampled_from(SCOPES), rates, amounts, amounts, st.integers(0, 2), st.booleans()
            ),
            max_size=3,
        ),
        "outcomes": st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=3),
        "restart": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ticks=st.lists(tick, min_size=1, max_size=25))
def test_never_a_second_action_while_one_is_outstanding(ticks: list[dict]) -> None:  # type: ignore[type-arg]
    """Across random snapshots, outcomes and restarts: at most one unresolved action per
    rule × scope, outcomes only for issued actions, and no exception."""
    state = EngineState()
    now = 0.0
    outstanding: dict[tuple[str, str, str], str] = {}
    for t in ticks:
        now += t["dt"]
        for pick, ok in t["outcomes"]:
            if outstanding:
                key = sorted(outstanding)[pick % len(outstanding)]
                state = record_outcome(state, outstanding.pop(key), ok, now)
        snaps = []
        for scope, rate, avail, frozen, orders, stale in t["scopes"]:
            base = "BTC" if "BTC" in scope else "ETH"
            snaps.append(
                snap(
                    str(rate),
                    scope=scope,
                    observed_at=now - (40 if stale else 0),
                    open_orders=orders,
                    coins=(coin("USDT", avail, "100", "1", frozen), coin(base, avail)),
                )
            )
        if t["restart"]:
            state = EngineState.from_json(state.to_json())
        ev = evaluate(RULES, data(*snaps), now, state)
        state = ev.state
        for a in ev.actions:
            key = (a.account, a.scope, a.rule)
            assert key not in outstanding, f"{a.id} issued while {outstanding.get(key)} unresolved"
            outstanding[key] = a.id
        assert {k: o.action_id for k, o in state.outstanding()} == outstanding
