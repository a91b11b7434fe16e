"""The daemon acts only on the accounts it owns, and sends nothing while its journal's
database is lost (cluster behaviour, with a fake ownership and a journal that can fail)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from riskd.daemon.events import EventKind
from riskd.daemon.journal import NOT_EXECUTED, Journal
from riskd.daemon.journal_types import JournalUnavailable
from riskd.notify.alert import AlertKind
from riskd.severity import Severity

from .harness import World, crash, make_world

pytestmark = pytest.mark.slow


class FakeOwnership:
    """Owns what the test says; reports changes like the lease keeper."""

    def __init__(self, owned: set[str]) -> None:
        self.owned = set(owned)
        self._acquired: set[str] = set()
        self._lost: set[str] = set()
        self.unowned: frozenset[str] = frozenset()
        self.lost_database = False
        self.taken_from: dict[str, str] = {}

    def owns(self, account: str) -> bool:
        return account in self.owned

    def take_changes(self) -> tuple[frozenset[str], frozenset[str]]:
        out = frozenset(self._acquired), frozenset(self._lost)
        self._acquired.clear()
        self._lost.clear()
        return out

    def take_takeovers(self) -> dict[str, str]:
        out = dict(self.taken_from)
        self.taken_from.clear()
        return out

    def give(self, account: str, *, ran_out_on: str | None = None) -> None:
        self.owned.add(account)
        self._acquired.add(account)
        if ran_out_on is not None:
            self.taken_from[account] = ran_out_on

    def take(self, account: str) -> None:
        self.owned.discard(account)
        self._lost.add(account)


class FlakyJournal(Journal):
    """A journal whose database can be 'lost': every call raises JournalUnavailable."""

    down = False

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if (
            not name.startswith("_")
            and callable(attr)
            and name not in ("close", "rollback")
            and type(self).down
        ):

            async def refused(*_: object, **__: object) -> None:
                raise JournalUnavailable("postgresql://db:5432/riskd", "connection refused")

            return refused
        return attr


@pytest.fixture
def flaky() -> Iterator[type[FlakyJournal]]:
    FlakyJournal.down = False
    yield FlakyJournal
    FlakyJournal.down = False


async def _world(tmp_path: Path, ownership: FakeOwnership, *, flaky: bool = False) -> World:
    world = await make_world(tmp_path, live=True, open_journal=FlakyJournal.open if flaky else None)
    world.daemon.ownership = ownership
    return world


async def test_an_account_not_owned_is_neither_polled_nor_acted_on(tmp_path: Path) -> None:
    """Another node owns alice: through a crash this node sends nothing and polls nothing."""
    world = await _world(tmp_path, FakeOwnership(set()))
    try:
        before = sum(world.sim.stats.requests.values())
        await crash(world, "BTCUSDT", D(30000), D(24000), D(200), 2.0)
        assert world.mutating_calls() == {}
        assert sum(world.sim.stats.requests.values()) == before
    finally:
        await world.close()


async def test_an_account_taken_over_is_adopted_and_protected(tmp_path: Path) -> None:
    """alice is handed to this node mid-crash: an ownership event, then protection."""
    own = FakeOwnership(set())
    world = await _world(tmp_path, own)
    try:
        await crash(world, "BTCUSDT", D(30000), D(27000), D(200), 2.0)
        assert world.mutating_calls() == {}
        own.give("alice")
        await crash(world, "BTCUSDT", D(26800), D(19000), D(50), 2.0)
        assert world.mutating_calls(), "protective calls once owned"
        assert world.sim.stats.liquidations == 0
        events = await world.daemon.journal.events(kinds=[EventKind.OWNERSHIP])
        assert [e.data["change"] for e in events] == ["acquired"]
    finally:
        await world.close()


async def test_a_takeover_from_a_node_whose_lease_ran_out_is_a_warning(tmp_path: Path) -> None:
    """alice is taken from node-a, whose lease ran out: one warning alert naming both nodes
    and the account; a plain hand-over (no node named) raises none."""
    own = FakeOwnership(set())
    world = await _world(tmp_path, own)
    try:
        own.give("alice", ran_out_on="node-a")
        await world.daemon.run_cycle()
        (alert,) = [a for a in world.sink.alerts if "took over" in a.title]
        assert alert.severity is Severity.WARNING
        assert alert.title.endswith("took over 1 account(s) from node node-a")
        assert alert.message is not None and alert.message.startswith("alice: protected from")
        events = await world.daemon.journal.events(kinds=[EventKind.OWNERSHIP])
        assert [e.data["change"] for e in events] == ["acquired", "takeover"]
        own.take("alice")
        world.clock.advance(2.0)
        await world.daemon.run_cycle()
        own.give("alice")
        world.clock.advance(2.0)
        await world.daemon.run_cycle()
        assert len([a for a in world.sink.alerts if "took over" in a.title]) == 1
    finally:
        await world.close()


async def test_an_account_taken_back_is_read_afresh_before_any_decision(tmp_path: Path) -> None:
    """alice comes back to this node: what it saw while it last owned her (another node may
    have acted since) is dropped, and every scope is read again in the adopting cycle."""
    own = FakeOwnership({"alice"})
    world = await _world(tmp_path, own)
    try:
        await world.daemon.run_cycle()
        poller = world.daemon.accounts["alice"].poller
        assert poller.snapshots
        own.take("alice")
        world.clock.advance(3.0)
        await world.daemon.run_cycle()
        own.give("alice")
        world.clock.advance(1.0)
        await world.daemon.run_cycle()
        assert poller.snapshots
        assert all(s.observed_at == world.clock.now() for s in poller.snapshots.values())
    finally:
        await world.close()


async def test_a_lost_account_is_left_alone_and_said(tmp_path: Path) -> None:
    """alice goes to another node: a warning alert, and no more calls for it from here."""
    own = FakeOwnership({"alice"})
    world = await _world(tmp_path, own)
    try:
        await crash(world, "BTCUSDT", D(30000), D(29000), D(200), 2.0)
        own.take("alice")
        calls = sum(world.sim.stats.requests.values())
        await crash(world, "BTCUSDT", D(28800), D(20000), D(100), 2.0)
        assert sum(world.sim.stats.requests.values()) == calls
        lost = [a for a in world.sink.alerts if "no longer owns account alice" in a.title]
        assert len(lost) == 1 and lost[0].severity is Severity.WARNING
    finally:
        await world.close()


async def test_lease_running_out_after_the_intent_stops_the_call(tmp_path: Path) -> None:
    """The lease runs out between the fenced write and the send: the intent is closed as
    not executed and no mutating call leaves."""
    world = await _world(tmp_path, FakeOwnership({"alice"}))
    try:
        # The cycle sees alice owned; the runner's last look, after the intent, does not.
        world.daemon.accounts["alice"].runner.owns = lambda: False
        await crash(world, "BTCUSDT", D(30000), D(20000), D(100), 2.0)
        intents = await world.daemon.journal.intents()
        assert intents, "an action was decided"
        assert {r.status for r in intents} == {NOT_EXECUTED}
        assert world.mutating_calls() == {}
        fenced = await world.daemon.journal.events(kinds=[EventKind.FENCED])
        assert fenced and "lease ran out" in fenced[0].summary
    finally:
        await world.close()


async def test_journal_lost_means_no_action_one_alert_and_evaluation_goes_on(
    tmp_path: Path, flaky: type[FlakyJournal]
) -> None:
    """The database is lost mid-crash: no call is sent, one critical alert on every route,
    rules still evaluated; when it answers again, an all-clear and protection resumes."""
    world = await _world(tmp_path, FakeOwnership({"alice"}), flaky=True)
    try:
        await crash(world, "BTCUSDT", D(30000), D(23100), D(100), 2.0)
        assert world.mutating_calls() == {}, "nothing to do before 22300 (this path)"
        flaky.down = True
        decided = 0
        for step in range(11):  # 23000 → 22000: where the ladder acts on this path
            world.sim.control.set_price("BTCUSDT", D(23000) - D(100) * step)
            world.clock.advance(2.0)
            report = await world.daemon.run_cycle()
            assert "alice" in report.evaluations, "still evaluated"
            decided += len(report.evaluations["alice"].actions)
        assert decided, "the rules wanted to act during the outage"
        assert world.mutating_calls() == {}
        down = [a for a in world.sink.alerts if a.title.startswith("journal database unreach")]
        assert len(down) == 1 and down[0].severity is Severity.CRITICAL
        assert down[0].kind is AlertKind.ERROR
        flaky.down = False
        await crash(world, "BTCUSDT", D(21900), D(19000), D(100), 2.0)
        back = [a for a in world.sink.alerts if a.title.startswith("journal database answers")]
        assert len(back) == 1
        assert world.mutating_calls(), "protection resumes once the journal answers"
        assert world.sim.stats.liquidations == 0
    finally:
        FlakyJournal.down = False
        await world.close()
