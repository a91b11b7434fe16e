"""Journal: intents before calls, outcomes after, open intents, caps spending, pause, status."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from riskd.daemon.journal import (
    ACCEPTED,
    DRY_RUN,
    FAILED,
    PENDING,
    SUCCEEDED,
    Intent,
    Journal,
)
from riskd.redact import register_secret


def _intent(n: int, *, at: float = 1000.0, dry_run: bool = False, amount: str = "10") -> Intent:
    return Intent(
        intent_id=f"i{n}",
        at=at,
        account="alice",
        scope="isolated:BTCUSDT",
        kind="repay",
        rule="repay-at-margin-call",
        action_id=f"a{n}",
        params={"coin": "USDT", "amount": amount},
        coin="USDT",
        amount=Decimal(amount),
        value_usdt=Decimal(amount),
        dry_run=dry_run,
    )


async def test_intent_lifecycle(journal: Journal) -> None:
    """An intent is pending before its call, accepted with a ref, final after its outcome."""
    await journal.begin_intent(_intent(1), "repay 10 USDT")
    rec = await journal.intent("i1")
    assert rec is not None and rec.status == PENDING
    await journal.mark_accepted("i1", "rep-77", at=1001.0, summary="accepted")
    assert [r.intent.intent_id for r in await journal.open_intents()] == ["i1"]
    assert (await journal.intent("i1")).status == ACCEPTED  # type: ignore[union-attr]
    await journal.finish_intent("i1", SUCCEEDED, at=1002.0, summary="done", outcome={"x": "1"})
    rec = await journal.intent("i1")
    assert rec is not None and rec.status == SUCCEEDED and rec.ref == "rep-77"
    assert rec.outcome["x"] == "1"
    assert await journal.open_intents() == []
    kinds = [e.kind for e in await journal.events()]
    assert kinds == ["intent", "accepted", "outcome"]


async def test_open_intents_survive_reopen(tmp_path: Path) -> None:
    """An intent without outcome is still open after the database is closed and reopened."""
    j = await Journal.open(tmp_path / "j.sqlite3")
    await j.begin_intent(_intent(1), "repay")
    await j.close()
    j = await Journal.open(tmp_path / "j.sqlite3")
    try:
        assert [r.intent.intent_id for r in await j.open_intents()] == ["i1"]
    finally:
        await j.close()


async def test_dry_run_intents_are_not_open(journal: Journal) -> None:
    """Dry-run intents never need reconciliation and never count toward caps."""
    await journal.begin_intent(_intent(1, dry_run=True), "would repay")
    assert (await journal.intent("i1")).status == DRY_RUN  # type: ignore[union-attr]
    assert await journal.open_intents() == []
    assert (await journal.spent("alice", 0.0))[0] == 0


async def test_spent_counts_live_non_failed_since(journal: Journal) -> None:
    """Daily spending sums live intents since the cut-off, except failed ones."""
    await journal.begin_intent(_intent(1, at=100.0, amount="5"), "old")
    await journal.begin_intent(_intent(2, at=2000.0, amount="7"), "new")
    await journal.begin_intent(_intent(3, at=2001.0, amount="11"), "failed")
    await journal.finish_intent("i3", FAILED, at=2002.0, summary="failed")
    usdt, coins = await journal.spent("alice", 1000.0)
    assert usdt == Decimal(7)
    assert coins == {"USDT": Decimal(7)}


async def test_finish_refuses_open_status(journal: Journal) -> None:
    """An outcome must be final."""
    await journal.begin_intent(_intent(1), "repay")
    with pytest.raises(ValueError):
        await journal.finish_intent("i1", PENDING, at=1.0, summary="x")


async def test_pause_state(journal: Journal) -> None:
    """Global and per-account pauses are persisted and read back."""
    assert not (await journal.pause_state()).paused("alice")
    await journal.set_paused("alice", True, at=1.0)
    st = await journal.pause_state()
    assert st.paused("alice") and not st.paused("bob")
    await journal.set_paused(None, True, at=2.0)
    assert (await journal.pause_state()).paused("bob")
    await journal.set_paused(None, False, at=3.0)
    await journal.set_paused("alice", False, at=4.0)
    assert not (await journal.pause_state()).paused("alice")


async def test_rule_state_and_status_roundtrip(journal: Journal) -> None:
    """Rule state and status rows are stored and replaced."""
    await journal.save_rule_state("alice", '{"a": 1}', at=1.0)
    await journal.save_rule_state("alice", '{"a": 2}', at=2.0)
    assert await journal.load_rule_state("alice") == '{"a": 2}'
    await journal.write_status([("alice", "cross", {"risk_rate": Decimal("0.5")})], at=5.0)
    await journal.write_status([("alice", "cross", {"risk_rate": Decimal("0.6")})], at=6.0)
    assert await journal.read_status() == [("alice", "cross", 6.0, {"risk_rate": "0.6"})]


async def test_secrets_never_written(journal: Journal, tmp_path: Path) -> None:
    """A registered secret that slips into any journal text is masked on disk."""
    register_secret("journal-test-secret-XYZ")
    await journal.record(
        "decision",
        "rule saw journal-test-secret-XYZ",
        at=1.0,
        data={"k": "journal-test-secret-XYZ"},
    )
    await journal.save_rule_state("alice", '"journal-test-secret-XYZ"', at=1.0)
    await journal.set_paused(None, True, at=1.0, reason="journal-test-secret-XYZ")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite3*"))
    assert b"journal-test-secret-XYZ" not in raw


async def test_events_since_and_limit(journal: Journal) -> None:
    """Events filter by time and keep chronological order with a limit (the latest N)."""
    for i in range(5):
        await journal.record("decision", f"d{i}", at=float(i))
    assert [e.summary for e in await journal.events(since=3.0)] == ["d3", "d4"]
    assert [e.summary for e in await journal.events(limit=2)] == ["d3", "d4"]
