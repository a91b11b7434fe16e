"""Pause/resume while running, reload (SIGHUP) atomically, and no secret in the journal."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.actions import PAUSED
from riskd.daemon.reload import apply_settings
from riskd.notify.alert import AlertKind
from riskd.settings import CapsSettings

from .harness import crash, make_settings, make_world

pytestmark = pytest.mark.slow


async def test_pause_stops_actions_but_not_monitoring(tmp_path: Path) -> None:
    """Paused (as `riskd pause` writes it): polls, rules and alerts go on, no action is sent;
    after resume the daemon acts again."""
    world = await make_world(tmp_path, live=True)
    try:
        journal = world.daemon.journal
        await journal.set_paused("alice", True, at=world.clock.now(), reason="maintenance")
        await crash(world, "BTCUSDT", D(30000), D(22100), D(100), 2.0)
        await crash(world, "BTCUSDT", D(22000), D(21650), D(50), 10.0)  # riskRate → 0.92
        assert world.mutating_calls() == {}
        refused = await journal.events(kinds=[PAUSED])
        assert refused, "the refused actions are journaled"
        assert any(a.kind == AlertKind.FIRING for a in world.sink.alerts)
        await journal.set_paused(None, False, at=world.clock.now())
        for _ in range(40):  # cooldown of the escalation rule (1m) passes, then it acts
            world.clock.advance(2)
            await world.daemon.run_cycle()
        assert world.mutating_calls() != {}
        assert world.sim.stats.liquidations == 0
    finally:
        await world.close()


async def test_reload_is_atomic(tmp_path: Path) -> None:
    """A reload with broken rules keeps the old rules and alerts; a good one applies new
    caps and the live flag."""
    world = await make_world(tmp_path, live=False)
    try:
        acc = world.daemon.accounts["alice"]
        old_rules = acc.rules
        bad = tmp_path / "bad-rules"
        bad.mkdir()
        (bad / "x.toml").write_text('[[rule]]\nname = "x"\nwhen = "riskRat > 1"\n')
        notes = apply_settings(
            world.daemon, make_settings(tmp_path, world.sim, live=True, rules_dir=bad)
        )
        assert acc.rules is old_rules and acc.dry_run
        assert any("not reloaded" in n for n in notes)
        assert any(
            a.kind == AlertKind.ERROR and "previous rules kept" in a.title
            for a in world.sink.alerts
        )
        good = make_settings(tmp_path, world.sim, live=True, caps={"max_action_usdt": "5"})
        notes = apply_settings(world.daemon, good)
        assert not acc.dry_run and "alice is now LIVE" in notes
        assert acc.runner._caps == CapsSettings(max_action_usdt=D(5))
    finally:
        await world.close()


async def test_no_secret_in_journal_or_alerts(tmp_path: Path) -> None:
    """After a crash handled live, the journal file holds no key, secret or passphrase."""
    world = await make_world(tmp_path, live=True)
    try:
        await crash(world, "BTCUSDT", D(30000), D(21000), D(100), 2.0)
        keys = world.sim.keys("alice")
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3*"))
        assert raw, "the journal was written"
        for secret in (keys.secret, keys.passphrase, keys.api_key):
            assert secret.encode() not in raw
            assert all(secret not in repr(a) for a in world.sink.alerts)
    finally:
        await world.close()
