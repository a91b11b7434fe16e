"""Delivery through apprise to real local servers: SMTP (aiosmtpd) and an HTTP json:// sink."""

from __future__ import annotations

import asyncio
import logging
import socket
from decimal import Decimal
from typing import Any

import apprise
import pytest

from riskd.clock import ManualClock, WallClock
from riskd.notify.alert import AlertKind
from riskd.notify.channel import AppriseChannel, AppriseChannelFactory, ChannelError
from riskd.notify.notifier import Notifier
from riskd.notify.recorder import MemoryRecorder, Outcome
from riskd.notify.settings import parse_notify_settings
from riskd.notify.templates import render_incident
from riskd.severity import Severity

T0 = 1_700_000_000.0
#: apprise waits 5.5 s between two e-mails on one URL by default; retries here are quicker.
QUICK = AppriseChannelFactory(min_interval=0)


def one_route(url: str, **extra: Any) -> Any:
    table = {"routes": [{"name": "mail", "urls": [url]}], "group_wait": 0, **extra}
    return parse_notify_settings(table, "test")


class EventRecorder(MemoryRecorder):
    """A recorder that also writes each outcome into a shared, ordered event list."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    async def record(self, alert_key: str, route: str, outcome: Outcome, detail: str) -> None:
        self.events.append(f"record:{outcome}")
        await super().record(alert_key, route, outcome, detail)


async def test_email_arrives_with_subject_and_body(smtp_sink: Any, alert: Any, until: Any) -> None:
    """A critical action alert reaches the SMTP server: subject is the title, body the lines."""
    clock = ManualClock(T0)
    notifier = Notifier(one_route(smtp_sink.url()), clock)
    await notifier.start()
    a = alert(
        1,
        Severity.CRITICAL,
        AlertKind.ACTION,
        dry_run=True,
        action="repay 120 USDT",
        risk_rate=Decimal("0.93"),
    )
    notifier.submit(a)
    await until(lambda: len(smtp_sink.messages) == 1)
    message = smtp_sink.messages[0]
    assert message["Subject"].startswith(
        "CRITICAL · ACTION · DRY-RUN · main/isolated:COIN1USDT · riskRate 0.93 · would repay 120"
    )
    assert message["To"] == "me@example.com"
    body = smtp_sink.bodies()[0]
    assert "DRY-RUN: would repay 120 USDT" in body
    assert "riskRate 0.93 · warning 0.8 · liquidation 1" in body
    assert "main · isolated:COIN1USDT · rule margin-guard" in body
    await notifier.stop(timeout=1)


async def test_json_endpoint_receives_payload(http_sink: Any, alert: Any, until: Any) -> None:
    """json:// notifications are POSTed to the local endpoint with title, message and type."""
    clock = ManualClock(T0)
    notifier = Notifier(one_route(f"json://127.0.0.1:{http_sink.port}/hook"), clock)
    await notifier.start()
    notifier.submit(alert(2, Severity.CRITICAL))
    await until(lambda: len(http_sink.requests) == 1)
    method, path, _ = http_sink.requests[0]
    assert (method, path) == ("POST", "/hook")
    payload = http_sink.json_bodies()[0]
    assert payload["title"] == (
        "CRITICAL · FIRING · main/isolated:COIN2USDT · riskRate 0.8123 · alert-002 risk high"
    )
    assert payload["message"].splitlines()[0] == "riskRate 0.8123 · warning 0.8 · liquidation 1"
    assert payload["type"] == "failure"
    await notifier.stop(timeout=1)


async def test_http_500_is_retried(http_sink: Any, alert: Any, until: Any) -> None:
    """An endpoint answering 500 is a failure with a reason; it is retried until it works."""
    http_sink.status = 500
    settings = one_route(
        f"json://127.0.0.1:{http_sink.port}/hook", retry_initial=0.02, retry_max=0.05
    )
    notifier = Notifier(settings, WallClock(), channel_factory=QUICK)
    await notifier.start()
    notifier.submit(alert(3, Severity.WARNING))
    await until(lambda: notifier.status().failed >= 1)
    assert "500" in (notifier.status().last_error or "")
    http_sink.status = 200
    await until(lambda: notifier.status().delivered == 1)
    assert len(http_sink.requests) >= 2
    await notifier.stop(timeout=1)


async def test_smtp_refused_then_back(smtp_later: Any, alert: Any, until: Any) -> None:
    """With the SMTP server down, the action after submit happens first; the alert is
    retried and delivered once the server is back."""
    events: list[str] = []
    settings = one_route(smtp_later.url(), retry_initial=0.02, retry_max=0.05)
    notifier = Notifier(settings, WallClock(), EventRecorder(events), QUICK)
    await notifier.start()
    notifier.submit(alert(4, Severity.CRITICAL))
    events.append("action")
    await until(lambda: notifier.status().failed >= 2)
    assert events[0] == "action"
    assert "record:retrying" in events
    assert "Connection error" in (notifier.status().last_error or "")
    smtp_later.start()
    await until(lambda: len(smtp_later.messages) == 1)
    await until(lambda: events[-1] == "record:delivered")
    assert smtp_later.messages[0]["Subject"].endswith("· alert-004 risk high")
    await notifier.stop(timeout=1)


