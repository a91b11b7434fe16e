"""The bot inside ``riskd run``'s service shell: a dead Bot API server delays no tick and
no action, and the stop stays bounded. (Runs once riskd/daemon/service.py takes the bot:
docs/telegram.md; skipped before that wiring exists.)"""

from __future__ import annotations

import asyncio
import inspect
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.service import Service
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier

from ..daemon.harness import flash_only_rules, make_world
from .conftest import TOKEN, make_service, until
from .fakebot import FakeBotApi, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        "telegram" not in inspect.signature(Service.__init__).parameters,
        reason="Service does not take the Telegram bot yet",
    ),
]


async def test_dead_bot_delays_no_tick_and_no_action(tmp_path: Path) -> None:
    """Every Bot API request hangs: the service still ticks, acts on a crash, and stops."""
    world = await make_world(
        tmp_path,
        live=True,
        rules_dir=flash_only_rules(tmp_path),
        top={"poll": {"fast_interval": "100ms", "interval": "100ms", "slow_interval": "100ms"}},
    )
    api = FakeBotApi(TOKEN, hang=True)
    try:
        async with serve(api) as url:
            bot = make_service(url, world.settings.journal_path, world.clock, accounts=("alice",))
            service = Service(
                world.built,
                config_path=None,
                clock=world.clock,
                metrics=Metrics(),
                systemd=SystemdNotifier({}),
                notifier=None,
                live_override=None,
                telegram=bot,  # type: ignore[call-arg,unused-ignore]
            )
            task = asyncio.create_task(service.run())
            try:
                await until(lambda: service.health.last_tick is not None, "first tick", 10)
                await until(lambda: len(api.calls) == 1, "the bot's getMe hangs")
                world.sim.control.set_price("BTCUSDT", D(21650))  # riskRate 0.92: act at once
                world.clock.advance(5)
                await until(lambda: world.mutating_calls() != {}, "the daemon acted", 10)
                assert not bot.connected.is_set()
                service.stop_event.set()
                assert await asyncio.wait_for(task, 10) == 0
            finally:
                if not task.done():
                    task.cancel()
    finally:
        await world.http.aclose()
