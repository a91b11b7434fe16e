"""ActionRunner + executors against a fake exchange: journal, caps, stale, pause, dry-run."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D

from riskd.daemon.actions import (
    AWAITING,
    BLOCKED,
    IN_PROGRESS,
    PAUSED,
    SKIPPED,
    STALE,
    ActionRunner,
)
from riskd.daemon.exchange import AssetRow, CallRejected, CallUncertain
from riskd.daemon.executor import DryRunExecutor, LiveExecutor
from riskd.daemon.journal import DRY_RUN, FAILED, PENDING, SUCCEEDED
from riskd.daemon.reconcile import Reconciler
from riskd.daemon.snapshots import Reference, isolated_snapshot
from riskd.risk.snapshot import ScopeSnapshot
from riskd.settings import CapsSettings

SCOPE = "isolated:BTCUSDT"


@dataclass(frozen=True)
class Req:
    id: str
    kind: str
    scope: str = SCOPE
    rule: str = "r1"
    params: dict[str, object] = field(default_factory=dict)


def _exchange(make_exchange):
    ex = make_exchange()
    ex.isolated_rows = [
        AssetRow("USDT", D(300), D(0), D(1000), D(1), "BTCUSDT"),
        AssetRow("BTC", D("0.1"), D(0), D(0), D(0), "BTCUSDT"),
    ]
    ex.risk[SCOPE] = D("0.9")
    return ex


def _snap(ex, clock) -> ScopeSnapshot:
    return isolated_snapshot(
        "alice",
        "BTCUSDT",
        ex.isolated_rows,
        ex.risk[SCOPE],
        clock.now(),
        Reference(),
        {"BTC": D(20000)},
    )


def _runner(ex, journal, clock, *, live=True, caps=None, repoll=None):
    async def improved(scope):
        ex.risk[SCOPE] = ex.risk[SCOPE] - D("0.3")
        return _snap(ex, clock)

    reconciler = Reconciler(journal, lambda a: ex, clock, flash_timeout=5)
    executor = LiveExecutor(ex) if live else DryRunExecutor(ex)
    return ActionRunner(
        account="alice",
        executor=executor,
        journal=journal,
        clock=clock,
        caps=caps or CapsSettings(),
        stale_after=30,
        repoll=repoll or improved,
        reconcile=reconciler.status_of,
        prices=lambda: {"BTC": D(20000)},
    )


async def test_live_repay_journals_intent_then_outcome(make_exchange, clock, journal) -> None:
    """A live repay is journaled before the call, succeeds and reports the improvement."""
    ex = _exchange(make_exchange)
    runner = _runner(ex, journal, clock)
    report = await runner.run(
        Req("a1", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert report.status == SUCCEEDED and report.succeeded
    assert ex.mutating_calls() == ["repay"]
    assert ex.calls[-1][1]["amount"] == D(300)  # capped by available, not the 1001 debt
    assert report.risk_before == D("0.9") and report.risk_after == D("0.6")
    kinds = [e.kind for e in await journal.events()]
    assert kinds[:2] == ["intent", "outcome"] and "verified" in kinds
    rec = (await journal.intents())[0]
    assert rec.status == SUCCEEDED and rec.intent.params["amount"] == "300"


async def test_dry_run_sends_nothing_and_says_what(make_exchange, clock, journal) -> None:
    """Dry-run journals what would be done, marked as such, with no mutating call and no
    verifying re-poll."""
    ex = _exchange(make_exchange)
    runner = _runner(ex, journal, clock, live=False)
    for kind in ("repay", "flashRepay", "cancelOrders", "reduce"):
        report = await runner.run(Req(f"a-{kind}", kind), _snap(ex, clock), paused=False)
        assert report.status == DRY_RUN, kind
        assert report.detail.startswith("DRY-RUN: would "), report.detail
    assert ex.mutating_calls() == []
    assert all(r.intent.dry_run and r.status == DRY_RUN for r in await journal.intents())
    assert await journal.open_intents() == []
    # nothing was sent, so no "verified" before/after rates that riskd did not cause
    assert "verified" not in [e.kind for e in await journal.events()]


async def test_stale_scope_refused(make_exchange, clock, journal) -> None:
    """No protective call on data older than stale_after."""
    ex = _exchange(make_exchange)
    snap = _snap(ex, clock)
    clock.advance(31)
    report = await _runner(ex, journal, clock).run(Req("a1", "repay"), snap, paused=False)
    assert report.status == STALE and not report.succeeded
    assert ex.mutating_calls() == []
    assert (await journal.events())[-1].kind == STALE


async def test_paused_refused(make_exchange, clock, journal) -> None:
    """Paused accounts take no action; the refusal is journaled."""
    ex = _exchange(make_exchange)
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay"), _snap(ex, clock), paused=True
    )
    assert report.status == PAUSED and ex.mutating_calls() == []


async def test_cap_blocks_before_call(make_exchange, clock, journal) -> None:
    """A flash repay above the per-action cap is blocked and journaled, never sent."""
    ex = _exchange(make_exchange)
    runner = _runner(ex, journal, clock, caps=CapsSettings(max_action_usdt=D(100)))
    report = await runner.run(Req("a1", "flashRepay"), _snap(ex, clock), paused=False)
    assert report.status == BLOCKED and "caps.max_action_usdt" in report.detail
    assert ex.mutating_calls() == []
    assert (await journal.events())[-1].kind == BLOCKED


async def test_cap_reduces_repay_and_day_cap_counts(make_exchange, clock, journal) -> None:
    """A repay is reduced to the per-action cap; the daily cap counts earlier repays."""
    ex = _exchange(make_exchange)
    caps = CapsSettings(max_action_usdt=D(100), max_day_usdt=D(150))
    runner = _runner(ex, journal, clock, caps=caps)
    r1 = await runner.run(
        Req("a1", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert r1.status == SUCCEEDED and ex.calls[-1][1]["amount"] == D(100)
    r2 = await runner.run(
        Req("a2", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert r2.status == SUCCEEDED and ex.calls[-1][1]["amount"] == D(50)
    r3 = await runner.run(
        Req("a3", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert r3.status == BLOCKED


async def test_rejection_is_failed_not_retried(make_exchange, clock, journal) -> None:
    """A definite refusal ends the intent as failed; nothing is sent twice."""
    ex = _exchange(make_exchange)
    ex.fail_next["repay"] = CallRejected("[50042] amount below interest", code="50042")
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay"), _snap(ex, clock), paused=False
    )
    assert report.status == FAILED and "50042" in report.detail
    assert ex.mutating_calls() == ["repay"]


async def test_lost_answer_reconciled_at_once(make_exchange, clock, journal) -> None:
    """A repay whose answer was lost is found in the repay records: succeeded, not resent."""
    ex = _exchange(make_exchange)
    ex.lose_answer["repay"] = CallUncertain("read timeout")
    runner = _runner(ex, journal, clock)
    report = await runner.run(
        Req("a1", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert report.status == SUCCEEDED
    assert ex.mutating_calls() == ["repay"]
    rec = (await journal.intents())[0]
    assert rec.ref == "1" and rec.outcome.get("reconciled") is True


async def test_unreconcilable_intent_holds_the_scope(make_exchange, clock, journal) -> None:
    """If even the records cannot be read, the intent stays open and the scope waits."""
    ex = _exchange(make_exchange)
    ex.lose_answer["repay"] = CallUncertain("read timeout")
    ex.fail_next["repays"] = CallUncertain("read timeout")
    runner = _runner(ex, journal, clock)
    report = await runner.run(Req("a1", "repay"), _snap(ex, clock), paused=False)
    assert report.status == "open" and not report.succeeded
    assert [r.status for r in await journal.open_intents()] == [PENDING]
    again = await runner.run(Req("a2", "repay"), _snap(ex, clock), paused=False)
    assert again.status == AWAITING
    assert ex.mutating_calls() == ["repay"]


async def test_flash_repay_is_followed_not_waited_for(make_exchange, clock, journal) -> None:
    """A flash repay journals its id and returns at once, open; reconciliation settles it.
    While it settles, only another flash repay on the scope is held back."""
    ex = _exchange(make_exchange)
    runner = _runner(ex, journal, clock)
    start = clock.now()
    report = await runner.run(Req("a1", "flashRepay"), _snap(ex, clock), paused=False)
    assert report.status == IN_PROGRESS and not report.succeeded
    assert "flash_repay_status" not in [n for n, _ in ex.calls]
    assert clock.now() == start  # nothing slept on it
    kinds = [e.kind for e in await journal.events()]
    assert kinds[:3] == ["intent", "accepted", "following"]
    (rec,) = await journal.open_intents()
    assert rec.ref == "f1"
    # Another flash repay waits for it; another kind of action does not (issue 15).
    held = await runner.run(Req("a2", "flashRepay"), _snap(ex, clock), paused=False)
    assert held.status == AWAITING and ex.mutating_calls() == ["flash_repay"]
    beside = await runner.run(
        Req("a3", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert beside.status == SUCCEEDED and ex.mutating_calls() == ["flash_repay", "repay"]
    reconciler = Reconciler(journal, lambda a: ex, clock, flash_timeout=5)
    settled: list[object] = []
    while not settled:
        settled, _open = await reconciler.reconcile_all()
    assert (await journal.intents())[0].status == SUCCEEDED
    assert await journal.open_intents() == []


async def test_reduce_sends_client_oid(make_exchange, clock, journal) -> None:
    """reduce (no free USDT to repay first) places a market autoRepay order with the intent's
    clientOid."""
    ex = _exchange(make_exchange)
    ex.isolated_rows[0] = AssetRow("USDT", D(0), D(0), D(1000), D(1), "BTCUSDT")
    report = await _runner(ex, journal, clock).run(
        Req("a1", "reduce"), _snap(ex, clock), paused=False
    )
    assert report.status == SUCCEEDED
    _name, kw = next(c for c in ex.calls if c[0] == "place_market_autorepay")
    rec = (await journal.intents())[0]
    assert kw["client_oid"] == f"riskd-{rec.intent.intent_id}" and kw["side"] == "sell"


async def test_reduce_repays_the_free_owed_balance_first(make_exchange, clock, journal) -> None:
    """reduce in a scope holding free USDT that it owes repays that balance first (no trade)."""
    ex = _exchange(make_exchange)
    report = await _runner(ex, journal, clock).run(
        Req("a1", "reduce"), _snap(ex, clock), paused=False
    )
    assert report.status == SUCCEEDED
    assert ex.mutating_calls()[:1] == ["repay"]
    assert not any(c[0] == "place_market_autorepay" for c in ex.calls)


async def test_nothing_to_do_is_skipped(make_exchange, clock, journal) -> None:
    """Nothing available to repay: skipped with the reason, nothing sent."""
    ex = _exchange(make_exchange)
    ex.isolated_rows[0] = AssetRow("USDT", D(0), D(0), D(1000), D(1), "BTCUSDT")
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay", params={"coin": "USDT"}), _snap(ex, clock), paused=False
    )
    assert report.status == SKIPPED and "50042" in report.detail
    assert ex.mutating_calls() == []


async def test_transient_refusal_tried_again_with_new_intent(make_exchange, clock, journal):
    """A 429 on a repay (not executed) is tried again at once under a new intent."""
    ex = _exchange(make_exchange)
    ex.fail_next["repay"] = CallRejected("[429] too many requests", code="429", transient=True)
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay"), _snap(ex, clock), paused=False
    )
    assert report.status == SUCCEEDED
    assert ex.mutating_calls() == ["repay", "repay"]
    assert [r.status for r in await journal.intents()] == [FAILED, SUCCEEDED]


async def test_a_retry_after_a_429_reads_nothing_first(make_exchange, clock, journal):
    """A refused call changed nothing: its retry is sized on the snapshot it had (and the
    latest prices), with no read of its own — in a 429 storm that read would be refused as
    often as the call. The step's verification after it succeeded is the only read."""
    ex = _exchange(make_exchange)
    ex.fail_next["repay"] = CallRejected("[429] too many requests", code="429", transient=True)
    reads: list[str] = []

    async def repoll(scope):
        reads.append(scope)
        return _snap(ex, clock)

    runner = _runner(ex, journal, clock, repoll=repoll)
    report = await runner.run(Req("a1", "repay"), _snap(ex, clock), paused=False)
    assert report.status == SUCCEEDED
    assert ex.mutating_calls() == ["repay", "repay"]
    assert reads == [SCOPE]


