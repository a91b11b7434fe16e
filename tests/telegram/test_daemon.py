"""The bot beside a real daemon (simulator over ASGI): risk rates from the daemon's own
status rows, a confirmed /pause that stops actions, and a dead Bot API server that delays
no cycle."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.telegram.service import TelegramService

from ..daemon.harness import World, crash, make_world
from .conftest import ALLOWED, TOKEN, make_service, until
from .fakebot import FakeBotApi, serve

pytestmark = pytest.mark.slow


def _service(url: str, world: World) -> TelegramService:
    return make_service(url, world.settings.journal_path, world.clock, accounts=("alice",))


async def test_status_and_confirmed_pause_with_a_running_daemon(tmp_path: Path) -> None:
    """/status shows the simulator's risk rates as the daemon wrote them; a confirmed /pause
    keeps the live daemon from sending any protective call during a crash."""
    world = await make_world(tmp_path, live=True)
    api = FakeBotApi(TOKEN)
    try:
        await world.daemon.run_cycle()
        rows = {s: r["risk_rate"] for _, s, _, r in await world.daemon.journal.read_status()}
        async with serve(api) as url:
            service = _service(url, world)
            await service.start()
            try:
                await until(service.connected.is_set, "bot connected")
                api.message(ALLOWED, "/status")
                await until(lambda: len(api.texts(ALLOWED)) == 1, "status answered")
                for scope, rate in rows.items():
                    assert f"{scope}: risk {rate}" in api.texts(ALLOWED)[0]
                api.message(ALLOWED, "/pause alice")
                await until(lambda: len(api.buttons(ALLOWED)) == 2, "confirmation asked")
                api.press(ALLOWED, api.buttons(ALLOWED)[0])
                await until(lambda: len(api.sent("editMessageText")) == 1, "pause confirmed")
            finally:
                await service.stop()
        await crash(world, "BTCUSDT", D(30000), D(22100), D(100), 2.0)
        await crash(world, "BTCUSDT", D(22000), D(21650), D(50), 10.0)
        assert world.mutating_calls() == {}
        assert await world.daemon.journal.events(kinds=["paused"])
    finally:
        await world.close()


async def test_dead_bot_server_delays_no_cycle(tmp_path: Path) -> None:
    """With the Bot API server accepting connections and never answering, the daemon's
    cycles run and act as without a bot, and stopping the bot is bounded."""
    world = await make_world(tmp_path, live=True)
    api = FakeBotApi(TOKEN, hang=True)
    try:
        async with serve(api) as url:
            service = _service(url, world)
            await asyncio.wait_for(service.start(), 1.0)
            await until(lambda: len(api.calls) == 1, "the bot's getMe is hanging")
            await crash(world, "BTCUSDT", D(30000), D(22100), D(100), 2.0)
            await crash(world, "BTCUSDT", D(22000), D(21650), D(50), 10.0)
            assert world.mutating_calls() != {}, "the daemon acted"
            assert not service.connected.is_set()
            await asyncio.wait_for(service.stop(), 2.0)
        assert world.sim.stats.liquidations == 0
    finally:
        await world.close()
