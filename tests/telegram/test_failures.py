"""A bot that cannot work logs why and stays out of the way: no exception escapes."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from riskd.clock import ManualClock

from .conftest import make_service, until


def _closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_refused_connection_is_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No Bot API server at all: each failed poll is a warning, polling goes on, and
    stop() ends it."""
    caplog.set_level(logging.WARNING, logger="riskd.telegram.service")
    url = f"http://127.0.0.1:{_closed_port()}/bot"
    service = make_service(url, tmp_path / "journal.sqlite3", ManualClock())
    await service.start()

    def failures() -> int:
        return sum("telegram: polling failed" in r.getMessage() for r in caplog.records)

    try:
        await until(lambda: failures() >= 2, "two failed polls logged")
    finally:
        await asyncio.wait_for(service.stop(), 2.0)
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert "NetworkError" in caplog.records[0].getMessage()


async def test_unusable_journal_turns_the_bot_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal path that cannot be opened: one error line, the task ends, nothing raised."""
    caplog.set_level(logging.ERROR, logger="riskd.telegram.service")
    (tmp_path / "journal.sqlite3").mkdir()
    service = make_service("http://127.0.0.1:9/bot", tmp_path / "journal.sqlite3", ManualClock())
    await service.start()
    await until(
        lambda: any("the bot is off" in r.getMessage() for r in caplog.records),
        "the failure logged",
    )
    await asyncio.wait_for(service.stop(), 2.0)
    assert not service.connected.is_set()
