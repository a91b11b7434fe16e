"""The budget counts v1 and v2 calls against their own version's limits (Endpoint.key)."""

from __future__ import annotations

import pytest

from riskd.bitget.endpoints import endpoint
from riskd.bitget.gate import Priority
from riskd.clock import ManualClock

POLL = Priority.POLL
RISK_V1 = endpoint("isolated_risk_rate")
RISK_V2 = endpoint("isolated_risk_rate", api="v2")


async def test_a_full_v1_window_leaves_the_v2_limit_untouched(make_budget) -> None:
    """Six v1 polls fill the v1 poll share; v2 polls still pass at once, on their own key."""
    clock = ManualClock()
    budget = make_budget(clock, max_wait_poll_s=0.01)
    for _ in range(6):
        await budget.acquire(RISK_V1, POLL)
    t0 = clock.now()
    for _ in range(6):
        await budget.acquire(RISK_V2, POLL)
    assert clock.now() == t0
    status = await budget.status()
    v1, v2 = status.key("isolated_risk_rate", "main"), status.key("v2:isolated_risk_rate", "main")
    assert v1 is not None and v2 is not None
    assert (v1.used, v2.used) == (6, 6)


async def test_pacing_reads_each_versions_limit_and_scope(make_budget) -> None:
    """v1 isolated assets are IP-scoped (two accounts add up), v2's are per UID (they don't)."""
    budget = make_budget(ManualClock())
    v1 = {"isolated_risk_rate": 50, "isolated_assets": 50}
    v2 = {"v2:isolated_risk_rate": 50, "v2:isolated_assets": 50}
    assert budget.suggest_interval(2.0, v2) == pytest.approx(50 / 6)
    assert budget.suggest_interval_all(2.0, {"a": v1, "b": v1}) == pytest.approx(100 / 6)
    assert budget.suggest_interval_all(2.0, {"a": v2, "b": v2}) == pytest.approx(50 / 6)


async def test_headroom_of_v2_keys_ignores_v1_use(make_budget) -> None:
    """Poll headroom named by v2 keys reads the v2 windows only."""
    budget = make_budget(ManualClock())
    for _ in range(6):
        await budget.acquire(RISK_V1, POLL)
    assert await budget.poll_headroom(["isolated_risk_rate"]) == 0.0
    assert await budget.poll_headroom(["v2:isolated_risk_rate"]) == 1.0
