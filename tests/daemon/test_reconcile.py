"""Reconciliation of intents left open by a crash: found, not found, never counted twice."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.daemon.exchange import AssetRow, CallUncertain, OrderInfo, RepayRecord
from riskd.daemon.journal import NOT_EXECUTED, SUCCEEDED, UNKNOWN, Intent
from riskd.daemon.reconcile import Reconciler


def _intent(n: int, kind: str, at: float, **params: str) -> Intent:
    return Intent(
        intent_id=f"i{n}",
        at=at,
        account="alice",
        scope=params.pop("scope", "cross"),
        kind=kind,
        rule="r",
        action_id=f"a{n}",
        params=params,
    )


def _reconciler(journal, ex, clock) -> Reconciler:
    return Reconciler(journal, lambda account: ex, clock, flash_timeout=5)


async def test_repay_found_in_records(make_exchange, clock, journal) -> None:
    """A repay sent just before the crash is found in the repay list: succeeded, with its id."""
    ex = make_exchange()
    await journal.begin_intent(_intent(1, "repay", clock.now(), coin="USDT", amount="50"), "r")
    ex.repay_records.append(
        RepayRecord("77", "USDT", D(50), D(50), clock.now_ms() + 10, "manualRepay")
    )
    settled, still_open = await _reconciler(journal, ex, clock).reconcile_all()
    assert still_open == 0 and [s.status for s in settled] == [SUCCEEDED]
    rec = await journal.intent("i1")
    assert rec is not None and rec.status == SUCCEEDED and rec.ref == "77"
    assert ex.mutating_calls() == []


async def test_repay_not_sent(make_exchange, clock, journal) -> None:
    """No matching record: the repay never reached the exchange (not_executed)."""
    ex = make_exchange()
    await journal.begin_intent(_intent(1, "repay", clock.now(), coin="USDT", amount="50"), "r")
    ex.repay_records.append(RepayRecord("1", "USDT", D(49), D(49), clock.now_ms(), "manualRepay"))
    settled, _ = await _reconciler(journal, ex, clock).reconcile_all()
    assert [s.status for s in settled] == [NOT_EXECUTED]


async def test_one_record_never_counts_for_two_intents(make_exchange, clock, journal) -> None:
    """An earlier successful repay of the same amount does not make a lost one 'found'."""
    ex = make_exchange()
    await journal.begin_intent(_intent(1, "repay", clock.now(), coin="USDT", amount="50"), "r")
    await journal.finish_intent("i1", SUCCEEDED, at=clock.now(), summary="ok")
    ex.repay_records.append(RepayRecord("1", "USDT", D(50), D(50), clock.now_ms(), "manualRepay"))
    clock.advance(1)
    await journal.begin_intent(_intent(2, "repay", clock.now(), coin="USDT", amount="50"), "r")
    settled, _ = await _reconciler(journal, ex, clock).reconcile_all()
    assert [s.status for s in settled] == [NOT_EXECUTED]


async def test_flash_repay_by_id(make_exchange, clock, journal) -> None:
    """A flash repay whose id was journaled is followed to FINISH, never sent again; while
    it runs the intent stays open (nothing blocks)."""
    ex = make_exchange()
    ex.flash["f9"] = "BEGIN"
    await journal.begin_intent(_intent(1, "flashRepay", clock.now()), "flash")
    await journal.mark_accepted("i1", "f9", at=clock.now(), summary="accepted")
    rec = _reconciler(journal, ex, clock)
    assert await rec.reconcile_all() == ([], 1)
    clock.advance(1)
    assert await rec.reconcile_all() == ([], 1)
    settled, _ = await rec.reconcile_all()
    assert [s.status for s in settled] == [SUCCEEDED]
    assert ex.mutating_calls() == []


async def test_flash_repay_still_running_is_unknown_not_resent(make_exchange, clock, journal):
    """A flash repay that does not finish within the timeout ends 'unknown' (never resent)."""
    ex = make_exchange()
    ex.flash["f9"] = "BEGIN"
    await journal.begin_intent(_intent(1, "flashRepay", clock.now()), "flash")
    await journal.mark_accepted("i1", "f9", at=clock.now(), summary="accepted")

    async def stuck(margin, flash_id):
        return "REPAYING"

    ex.flash_repay_status = stuck  # type: ignore[method-assign]
    rec = _reconciler(journal, ex, clock)
    assert await rec.reconcile_all() == ([], 1)
    clock.advance(5)
    settled, _ = await rec.reconcile_all()
    assert [s.status for s in settled] == [UNKNOWN]
    assert await journal.open_intents() == []


async def test_flash_repay_without_id_uses_debt(make_exchange, clock, journal) -> None:
    """Without a journaled id: a vanished debt means it happened; debt still owed after
    the timeout means it did not."""
    ex = make_exchange()
    ex.cross_rows = [AssetRow("USDT", D(10), D(0), D(0), D(0))]
    await journal.begin_intent(_intent(1, "flashRepay", clock.now()), "flash")
    rec = _reconciler(journal, ex, clock)
    settled, _ = await rec.reconcile_all()
    assert [s.status for s in settled] == [SUCCEEDED]
    ex.cross_rows = [AssetRow("USDT", D(10), D(0), D(5), D(0))]
    await journal.begin_intent(_intent(2, "flashRepay", clock.now()), "flash")
    assert await rec.reconcile_all() == ([], 1)
    clock.advance(5)
    settled, _ = await rec.reconcile_all()
    assert [s.status for s in settled] == [NOT_EXECUTED]


async def test_flash_repay_without_id_found_by_system_repay(make_exchange, clock, journal):
    """Without an id, system (autoRepay) repay records since the intent show it happened."""
    ex = make_exchange()
    ex.cross_rows = [AssetRow("USDT", D(10), D(0), D(5), D(0))]
    await journal.begin_intent(_intent(1, "flashRepay", clock.now()), "flash")
    ex.repay_records.append(RepayRecord("9", "USDT", D(5), D(5), clock.now_ms(), "autoRepay"))
    settled, _ = await _reconciler(journal, ex, clock).reconcile_all()
    assert [s.status for s in settled] == [SUCCEEDED]


async def test_reduce_found_by_client_oid(make_exchange, clock, journal) -> None:
    """A market order is found again by the clientOid derived from its intent."""
    ex = make_exchange()
    ex.history.append(OrderInfo("o5", "riskd-i1", "full_fill", "BTCUSDT"))
    await journal.begin_intent(
        _intent(
            1,
            "reduce",
            clock.now(),
            scope="isolated:BTCUSDT",
            symbol="BTCUSDT",
            clientOid="riskd-i1",
        ),
        "reduce",
    )
    await journal.begin_intent(
        _intent(
            2,
            "reduce",
            clock.now(),
            scope="isolated:ETHUSDT",
            symbol="ETHUSDT",
            clientOid="riskd-i2",
        ),
        "reduce",
    )
    settled, _ = await _reconciler(journal, ex, clock).reconcile_all()
    assert {s.intent.intent.intent_id: s.status for s in settled} == {
        "i1": SUCCEEDED,
        "i2": NOT_EXECUTED,
    }
    assert (await journal.intent("i1")).ref == "o5"  # type: ignore[union-attr]


async def test_unreachable_exchange_keeps_intent_open(make_exchange, clock, journal) -> None:
    """When the exchange cannot be read, the intent stays open for the next attempt."""
    ex = make_exchange()
    ex.fail_next["repays"] = CallUncertain("timeout")
    await journal.begin_intent(_intent(1, "repay", clock.now(), coin="USDT", amount="5"), "r")
    settled, still_open = await _reconciler(journal, ex, clock).reconcile_all()
    assert settled == [] and still_open == 1
    assert len(await journal.open_intents()) == 1
