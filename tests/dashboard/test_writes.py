"""Pause and resume from the dashboard: token, origin and body checks; journaled like
``riskd pause``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from riskd.dashboard.settings import DashboardSettings, DashboardSetupError

from .conftest import ORIGIN, TOKEN, Dash, dashboard_for

GOOD = {"origin": ORIGIN, "x-riskd-token": TOKEN, "content-type": "application/json"}


async def test_pause_with_token_is_journaled(dash: Dash) -> None:
    """A same-origin pause with the token pauses the account and journals it as a pause."""
    r = await dash.client.post("/dashboard/api/pause", json={"account": "alice"}, headers=GOOD)
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "actions paused for account alice"
    state = await dash.world.daemon.journal.pause_state()
    assert state.accounts == {"alice"}
    paused = await dash.world.daemon.journal.events(kinds=["paused"])
    assert paused[-1].account == "alice" and paused[-1].data["reason"].startswith("dashboard")
    r = await dash.client.post("/dashboard/api/resume", json={"account": None}, headers=GOOD)
    assert r.status_code == 200 and r.json()["text"] == "actions resumed for every account"
    assert not (await dash.world.daemon.journal.pause_state()).accounts


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": ORIGIN, "content-type": "application/json"}, 403),  # no token
        ({**GOOD, "x-riskd-token": TOKEN + "x"}, 403),  # wrong token
        ({**GOOD, "x-riskd-token": TOKEN[:-1]}, 403),  # a prefix of it
        ({"x-riskd-token": TOKEN, "content-type": "application/json"}, 403),  # no Origin
        ({**GOOD, "origin": "http://evil.example"}, 403),  # cross-site page
        ({**GOOD, "origin": "null"}, 403),  # sandboxed frame / file page
        ({**GOOD, "content-type": "text/plain"}, 415),  # a simple (form-like) request
    ],
)
async def test_write_refusals_change_nothing(
    dash: Dash, headers: dict[str, str], status: int
) -> None:
    """A write without the token, from another origin or not JSON is refused; no pause."""
    r = await dash.client.post(
        "/dashboard/api/pause", content=b'{"account": null}', headers=headers
    )
    assert r.status_code == status, r.text
    state = await dash.world.daemon.journal.pause_state()
    assert not state.global_paused and not state.accounts
    assert not await dash.world.daemon.journal.events(kinds=["paused"])


async def test_read_only_dashboard_refuses_every_write(dash: Dash) -> None:
    """With no write token configured, even a request carrying some token gets 403."""
    app = dashboard_for(dash.world, token=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        r = await c.post("/dashboard/api/pause", json={"account": None}, headers=GOOD)
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        assert (await c.get("/dashboard/api/state")).json()["writes"] is False
    assert not (await dash.world.daemon.journal.pause_state()).global_paused


async def test_bad_bodies_and_methods(dash: Dash) -> None:
    """An unknown account, a malformed body or a GET on a write path changes nothing."""
    for body, needle in (
        (b'{"account": "bob"}', "no account 'bob'"),
        (b'{"account": 5}', "account:"),
        (b"[1, 2]", "body:"),
        (b"{not json", "body:"),
        (b"x" * 5000, "body:"),
    ):
        r = await dash.client.post("/dashboard/api/pause", content=body, headers=GOOD)
        assert r.status_code == 400 and needle in r.json()["error"], body[:20]
    assert (await dash.client.get("/dashboard/api/pause")).status_code == 405
    assert not (await dash.world.daemon.journal.pause_state()).accounts


def test_token_settings(tmp_path: Path) -> None:
    """The token comes from the setting, a file or the credential directory; a short or
    unreadable one is refused naming where, never the value; no repr shows it."""
    assert DashboardSettings().resolve_token({}) is None
    settings = DashboardSettings(write_token=TOKEN)
    assert settings.resolve_token({}) == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "dashboard_token").write_text(TOKEN + "\n")
    assert DashboardSettings().resolve_token({"CREDENTIALS_DIRECTORY": str(creds)}) == TOKEN
    short = tmp_path / "short"
    short.write_text("abc12345\n")
    with pytest.raises(DashboardSetupError, match="shorter than 16") as info:
        DashboardSettings(write_token_file=short).resolve_token({})
    assert "abc12345" not in str(info.value)
    with pytest.raises(DashboardSetupError, match="cannot read"):
        DashboardSettings(write_token_file=tmp_path / "missing").resolve_token({})


async def test_token_guessing_is_slowed_down(dash: Dash) -> None:
    """After ten wrong tokens in a minute even the right one is refused (429) until the
    minute has passed; requests from another origin do not count."""
    wrong = {**GOOD, "x-riskd-token": "not-the-token-000000"}
    for _ in range(20):
        other = {**wrong, "origin": "http://evil.example"}
        r = await dash.client.post("/dashboard/api/pause", json={"account": None}, headers=other)
        assert r.status_code == 403
    for _ in range(10):
        r = await dash.client.post("/dashboard/api/pause", json={"account": None}, headers=wrong)
        assert r.status_code == 403
    r = await dash.client.post("/dashboard/api/pause", json={"account": None}, headers=GOOD)
    assert r.status_code == 429 and "too many wrong tokens" in r.json()["error"]
    assert not (await dash.world.daemon.journal.pause_state()).global_paused
    dash.world.clock.advance(61)
    r = await dash.client.post("/dashboard/api/pause", json={"account": None}, headers=GOOD)
    assert r.status_code == 200
