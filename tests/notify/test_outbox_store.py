"""The journal-backed stores: alert outbox rows and their round trip, expiry, states."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import SecretStr

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import AppriseChannel, Outgoing
from riskd.notify.outbox_store import OutboxStore, alert_from_json, alert_to_json
from riskd.redact import register_secret
from riskd.severity import Severity

T0 = 1_700_000_000.0


def test_alert_json_round_trip() -> None:
    """Every field survives the outbox's JSON, Decimals exactly, enums by value."""
    alert = Alert(
        AlertKind.LIQUIDATED,
        Severity.CRITICAL,
        "liquidated",
        T0,
        account="a",
        scope="isolated:BTCUSDT",
        risk_rate=Decimal("1.0200000001"),
        risk_after=Decimal("0"),
        capped="max_action_usdt 5 USDT: asked 9 USDT",
        labels=MappingProxyType({"team": "x"}),
        tags=frozenset({"every-route"}),
    )
    assert alert_from_json(alert_to_json(alert)) == alert


async def test_pending_rows_expire_and_settle(tmp_path: Path) -> None:
    """Pending rows come back oldest first; older than max age are expired and counted;
    settled rows are not returned."""
    path = tmp_path / "journal.sqlite3"
    sqlite3.connect(path).close()
    store = await OutboxStore.open(path)
    old = Alert(AlertKind.ACTION, Severity.CRITICAL, "old", T0 - 90_000)
    new = Alert(AlertKind.ACTION, Severity.CRITICAL, "new", T0)
    await store.add("r1", "mail[0]", old, T0 - 90_000)
    await store.add("r2", "mail[0]", new, T0)
    await store.add("r3", "mail[0]", new, T0 + 1)
    await store.mark(["r3"], "delivered", T0 + 2)
    pending, expired = await store.pending(T0 + 10, 86_400)
    assert [p.ref for p in pending] == ["r2"] and pending[0].alert == new and expired == 1
    assert await store.states() == {"pending": 1, "delivered": 1}  # expired: deleted
    await store.close()


async def test_outbox_rows_hold_no_secret(tmp_path: Path) -> None:
    """A registered secret that slipped into an alert's text is redacted in the outbox row."""
    secret = "sk-outbox-SECRET-1234567890"
    register_secret(secret)
    path = tmp_path / "journal.sqlite3"
    sqlite3.connect(path).close()
    store = await OutboxStore.open(path)
    await store.add("r1", "mail[0]", Alert(AlertKind.ERROR, Severity.CRITICAL, secret, T0), T0)
    await store.close()
    with sqlite3.connect(path) as db:
        (payload,) = db.execute("SELECT payload FROM alert_outbox").fetchone()
    assert secret not in payload


async def test_channel_cuts_messages_to_its_limit(http_sink: Any, until: Any) -> None:
    """AppriseChannel cuts a message to its plugin's limit before sending, saying so."""
    channel = AppriseChannel("hook", 0, SecretStr(f"json://127.0.0.1:{http_sink.port}/h"), 5.0)
    channel.max_chars = 500
    body = "\n".join(f"line {i} " + "x" * 40 for i in range(100))
    result = await channel.send(Outgoing("T", body, Severity.INFO))
    assert result.ok
    sent = http_sink.json_bodies()[0]
    assert len(sent["title"]) + len(sent["message"]) <= 500
    assert sent["message"].splitlines()[-1].endswith("more lines)")
