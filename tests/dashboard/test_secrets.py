"""No secret reaches a page: every page, JSON answer and streamed event is scanned for the
API key, secret, passphrase, a bot token and the dashboard token."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.daemon.events import DaemonEvent, EventKind
from riskd.redact import register_secret

from ..daemon.harness import crash
from .conftest import GOOD_HEADERS, TOKEN, Dash, dashboard_for, sse_events

BOT_TOKEN = "123456789:AAH-distinctive-bot-token-value"


@pytest.mark.slow
async def test_no_secret_in_anything_served(dash: Dash) -> None:
    """Secrets planted in the status rows, the journal and a published event never appear in
    any answer of the dashboard."""
    world = dash.world
    world.settings.register_secrets()
    register_secret(BOT_TOKEN)
    register_secret(TOKEN)
    keys = world.sim.keys("alice")
    secrets = [keys.api_key, keys.secret, keys.passphrase, BOT_TOKEN, TOKEN]
    leak = " ".join(secrets)
    await crash(world, "BTCUSDT", D(30000), D(21000), D(100), 2.0)
    # Status rows are stored as given (no redaction on write): plant the secrets in one.
    rows = await world.daemon.journal.read_status()
    account, scope, _, data = rows[0]
    await world.daemon.journal.write_status(
        [(account, scope, {**data, "error": f"boom {leak}"})], at=world.clock.now()
    )
    await world.daemon.journal.set_meta("daemon", {"pid": 1, "note": leak})
    bodies = []
    for path in (
        "/dashboard/",
        "/dashboard/static/app.js",
        "/dashboard/static/app.css",
        "/dashboard/api/state",
        "/dashboard/api/journal",
        "/dashboard/api/journal?kind=intent",
        "/dashboard/nope",
    ):
        bodies.append((await dash.client.get(path)).text)
    for headers in (GOOD_HEADERS, {**GOOD_HEADERS, "x-riskd-token": "wrong-" + TOKEN}):
        r = await dash.client.post("/dashboard/api/pause", json={"account": None}, headers=headers)
        bodies.append(r.text)

    async def publish() -> None:
        event = DaemonEvent(EventKind.DECISION, world.clock.now(), f"planted {leak}", rule=leak)
        await world.daemon.events.publish(event)

    events = await sse_events(dashboard_for(world, refresh=60), 3, during=publish)
    bodies.append(repr(events))
    assert any("boom ***" in b for b in bodies), "the planted text was served, masked"
    assert any("planted ***" in b for b in bodies)
    for body in bodies:
        for secret in secrets:
            assert secret not in body
