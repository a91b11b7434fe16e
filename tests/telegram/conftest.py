"""Fixtures: a fake Bot API server on loopback, a journal with status rows, a running bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from riskd.clock import ManualClock
from riskd.daemon.journal import Journal
from riskd.daemon.status_model import ScopeRow
from riskd.telegram.service import TelegramService
from riskd.telegram.settings import TelegramSettings

from .fakebot import FakeBotApi, serve

#: A distinctive token: any trace of it in a log, the journal or an error is a leak.
TOKEN = "7311:TOKEN-zq8VfXk2-never-shown"
ALLOWED = 111
ALSO_ALLOWED = 222
STRANGER = 999


async def until(check: Callable[[], bool], what: str, limit: float = 5.0) -> None:
    """Wait (real time, polled) until ``check()``; fails naming ``what`` after ``limit``."""
    async with asyncio.timeout(limit):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


@dataclass
class Bot:
    """A running bot against the fake server, on a journal with one account's status."""

    api: FakeBotApi
    service: TelegramService
    clock: ManualClock
    journal: Journal

    async def say(self, chat_id: int, text: str) -> None:
        """Send ``text`` from ``chat_id`` and wait until the bot has handled it."""
        before = self.service.handled
        self.api.message(chat_id, text)
        await until(lambda: self.service.handled > before, f"the bot handled {text!r}")

    async def press(self, chat_id: int, data: str) -> None:
        before = self.service.handled
        self.api.press(chat_id, data)
        await until(lambda: self.service.handled > before, f"the bot handled press {data!r}")

    async def telegram_events(self) -> list[dict[str, object]]:
        return [
            {"summary": e.summary, **e.data} for e in await self.journal.events(kinds=("telegram",))
        ]


async def write_status(journal: Journal, now: float) -> None:
    """Status rows as the daemon writes them: account main, cross at risk 0.4123."""
    row = ScopeRow(
        account="main",
        scope="cross",
        live=False,
        risk_rate=Decimal("0.4123"),
        warning_risk_ratio=Decimal("0.8"),
        liquidation_risk_ratio=Decimal("1"),
        observed_at=now,
        data_age_s=1.0,
    )
    iso = ScopeRow(
        account="main",
        scope="isolated:BTCUSDT",
        live=False,
        risk_rate=Decimal("0.6071"),
        warning_risk_ratio=Decimal("0.8"),
        liquidation_risk_ratio=Decimal("1"),
        observed_at=now,
        data_age_s=1.0,
    )
    await journal.write_status([("main", r.scope, r.to_record()) for r in (row, iso)], at=now)


def bot_settings(url: str, **over: object) -> TelegramSettings:
    data: dict[str, object] = {
        "enabled": True,
        "allowed_chats": (ALLOWED, ALSO_ALLOWED),
        "base_url": url,
        "poll_timeout": 1,
        "request_timeout": 2,
        "confirm_expiry": 60,
        **over,
    }
    return TelegramSettings.model_validate(data)


def make_service(
    url: str,
    journal_path: Path,
    clock: ManualClock,
    token: str = TOKEN,
    accounts: tuple[str, ...] = ("main", "alt"),
    **over: object,
) -> TelegramService:
    return TelegramService(
        bot_settings(url, **over),
        token=SecretStr(token),
        journal=journal_path,
        accounts=lambda: accounts,
        clock=clock,
        stale_after=30.0,
        retry_base=0.05,
    )


@pytest.fixture
async def api() -> FakeBotApi:
    return FakeBotApi(TOKEN)


@pytest.fixture
async def running(
    request: pytest.FixtureRequest, api: FakeBotApi, tmp_path: Path
) -> AsyncIterator[Bot]:
    """The bot, started and connected (``@pytest.mark.parametrize('running', [{...}],
    indirect=True)`` overrides settings)."""
    over: dict[str, object] = getattr(request, "param", {}) or {}
    clock = ManualClock()
    path = tmp_path / "journal.sqlite3"
    journal = await Journal.open(path)
    await write_status(journal, clock.now())
    async with serve(api) as url:
        service = make_service(url, path, clock, **over)
        await service.start()
        try:
            await until(service.connected.is_set, "the bot connected (getMe)")
            yield Bot(api, service, clock, journal)
        finally:
            await service.stop()
            await journal.close()
