"""The bot token never appears in logs, the journal, reprs or exception texts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from riskd.clock import ManualClock
from riskd.daemon.journal import Journal

from .conftest import ALLOWED, TOKEN, Bot, make_service, until, write_status
from .fakebot import FakeBotApi, serve

WRONG = "9999:WRONG-token-Qm3rT-never-shown"


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record, formatted with its traceback, except the fake server's own
    (uvicorn logs the request lines it receives, which carry the token by design)."""
    handler = caplog.handler
    return "\n".join(handler.format(r) for r in caplog.records if not r.name.startswith("uvicorn"))


def _files(path: Path) -> bytes:
    """The journal database with its WAL, as bytes."""
    out = b""
    for p in path.parent.glob(path.name + "*"):
        out += p.read_bytes()
    return out


async def test_token_never_logged_or_journaled(
    running: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole session at DEBUG (every library logger included): no log line, journal row
    or repr holds the token, though every request URL carries it."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # an earlier test may have quieted it
    await running.say(ALLOWED, "/status")
    await running.say(ALLOWED, "/pause")
    ok, _ = running.api.buttons(ALLOWED)
    await running.press(ALLOWED, ok)
    await running.press(ALLOWED, ok)
    await running.say(ALLOWED, "/nonsense")
    assert any("getUpdates" in r.getMessage() for r in caplog.records), "DEBUG was captured"
    assert "/bot***/getUpdates" in _logged(caplog), "URLs are logged, masked"
    assert TOKEN not in _logged(caplog)
    assert TOKEN.encode() not in _files(running.journal.path)
    assert TOKEN not in repr(running.service) + repr(running.service.settings)
    assert TOKEN not in str([c.params for c in running.api.calls])


async def test_rejected_token_is_masked_in_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A token the server rejects (its error text quotes the token) is logged masked, and
    the bot keeps retrying without raising."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # an earlier test may have quieted it
    api = FakeBotApi(TOKEN)
    clock = ManualClock()
    path = tmp_path / "journal.sqlite3"
    journal = await Journal.open(path)
    await write_status(journal, clock.now())
    async with serve(api) as url:
        service = make_service(url, path, clock, token=WRONG)
        await service.start()
        try:
            await until(lambda: len(api.sent("getMe")) >= 2, "getMe was retried")
            assert not service.connected.is_set()
        finally:
            await service.stop()
            await journal.close()
    failures = [r for r in caplog.records if "telegram: polling failed" in r.getMessage()]
    assert failures and all(r.levelno == logging.WARNING for r in failures)
    assert "InvalidToken" in failures[0].getMessage()
    assert WRONG not in _logged(caplog)
    assert WRONG.encode() not in _files(path)
