"""What riskd tells the person, end to end: the daemon against the simulator, the real
notifier, a real SMTP server on loopback receiving every mail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.clock import WallClock
from riskd.daemon.reload import Reloader
from riskd.notify.notifier import Notifier
from riskd.notify.outbox_store import OutboxStore
from riskd.notify.settings import NotifySettings

from .harness import REPO_RULES, World, make_world
from .smtp import MailBox, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    box = MailBox()
    box.start()
    yield box
    box.stop()


def notify_settings(box: MailBox) -> NotifySettings:
    return NotifySettings.model_validate(
        {
            "routes": [{"name": "mail", "urls": [box.url()]}],
            "group_wait": 0.05,
            "group_interval": 0.1,
            "lifecycle_messages": False,
        }
    )


async def with_notifier(world: World, box: MailBox, outbox: OutboxStore | None = None) -> Notifier:
    """The real notifier on wall time (delivery is real I/O) as the daemon's sink."""
    notifier = Notifier(notify_settings(box), WallClock(), outbox_store=outbox)
    await notifier.start()
    world.daemon.sink = notifier
    return notifier


async def test_a_forced_liquidation_is_mailed(tmp_path: Path, mailbox: MailBox) -> None:
    """Actions paused, the exchange liquidates: a mail whose subject holds LIQUIDATED, the
    account and the scope."""
    world = await make_world(tmp_path, live=True)
    notifier = await with_notifier(world, mailbox)
    try:
        await world.daemon.run_cycle()
        await world.daemon.journal.set_paused(None, True, at=world.clock.now())
        price = D(30000)
        while not world.sim.stats.liquidations and price > D(15000):
            world.sim.control.set_price("BTCUSDT", price)
            world.clock.advance(1)
            await world.daemon.run_cycle()
            price -= D(200)
        for _ in range(2):  # within two poll intervals
            world.clock.advance(1)
            await world.daemon.run_cycle()
        subject = await wait_for(mailbox, "LIQUIDATED")
        assert "alice" in subject and "isolated:BTCUSDT" in subject
    finally:
        await notifier.stop()
        await world.close()


async def test_pause_and_a_switch_to_live_are_mailed(tmp_path: Path, mailbox: MailBox) -> None:
    """`riskd pause` and a SIGHUP that makes an account LIVE each produce a mail."""
    world = await make_world(tmp_path, live=False)
    notifier = await with_notifier(world, mailbox)
    try:
        await world.daemon.run_cycle()
        await world.daemon.journal.set_paused("alice", True, at=world.clock.now())
        world.clock.advance(1)
        await world.daemon.run_cycle()
        await wait_for(mailbox, "PAUSED")
        config = tmp_path / "riskd.toml"
        keys = world.sim.keys("alice")
        config.write_text(
            f'live = true\nbase_url = "http://sim"\n'
            f'journal_path = "{world.settings.journal_path}"\n'
            f'rules_dir = "{REPO_RULES}"\n[metrics]\nenabled = false\n'
            f'[poll]\nflash_repay_timeout = "4s"\n[accounts.alice]\napi_key = "{keys.api_key}"\n'
            f'api_secret = "{keys.secret}"\napi_passphrase = "{keys.passphrase}"\n'
        )
        await Reloader(world.daemon, config, None).reload()
        assert not world.daemon.accounts["alice"].dry_run
        await wait_for(mailbox, "LIVE")
    finally:
        await notifier.stop()
        await world.close()


async def test_an_action_killed_before_its_mail_is_mailed_after_the_restart(
    tmp_path: Path,
) -> None:
    """kill -9 right after an action, its mail not yet out (the mail server was down): the
    next process finds it in the journal's outbox and mails it."""
    box = MailBox()  # not started: the mail cannot go out before the "kill"
    world = await make_world(tmp_path, live=True)
    outbox = await OutboxStore.open(world.settings.journal_path)
    await with_notifier(world, box, outbox)
    rows: list[object] = []
    try:
        price = D(30000)
        while not any(r.status == "succeeded" for r in await world.daemon.journal.intents()):
            world.sim.control.set_price("BTCUSDT", price)
            world.clock.advance(1)
            await world.daemon.run_cycle()
            price -= D(100)
            assert price > D(15000), "the ladder acted"
        for _ in range(40):  # the notifier's own task writes the outbox (milliseconds)
            found, _ = await outbox.pending(time.time(), 3600)
            rows = list(found)
            if rows:
                break
            await asyncio.sleep(0.05)
        assert rows, "the alert is in the journal's outbox before any delivery"
        # kill -9: the notifier's tasks die where they are; it never stops cleanly.
        tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("notify:")]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await outbox.close()
    box.start()
    try:
        outbox2 = await OutboxStore.open(world.settings.journal_path)
        again = Notifier(notify_settings(box), WallClock(), outbox_store=outbox2)
        await again.start()
        try:
            subject = await wait_for(box, "ACTION")
            assert "alice" in subject
        finally:
            await again.stop()
            await outbox2.close()
    finally:
        box.stop()
        await world.close()