async def test_transient_refusals_retried_for_a_bounded_time(make_exchange, clock, journal):
    """A repay refused with 429 again and again is tried every 0.5 s for 2 s, then given up
    (each try its own intent, all failed, none sent twice)."""
    ex = _exchange(make_exchange)

    async def always_429(*args, **kw):
        ex._call("repay", **kw)
        raise CallRejected("[429] too many requests", code="429", transient=True)

    ex.repay = always_429
    start = clock.now()
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay"), _snap(ex, clock), paused=False
    )
    assert report.status == FAILED and report.retryable
    assert 1.0 <= clock.now() - start <= 2.0
    tries = ex.mutating_calls()
    assert len(tries) == 4  # at 0 s, 0.5 s, 1 s, 1.5 s: every try starts within the 2 s
    assert [r.status for r in await journal.intents()] == [FAILED] * len(tries)


async def test_a_slow_refusal_is_still_retried(make_exchange, clock, journal):
    """A 429 that took 1.5 s to come back (a slow API) is still tried again: the retry
    window counts from the answer, not from the decision (it used to be spent waiting)."""
    ex = _exchange(make_exchange)
    answers: list[float] = []

    async def slow_429(*args, **kw):
        ex._call("repay", **kw)
        await clock.sleep(1.5)
        answers.append(clock.now())
        raise CallRejected("[429] too many requests", code="429", transient=True)

    ex.repay = slow_429
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay"), _snap(ex, clock), paused=False
    )
    assert report.status == FAILED and report.retryable
    assert len(ex.mutating_calls()) == 2  # the second starts 0.5 s after the first answer
    assert answers[1] - answers[0] == 2.0