async def test_smtp_timeout_then_back(smtp_cls: Any, alert: Any, until: Any) -> None:
    """An SMTP server that accepts but never answers times out; the alert is delivered by
    the real server that takes its place."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    sink = smtp_cls(port)
    settings = one_route(sink.url(cto="0.3"), retry_initial=0.02, retry_max=0.05, send_timeout=2)
    events: list[str] = []
    notifier = Notifier(settings, WallClock(), EventRecorder(events), QUICK)
    await notifier.start()
    try:
        notifier.submit(alert(5, Severity.CRITICAL))
        events.append("action")
        await until(lambda: "record:retrying" in events)
        assert events[0] == "action"
        assert "Connection error" in (notifier.status().last_error or "")
        silent.close()
        sink.start()
        await until(lambda: len(sink.messages) == 1, limit=5)
        assert "alert-005" in sink.messages[0]["Subject"]
    finally:
        silent.close()
        await notifier.stop(timeout=1)
        sink.stop()


async def test_secrets_absent_from_logs_reprs_and_status(
    smtp_later: Any,
    http_sink: Any,
    alert: Any,
    until: Any,
    secrets: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bot token, SMTP password and ping key appear in no log line, repr, status or record."""
    caplog.set_level(logging.DEBUG)
    for library in ("apprise", "httpx"):  # other tests may have quietened these loggers
        caplog.set_level(logging.DEBUG, logger=library)
    ping_key = "ping-key-5ec2e7-0001"
    table = {
        "routes": [
            {"name": "mail", "urls": [smtp_later.url()]},
            {
                "name": "hook",
                "urls": [f"json://user:{secrets.smtp_password}@127.0.0.1:{http_sink.port}/h"],
            },
        ],
        "group_wait": 0,
        "retry_initial": 0.02,
        "retry_max": 0.05,
        "heartbeat_url": f"http://127.0.0.1:{http_sink.port}/ping/{ping_key}",
        "heartbeat_interval": 0.05,
    }
    settings = parse_notify_settings(table, "test")
    recorder = MemoryRecorder()
    notifier = Notifier(settings, WallClock(), recorder, QUICK)
    telegram = AppriseChannel("phone", 0, _secret(f"tgram://{secrets.bot_token}/-100123"), 5)
    await notifier.start()
    notifier.submit(alert(6, Severity.CRITICAL))
    await until(lambda: notifier.status().failed >= 2)
    smtp_later.start()
    await until(lambda: notifier.status().delivered == 2)
    await until(lambda: any("/ping/" in p for _, p, _ in http_sink.requests))
    texts = [
        repr(notifier),
        repr(telegram),
        repr(settings),
        str(notifier.status()),
        repr(recorder.records),
        telegram.label,
        telegram.redacted_url,
    ]
    await notifier.stop(timeout=1)
    texts.append(str(notifier.status()))
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        if not record.name.startswith("mail.log"):  # the test's own SMTP server, not riskd
            texts.append(formatter.format(record))
    assert any(r.name == "apprise" for r in caplog.records)
    assert any(r.name == "httpx" for r in caplog.records)
    joined = "\n".join(texts)
    for secret in (secrets.smtp_password, secrets.bot_token, ping_key):
        assert secret not in joined
    assert "tgram://***" in joined


def test_telegram_urls_validated_and_message_fits(secrets: Any, alert: Any) -> None:
    """A good tgram:// URL builds a channel (no network); a bad one names the route; our
    messages fit the Telegram plugin's length limit."""
    url = f"tgram://{secrets.bot_token}/-1001234567"
    channel = AppriseChannel("phone", 0, _secret(url), 5)
    assert (channel.label, channel.redacted_url) == ("phone[0]", "tgram://***")
    with pytest.raises(ChannelError, match=r"notify route 'phone' url #2 \(tgram://\*\*\*\)"):
        AppriseChannel("phone", 1, _secret("tgram://nope/1"), 5)
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None
    m = render_incident([alert(1, Severity.CRITICAL, AlertKind.ACTION, action="repay 1 BTC")])
    assert len(m.title) + len(m.body) + 2 <= plugin.body_maxlen


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


async def test_submit_is_not_async(alert: Any) -> None:
    """submit is a plain function (not a coroutine): callers cannot await the network."""
    notifier = Notifier(one_route("json://127.0.0.1:9/x"), ManualClock(T0))
    assert not asyncio.iscoroutinefunction(notifier.submit)
    assert notifier.submit(alert(1)) is None
    await notifier.stop(timeout=0.1)
