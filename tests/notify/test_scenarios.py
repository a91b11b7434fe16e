"""Issue 16's notification scenarios against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import AppriseChannelFactory
from riskd.notify.notifier import Notifier
from riskd.notify.outbox_store import OutboxStore
from riskd.notify.settings import NotifySettings, parse_notify_settings
from riskd.severity import Severity

T0 = 1_700_000_000.0
QUICK = AppriseChannelFactory(min_interval=0)


class SteppedClock:
    """Virtual time that moves only when the test steps it; ``sleep`` waits for the steps."""

    speed = 1.0

    def __init__(self, start: float = T0) -> None:
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self._now

    def now_ms(self) -> int:
        return round(self._now * 1000)

    async def sleep(self, seconds: float) -> None:
        end = self._now + max(0.0, seconds)
        while self._now < end:
            self._moved.clear()
            await self._moved.wait()

    async def step(self, seconds: float = 1.0) -> None:
        self._now += seconds
        self._moved.set()
        for _ in range(3):  # let the workers run (and a delivery in a thread finish)
            await asyncio.sleep(0.001)


def mail_settings(url: str, **extra: Any) -> NotifySettings:
    table = {"routes": [{"name": "mail", "urls": [url]}], "lifecycle_messages": False, **extra}
    return parse_notify_settings(table, "test")


def stale(scope: str | None, at: float, *, rule: str | None = None) -> Alert:
    kind = AlertKind.ERROR if rule else AlertKind.STALE
    return Alert(
        kind=kind,
        severity=Severity.CRITICAL,
        title=f"{rule} cannot be evaluated" if rule else "data too old",
        at=at,
        account="alice",
        scope=scope,
        rule=rule,
        incident=f"{'rule:' + rule if rule else 'stale'}:{scope}",
    )


def fresh(scope: str | None, at: float, *, rule: str | None = None) -> Alert:
    return Alert(
        kind=AlertKind.RESOLVED,
        severity=Severity.INFO,
        title="fresh again",
        at=at,
        account="alice",
        scope=scope,
        rule=rule,
        incident=f"{'rule:' + rule if rule else 'stale'}:{scope}",
    )


async def run_timeline(
    notifier: Notifier, clock: SteppedClock, timeline: dict[int, list[Alert]], end: int
) -> None:
    for second in range(end):
        for alert in timeline.get(second, []):
            notifier.submit(alert)
        await clock.step(1.0)


@pytest.mark.slow
async def test_action_mail_names_action_and_amount_never_resolved(
    smtp_sink: Any, until: Any
) -> None:
    """Firing, repay and resolve of one scope: the action's mail subject holds ACTION and the
    amount; no mail mentioning the repay is titled RESOLVED."""
    clock = SteppedClock()
    notifier = Notifier(mail_settings(smtp_sink.url()), clock, channel_factory=QUICK)
    await notifier.start()
    base = {"account": "alice", "scope": "isolated:BTCUSDT", "rule": "de-leverage"}
    rate = {"risk_rate": Decimal("0.86"), "incident": "de-leverage:isolated:BTCUSDT"}
    timeline = {
        0: [Alert(AlertKind.FIRING, Severity.WARNING, "de-leverage firing", T0, **base, **rate)],
        1: [
            Alert(
                AlertKind.ACTION,
                Severity.WARNING,
                "repay 1200 USDT: done",
                T0 + 1,
                action="repay 1200 USDT",
                outcome="accepted; riskRate 0.86 → 0.55",
                **base,
                **rate,
            )
        ],
        3: [
            Alert(
                AlertKind.RESOLVED,
                Severity.WARNING,
                "de-leverage resolved",
                T0 + 3,
                incident="de-leverage:isolated:BTCUSDT",
                **base,
            )
        ],
    }
    await run_timeline(notifier, clock, timeline, 120)
    await until(lambda: notifier.status().queued == 0 and len(smtp_sink.messages) >= 2)
    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert subjects[0].startswith("WARNING · ACTION · alice/isolated:BTCUSDT · riskRate 0.86")
    assert "repay 1200 USDT" in subjects[0]
    for subject, body in zip(subjects, smtp_sink.bodies(), strict=True):
        if "repay 1200 USDT" in subject + body:
            assert "RESOLVED" not in subject
    assert subjects[-1].startswith("WARNING · RESOLVED · alice/isolated:BTCUSDT")
    await notifier.stop(timeout=1)


@pytest.mark.slow
async def test_70s_outage_sends_at_most_two_mails(smtp_sink: Any, until: Any) -> None:
    """A 70 s outage over 12 scopes (built-in and per-rule stale alerts, staggered over a
    few seconds) produces at most 2 mails: grouping by account plus inhibition."""
    clock = SteppedClock()
    notifier = Notifier(mail_settings(smtp_sink.url()), clock, channel_factory=QUICK)
    await notifier.start()
    scopes = [f"isolated:C{i}USDT" for i in range(12)]
    timeline: dict[int, list[Alert]] = {}
    for i, scope in enumerate(scopes):
        t = 30 + i % 2  # detected over two poll cycles
        timeline.setdefault(t, []).append(stale(scope, T0 + t, rule="de-leverage"))
        timeline.setdefault(t, []).append(stale(scope, T0 + t))
        timeline.setdefault(100, []).append(fresh(scope, T0 + 100))
        timeline.setdefault(101, []).append(fresh(scope, T0 + 101, rule="de-leverage"))
    await run_timeline(notifier, clock, timeline, 240)
    await until(lambda: notifier.status().queued == 0)
    await asyncio.sleep(0.1)
    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert 1 <= len(subjects) <= 2, subjects
    assert subjects[0].startswith("CRITICAL · STALE · alice/isolated:C")
    assert all("de-leverage" not in body for body in smtp_sink.bodies())
    assert notifier.status().suppressed >= 12
    await notifier.stop(timeout=1)


@pytest.mark.slow
async def test_whipsaw_sends_a_few_mails(smtp_sink: Any, until: Any) -> None:
    """A rule flipping firing/resolved every 15 s for 3 minutes sends at most 2 mails: its
    first state and the state it settles in."""
    clock = SteppedClock()
    notifier = Notifier(mail_settings(smtp_sink.url()), clock, channel_factory=QUICK)
    await notifier.start()
    timeline: dict[int, list[Alert]] = {}
    for n, t in enumerate(range(0, 180, 15)):
        kind = AlertKind.FIRING if n % 2 == 0 else AlertKind.RESOLVED
        timeline[t] = [
            Alert(
                kind,
                Severity.WARNING,
                "margin-guard",
                T0 + t,
                account="alice",
                scope="cross",
                rule="margin-guard",
                incident="margin-guard:cross",
                risk_rate=Decimal("0.8"),
            )
        ]
    await run_timeline(notifier, clock, timeline, 300)
    await until(lambda: notifier.status().queued == 0)
    await asyncio.sleep(0.1)
    assert 1 <= len(smtp_sink.messages) <= 2, [m["Subject"] for m in smtp_sink.messages]
    await notifier.stop(timeout=1)


async def test_outbox_survives_a_restart(smtp_later: Any, tmp_path: Path, until: Any) -> None:
    """An action not yet delivered when the notifier dies is mailed by the next notifier."""
    journal = tmp_path / "journal.sqlite3"
    clock = SteppedClock()
    store = await OutboxStore.open(journal)
    first = Notifier(
        mail_settings(smtp_later.url(), retry_initial=600, retry_max=600),
        clock,
        channel_factory=QUICK,
        outbox_store=store,
    )
    await first.start()
    action = Alert(
        AlertKind.ACTION,
        Severity.CRITICAL,
        "repay 7 USDT: done",
        T0,
        account="alice",
        scope="cross",
        action="repay 7 USDT",
    )
    first.submit(action)
    await clock.step(0.0)
    assert (await store.states()) == {"pending": 1}
    await first.stop(timeout=0.2)  # the SMTP server is down: nothing delivered
    await store.close()
    smtp_later.start()
    store = await OutboxStore.open(journal)
    second = Notifier(
        mail_settings(smtp_later.url()), clock, channel_factory=QUICK, outbox_store=store
    )
    await second.start()
    await clock.step(3.0)
    await until(lambda: len(smtp_later.messages) == 1)
    assert "ACTION" in smtp_later.messages[0]["Subject"]
    assert "repay 7 USDT" in smtp_later.messages[0]["Subject"]
    await second.stop(timeout=1)
    assert (await store.states()) == {"delivered": 1}
    await store.close()