async def test_lost_answer_not_executed_is_retried(make_exchange, clock, journal) -> None:
    """A 5xx before execution: reconciliation proves it was not executed, then a retry."""
    ex = _exchange(make_exchange)
    ex.fail_next["repay"] = CallUncertain("HTTP 503", transient=True)
    report = await _runner(ex, journal, clock).run(
        Req("a1", "repay"), _snap(ex, clock), paused=False
    )
    assert report.status == SUCCEEDED
    assert [r.status for r in await journal.intents()] == ["not_executed", SUCCEEDED]


async def test_a_repeated_skip_is_journaled_once_then_counted(make_exchange, clock, journal):
    """The same skip every cycle: one journal line, quiet repeats (no alert), one line again
    after 10 minutes with the count kept quiet meanwhile."""
    ex = _exchange(make_exchange)
    ex.isolated_rows[0] = AssetRow("USDT", D(0), D(0), D(1000), D(1), "BTCUSDT")
    runner = _runner(ex, journal, clock)
    req = Req("a1", "repay", params={"coin": "USDT"})
    reports = []
    for _ in range(5):
        reports.append(await runner.run(req, _snap(ex, clock), paused=False))
        clock.advance(1)
    assert [r.status for r in reports] == [SKIPPED] * 5
    assert [r.quiet for r in reports] == [False, True, True, True, True]
    lines = [e for e in await journal.events() if e.summary.startswith("repay not sent")]
    assert len(lines) == 1
    clock.advance(600)
    again = await runner.run(req, _snap(ex, clock), paused=False)
    assert not again.quiet and "the same skip 4 more times" in again.detail
    lines = [e for e in await journal.events() if e.summary.startswith("repay not sent")]
    assert len(lines) == 2


def test_repeat_filter_news_again_after_the_step_acted() -> None:
    """A skip after the step was sent is news again (RepeatFilter.forget)."""
    from riskd.daemon.repeats import RepeatFilter

    f = RepeatFilter(every=600)
    key = ("cross", "r1", "reduce")
    assert f.admit(key, 0.0) == 0
    assert f.admit(key, 1.0) is None
    f.forget(key)
    assert f.admit(key, 2.0) == 0
