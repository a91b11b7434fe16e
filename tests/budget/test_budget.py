"""RateBudget: keying, public global rule, reserve, priorities, 429 back-off, max wait."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from riskd.bitget.endpoints import endpoint
from riskd.bitget.gate import Priority
from riskd.budget import BudgetConfig, BudgetExhausted, RateBudget, api_key_identity
from riskd.clock import ManualClock
from riskd.redact import register_secret

POLL, PROT = Priority.POLL, Priority.PROTECTIVE
RISK_ISO = endpoint("isolated_risk_rate")  # UID, 10/s
ASSETS_CROSS = endpoint("cross_assets")  # IP, 10/s


async def _fill(gate, ep, n: int, priority: Priority = PROT) -> None:
    for _ in range(n):
        await gate.acquire(ep, priority)


async def test_calls_without_contention_do_not_wait(make_budget) -> None:
    """Six polls on an empty 9/3 window pass at once and are counted in status."""
    clock = ManualClock()
    budget = make_budget(clock)
    t0 = clock.now()
    await _fill(budget, RISK_ISO, 6, POLL)
    assert clock.now() == t0
    st = (await budget.status()).key("isolated_risk_rate", "main")
    assert st is not None
    assert (st.used, st.capacity, st.reserved, st.limit, st.window_s) == (6, 9, 3, 10, 1)
    assert (st.admitted_poll, st.waits, st.http_429) == (6, 0, 0)


async def test_uid_limits_are_per_account_and_ip_limits_shared(make_budget) -> None:
    """Two accounts each get a full UID window, but share one IP window."""
    clock = ManualClock()
    budget = make_budget(clock, reserved_share=0.0)
    a, b = budget.for_account("acct-a"), budget.for_account("acct-b")
    t0 = clock.now()
    await _fill(a, RISK_ISO, 9)
    await _fill(b, RISK_ISO, 9)
    assert clock.now() == t0  # separate UID windows: no wait
    await _fill(a, ASSETS_CROSS, 5)
    await _fill(b, ASSETS_CROSS, 4)
    assert clock.now() == t0
    await b.acquire(ASSETS_CROSS, PROT)  # the shared IP window (9) is full: waits
    assert clock.now() - t0 >= 1.0
    status = await budget.status()
    assert status.key("cross_assets").identity == "local"
    assert {k.identity for k in status.keys if k.rule == "isolated_risk_rate"} == {
        "acct-a",
        "acct-b",
    }
    assert budget.for_account("acct-a") is a


async def test_public_endpoints_share_the_global_20_per_2s_rule(make_budget) -> None:
    """20 calls over two public endpoints fill the global rule; a third endpoint waits 2 s."""
    clock = ManualClock()
    budget = make_budget(clock, safety_margin=0.0, reserved_share=0.0)
    t0 = clock.now()
    await _fill(budget, endpoint("cross_tier_data"), 10)
    await _fill(budget, endpoint("isolated_tier_data"), 10)
    assert clock.now() == t0
    await budget.acquire(endpoint("currencies"), POLL)
    assert clock.now() - t0 >= 2.0
    glob = (await budget.status()).key("public_global")
    assert glob is not None and (glob.limit, glob.window_s, glob.waits) == (20, 2, 1)


async def test_polls_cannot_take_the_reserved_share(make_budget) -> None:
    """After 6 polls of 9, protective calls still pass at once but a poll waits for the
    window, though 1 of the 9 slots is still free."""
    clock = ManualClock()
    budget = make_budget(clock)
    t0 = clock.now()
    await _fill(budget, RISK_ISO, 6, POLL)
    await _fill(budget, RISK_ISO, 2, PROT)
    assert clock.now() == t0
    await budget.acquire(RISK_ISO, POLL)
    assert clock.now() - t0 >= 1.0


async def test_protective_calls_leave_the_poll_share_alone(make_budget) -> None:
    """Three protective calls first: six polls still pass at once, the seventh waits."""
    clock = ManualClock()
    budget = make_budget(clock)
    t0 = clock.now()
    await _fill(budget, RISK_ISO, 3, PROT)
    await _fill(budget, RISK_ISO, 6, POLL)
    assert clock.now() == t0
    st = (await budget.status()).key("isolated_risk_rate")
    assert (st.used, st.used_by_polls) == (9, 6)
    await budget.acquire(RISK_ISO, POLL)
    assert clock.now() - t0 >= 1.0


async def test_a_protective_call_is_not_starved_by_a_crowd_of_polls(make_budget, stepped) -> None:
    """Twenty looping pollers saturate the poll share; a protective call still goes at once."""
    budget = make_budget(stepped, max_wait_poll_s=60.0)
    polls = 0

    async def poller() -> None:
        nonlocal polls
        while True:
            await budget.acquire(RISK_ISO, POLL)
            polls += 1

    tasks = [asyncio.create_task(poller()) for _ in range(20)]
    await stepped.advance(2.5)
    t0 = stepped.now()
    protective = asyncio.create_task(budget.acquire(RISK_ISO, PROT))
    await stepped.advance(0.0)
    assert protective.done() and stepped.now() == t0
    await protective
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert polls == 6 * 3  # 6 per window at t0, t0+1, t0+2
    st = (await budget.status()).key("isolated_risk_rate")
    assert st.admitted_protective == 1 and st.waits >= 1


async def test_a_waiting_protective_call_goes_before_earlier_waiting_polls(
    make_budget, stepped
) -> None:
    """One slot frees: the protective waiter gets it though a poll waited longer."""
    budget = make_budget(stepped, reserved_share=0.0)
    t0 = stepped.now()
    await budget.acquire(RISK_ISO, PROT)
    await stepped.advance(0.5)
    await _fill(budget, RISK_ISO, 8)  # window full (9); one slot frees at t0+1
    order: list[str] = []

    async def go(name: str, priority: Priority) -> None:
        await budget.acquire(RISK_ISO, priority)
        order.append(name)

    tasks = [
        asyncio.create_task(go("poll-1", POLL)),
        asyncio.create_task(go("poll-2", POLL)),
    ]
    await stepped.advance(0.1)
    tasks.append(asyncio.create_task(go("protective", PROT)))
    await stepped.advance(0.45)  # t0 + 1.05: one slot
    assert order == ["protective"]
    await stepped.advance(0.5)  # t0 + 1.55: the 8 slots of t0+0.5 free up
    assert order == ["protective", "poll-1", "poll-2"]
    await asyncio.gather(*tasks)
    assert stepped.now() - t0 == pytest.approx(1.55)


async def test_a_429_backs_off_the_key_honouring_retry_after(make_budget) -> None:
    """After a 429 with Retry-After 3, the next call waits 3 s; the 429 is counted."""
    clock = ManualClock()
    budget = make_budget(clock)
    await budget.acquire(RISK_ISO, POLL)
    budget.release(RISK_ISO, 429, 3.0)
    st = (await budget.status()).key("isolated_risk_rate")
    assert (st.http_429, st.backoff_remaining_s) == (1, 3.0)
    t0 = clock.now()
    await budget.acquire(RISK_ISO, PROT)
    assert clock.now() - t0 == pytest.approx(3.0, abs=0.01)
    budget.release(RISK_ISO, 200, None)
    budget.release(RISK_ISO, None, None)  # no answer: nothing learned
    t1 = clock.now()
    budget.release(RISK_ISO, 429, None)  # streak was reset: back to the 1 s step
    await budget.acquire(RISK_ISO, POLL)
    assert clock.now() - t1 == pytest.approx(1.0, abs=0.01)
    other = (await budget.status()).key("cross_assets")
    assert other is None  # a 429 on one endpoint does not touch others


async def test_scheduled_and_idle_reads_are_refused_at_once_during_a_backoff(make_budget) -> None:
    """The daemon's scheduled and idle reads fail at once while the key backs off after a
    429, naming the back-off (they never hold up a cycle waiting for them); a plain POLL (a
    command's read, a candle page) still waits it out; afterwards every read goes again."""
    clock = ManualClock()
    budget = make_budget(clock)
    budget.release(RISK_ISO, 429, 3.0)
    t0 = clock.now()
    for priority in (Priority.SCHEDULED, Priority.IDLE):
        with pytest.raises(BudgetExhausted, match="backing off after HTTP 429") as info:
            await budget.acquire(RISK_ISO, priority)
        assert clock.now() == t0 and info.value.priority is priority
    await budget.acquire(RISK_ISO, POLL)
    assert clock.now() - t0 == pytest.approx(3.0, abs=0.01)
    await budget.acquire(RISK_ISO, Priority.SCHEDULED)
    await budget.acquire(RISK_ISO, Priority.IDLE)
    assert (await budget.status()).key("isolated_risk_rate").exhausted == 2


async def test_backoff_holds_protective_too_and_lets_it_go_first(make_budget, stepped) -> None:
    """Both priorities wait out the back-off; when it lifts, protective goes first."""
    budget = make_budget(stepped)
    budget.release(RISK_ISO, 429, 2.0)
    order: list[str] = []

    async def go(name: str, priority: Priority) -> None:
        await budget.acquire(RISK_ISO, priority)
        order.append(name)

    tasks = [asyncio.create_task(go("poll", POLL))]
    await stepped.advance(0.1)
    tasks.append(asyncio.create_task(go("protective", PROT)))
    await stepped.advance(1.8)
    assert order == []
    await stepped.advance(0.2)
    assert order == ["protective", "poll"]
    await asyncio.gather(*tasks)


async def test_budget_exhausted_at_once_when_the_wait_cannot_fit(make_budget) -> None:
    """A poll whose earliest slot is past its max wait fails at once, naming endpoint and key."""
    clock = ManualClock()
    budget = make_budget(clock, max_wait_poll_s=0.5)
    gate = budget.for_account("acct-a")
    await _fill(gate, RISK_ISO, 6, POLL)
    t0 = clock.now()
    with pytest.raises(BudgetExhausted) as info:
        await gate.acquire(RISK_ISO, POLL)
    assert clock.now() == t0
    msg = str(info.value)
    for part in ("isolated_risk_rate", "UID", "acct-a", "POLL", "max 0.50s"):
        assert part in msg
    exc = info.value
    assert (exc.endpoint, exc.key.identity, exc.priority) == ("isolated_risk_rate", "acct-a", POLL)
    assert (await budget.status()).key("isolated_risk_rate").exhausted == 1


async def test_budget_exhausted_after_waiting_the_max_wait(make_budget, stepped) -> None:
    """A poll queued behind a waiting protective call gives up after its max wait."""
    budget = make_budget(stepped, max_wait_poll_s=0.5)
    await _fill(budget, RISK_ISO, 9)
    protective = asyncio.create_task(budget.acquire(RISK_ISO, PROT))
    await stepped.advance(0.1)
    poll = asyncio.create_task(budget.acquire(RISK_ISO, POLL))
    await stepped.advance(0.45)
    assert not poll.done()
    await stepped.advance(0.1)
    with pytest.raises(BudgetExhausted, match="PROTECTIVE request waiting ahead") as info:
        await poll
    assert info.value.waited_s == pytest.approx(0.5)
    await stepped.advance(0.5)
    await protective
    st = (await budget.status()).key("isolated_risk_rate")
    assert (st.exhausted, st.waits) == (1, 2)


async def test_a_cancelled_waiter_leaves_the_queue(make_budget, stepped) -> None:
    """Cancelling a waiting protective call lets the poll behind it proceed."""
    budget = make_budget(stepped, reserved_share=0.0)
    await _fill(budget, RISK_ISO, 9)
    protective = asyncio.create_task(budget.acquire(RISK_ISO, PROT))
    await stepped.advance(0.1)
    poll = asyncio.create_task(budget.acquire(RISK_ISO, POLL))
    await stepped.advance(0.1)
    protective.cancel()
    await stepped.advance(0.9)
    assert poll.done()
    await poll


async def test_poll_headroom_reports_the_free_poll_share(make_budget) -> None:
    """Empty: 1.0; three of six polls used: 0.5; backing off: 0."""
    clock = ManualClock()
    budget = make_budget(clock)
    names = ["isolated_risk_rate", "cross_assets"]
    assert await budget.poll_headroom(names) == 1.0
    await _fill(budget, RISK_ISO, 3, POLL)
    assert await budget.poll_headroom(names) == 0.5
    gate = budget.for_account("main")
    budget.release(ASSETS_CROSS, 429, None)
    assert await gate.poll_headroom(["cross_assets"]) == 0.0


async def test_suggest_interval_stretches_for_fifty_symbols(make_budget) -> None:
    """50 isolated symbols (risk rate + assets) stretch a 2 s base to 50/6 s; two accounts
    polling the IP-scoped assets endpoint stretch it to 100/6 s."""
    budget = make_budget(ManualClock())
    calls = {"isolated_risk_rate": 50, "isolated_assets": 50}
    assert budget.suggest_interval(2.0, calls) == pytest.approx(50 / 6)
    assert budget.for_account("x").suggest_interval(20.0, calls) == 20.0
    both = budget.suggest_interval_all(2.0, {"a": calls, "b": calls})
    assert both == pytest.approx(100 / 6)
    with pytest.raises(KeyError, match="no endpoint named"):
        budget.suggest_interval(2.0, {"nope": 1})


async def test_status_is_frozen_and_printable(make_budget) -> None:
    """BudgetStatus cannot be changed and renders one line per key plus JSON."""
    budget = make_budget(ManualClock(), storage_uri="memory://")
    await budget.acquire(RISK_ISO, POLL)
    budget.release(RISK_ISO, 429, 1.5)
    status = await budget.status()
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.at = 0.0  # type: ignore[misc]
    lines = status.lines()
    assert "memory://" in lines[0] and "isolated_risk_rate/UID/main: 1/9 of 10/1s" in lines[1]
    assert "backing off 1.5s" in lines[1]
    data = status.to_json()
    assert data["http_429"] == 1 and data["keys"][0]["key"] == "isolated_risk_rate/UID/main"
    assert status.backing_off[0].rule == "isolated_risk_rate"


def test_account_identity_never_takes_a_secret(make_budget) -> None:
    """An identity equal to a registered secret is refused without echoing it."""
    secret = "sk-live-7Qw2RrT9"
    register_secret(secret)
    budget = make_budget(ManualClock())
    with pytest.raises(ValueError, match="registered secret") as info:
        budget.for_account(secret)
    assert secret not in str(info.value)
    ident = api_key_identity(secret)
    assert ident.startswith("key-") and secret not in ident
    assert budget.for_account(ident).account == ident


def test_config_errors_name_the_setting() -> None:
    """Out-of-range settings raise naming budget.<key>."""
    with pytest.raises(ValueError, match=r"budget\.safety_margin"):
        BudgetConfig(safety_margin=0.7)
    with pytest.raises(ValueError, match=r"budget\.max_wait_poll_s"):
        BudgetConfig(max_wait_poll_s=0)
    with pytest.raises(ValueError, match=r"budget\.ip_group"):
        BudgetConfig(ip_group="a b")


def test_config_from_settings_reads_the_settings_model() -> None:
    """BudgetSettings values carry over; fields it lacks keep their defaults."""
    from riskd.settings import BudgetSettings

    cfg = BudgetConfig.from_settings(
        BudgetSettings(safety_margin=0.05, reserved_share=0.2), ip_group="office"
    )
    assert (cfg.safety_margin, cfg.reserved_share, cfg.ip_group) == (0.05, 0.2, "office")
    assert cfg.storage_uri == "memory://"
    with pytest.raises(ValueError, match="unknown budget setting"):
        BudgetConfig.from_settings(BudgetSettings(), colour="red")
    assert isinstance(RateBudget(ManualClock(), cfg), RateBudget)


def test_budget_counts_in_the_virtual_time_of_a_loop_clock(make_budget) -> None:
    """On virtual time (the demo's LoopClock), a full window costs 1 virtual second."""
    from riskd.clock import LoopClock
    from riskd.virtual_time import run_virtual

    async def body() -> None:
        clock = LoopClock(1_700_000_000)
        budget = make_budget(clock, reserved_share=0.0)
        await _fill(budget, RISK_ISO, 9)
        t0 = clock.now()
        await budget.acquire(RISK_ISO, POLL)
        assert clock.now() - t0 >= 0.9
        assert (await budget.status()).key("isolated_risk_rate").waits == 1

    run_virtual(body())


async def test_urgent_and_protective_sit_out_only_a_short_pause(make_budget) -> None:
    """After three 429s polls wait the exponential 4 s; urgent and protective calls 0.5 s."""
    clock = ManualClock()
    budget = make_budget(clock)
    for _ in range(3):
        budget.release(RISK_ISO, 429, None)
    st = (await budget.status()).key("isolated_risk_rate")
    assert st.backoff_remaining_s == pytest.approx(4.0)
    for priority in (Priority.URGENT, PROT):
        t0 = clock.now()
        await budget.acquire(RISK_ISO, priority)
        assert clock.now() - t0 == pytest.approx(0.5, abs=0.01), priority.name
        budget.release(RISK_ISO, 429, None)
    t0 = clock.now()
    await budget.acquire(RISK_ISO, POLL)
    assert clock.now() - t0 == pytest.approx(4.0, abs=0.01)
