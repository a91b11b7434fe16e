"""The notifier with fake channels: non-blocking submit, retry, recovery, fallback, life signs."""

from __future__ import annotations

import asyncio
from typing import Any

from riskd.clock import ManualClock
from riskd.notify.alert import AlertKind
from riskd.notify.notifier import Notifier
from riskd.notify.recorder import MemoryRecorder
from riskd.notify.settings import NotifySettings, parse_notify_settings
from riskd.severity import Severity

T0 = 1_700_000_000.0


def settings(**extra: Any) -> NotifySettings:
    table: dict[str, Any] = {
        "routes": [
            {"name": "telegram", "urls": ["json://127.0.0.1:9/telegram"]},
            {"name": "email", "urls": ["json://127.0.0.1:9/email"], "severities": ["critical"]},
        ],
        "group_wait": 1,
        **extra,
    }
    return parse_notify_settings(table, "test")


async def test_submit_returns_before_any_delivery(alert: Any, fakes_cls: Any, until: Any) -> None:
    """submit is synchronous: the action right after it runs before any send is attempted."""
    clock = ManualClock(T0)
    events: list[str] = []
    fakes = fakes_cls(clock, events=events)
    notifier = Notifier(settings(group_wait=0), clock, channel_factory=fakes)
    await notifier.start()
    result = notifier.submit(alert(1, Severity.CRITICAL))
    events.append("action")
    assert result is None
    await until(lambda: notifier.status().messages_delivered == 2)
    assert events[0] == "action"
    assert sorted(events[1:]) == ["send:email[0]", "send:telegram[0]"]
    await notifier.stop(timeout=1)


async def test_stuck_channel_never_blocks_submit(alert: Any, fakes_cls: Any) -> None:
    """A channel whose send hangs does not slow submit: 100 more alerts queue at once."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(group_wait=0, send_timeout=30), clock, channel_factory=fakes)
    await notifier.start()
    fakes.channels["telegram[0]"].hang = asyncio.Event()
    notifier.submit(alert(0, Severity.INFO))
    await asyncio.sleep(0.01)
    order = []
    for i in range(1, 101):
        notifier.submit(alert(i, Severity.INFO))
        order.append(i)
    assert order == list(range(1, 101))
    assert notifier.status().queued == 101
    await notifier.stop(timeout=0.05)
    assert notifier.status().dropped == 101


async def test_flood_grouped_none_lost(alert: Any, fakes_cls: Any, until: Any) -> None:
    """200 alerts in a minute through the running notifier: every alert appears in some
    delivered message and the channel's rate stays ≤ 20 per 60 s of clock time."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(), clock, channel_factory=fakes)
    await notifier.start()
    severities = (Severity.INFO, Severity.WARNING)
    alerts = [alert(i, severities[i % 2], at=T0 + i * 0.3) for i in range(200)]
    for a in alerts:
        clock.set(max(clock.now(), a.at))
        notifier.submit(a)
        await asyncio.sleep(0)
    await until(lambda: notifier.status().queued == 0)
    channel = fakes.channels["telegram[0]"]
    times = [t for t, _ in channel.sent]
    assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= 20
    text = channel.text()
    assert all(a.title in text for a in alerts)
    assert len(channel.sent) < 200
    status = notifier.status()
    assert status.delivered == 200 and status.dropped == 0 and status.failed == 0
    await notifier.stop(timeout=1)


async def test_retry_and_recovery_most_severe_first(alert: Any, fakes_cls: Any, until: Any) -> None:
    """A failing channel is retried with backoff; failures are recorded and visible; when it
    recovers the waiting alerts are delivered, critical first."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    recorder = MemoryRecorder()
    notifier = Notifier(settings(group_wait=0), clock, recorder, channel_factory=fakes)
    await notifier.start()
    telegram = fakes.channels["telegram[0]"]
    telegram.failing = True
    for i, severity in enumerate(
        [Severity.INFO, Severity.WARNING, Severity.INFO, Severity.CRITICAL]
    ):
        notifier.submit(alert(i, severity))
    await until(lambda: telegram.attempts >= 3)
    status = notifier.status()
    assert status.failed >= 3 and status.retrying == 4 and status.queued >= 4
    route = status.routes[0]
    assert route.name == "telegram" and not route.healthy
    assert route.channels[0].last_error == "connection refused"
    assert status.last_error == "telegram[0]: connection refused"
    telegram.failing = False
    await until(lambda: notifier.status().queued == 0)
    assert telegram.sent[0][1].title.startswith("CRITICAL · FIRING · main/isolated:COIN3USDT")
    assert all(f"alert-00{i}" in telegram.text() for i in range(4))
    await until(lambda: len(recorder.outcomes("delivered")) >= 5)
    retrying = recorder.outcomes("retrying")
    assert retrying and retrying[0].route == "telegram[0]"
    assert retrying[0].detail == "connection refused; retry in 2s"
    assert notifier.status().routes[0].healthy
    await notifier.stop(timeout=1)


async def test_fallback_route_used_when_primary_fails(
    alert: Any, fakes_cls: Any, until: Any
) -> None:
    """An info alert (Telegram only) reaches the fallback route after 2 failed attempts."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(fallback="email"), clock, channel_factory=fakes)
    await notifier.start()
    fakes.channels["telegram[0]"].failing = True
    notifier.submit(alert(7, Severity.INFO))
    email = fakes.channels["email[0]"]
    await until(lambda: len(email.sent) == 1)
    assert "alert-007" in email.text()
    assert notifier.status().fallback_copies == 1
    assert fakes.channels["telegram[0]"].attempts >= 2
    await notifier.stop(timeout=0.1)


async def test_repeats_are_deduplicated(alert: Any, fakes_cls: Any, until: Any) -> None:
    """The same firing alert submitted every cycle is delivered once within repeat_interval."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(repeat_interval=3600), clock, channel_factory=fakes)
    await notifier.start()
    for _ in range(50):
        notifier.submit(alert(1, Severity.WARNING))
        clock.advance(10)
        await asyncio.sleep(0)
    await until(lambda: notifier.status().queued == 0)
    assert len(fakes.channels["telegram[0]"].sent) == 1
    assert notifier.status().deduplicated == 49
    await notifier.stop(timeout=1)


async def test_lifecycle_start_crash_and_clean_stop(fakes_cls: Any, until: Any) -> None:
    """Restart after a crash is a critical alert; a clean stop sends its message before
    stop() returns."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(), clock, channel_factory=fakes)
    await notifier.start()
    notifier.lifecycle_started(crashed_before=True, detail="last run ended at 12:00 mid-action")
    email = fakes.channels["email[0]"]
    await until(lambda: len(email.sent) == 1)
    title = email.sent[0][1].title
    assert title == "CRITICAL · RISKD · restarted after a crash"
    assert "last run ended at 12:00 mid-action" in email.sent[0][1].body
    await notifier.stop(timeout=1)
    telegram = fakes.channels["telegram[0]"]
    assert telegram.sent[-1][1].title == "WARNING · RISKD · stopped (clean stop)"
    assert not notifier.status().running


async def test_plain_start_is_info(fakes_cls: Any, until: Any) -> None:
    """A normal start sends an info message (Telegram only)."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(lifecycle_messages=True), clock, channel_factory=fakes)
    await notifier.start()
    notifier.lifecycle_started(crashed_before=False)
    await until(lambda: notifier.status().messages_delivered == 1)
    assert fakes.channels["telegram[0]"].sent[0][1].title == "INFO · RISKD · started"
    assert fakes.channels["email[0]"].sent == []
    await notifier.stop(timeout=1)


async def test_stop_records_undelivered_and_later_submit_is_safe(
    alert: Any, fakes_cls: Any
) -> None:
    """Alerts still failing at stop are recorded as failed; submit after stop only counts."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    recorder = MemoryRecorder()
    notifier = Notifier(settings(group_wait=0), clock, recorder, channel_factory=fakes)
    await notifier.start()
    fakes.channels["telegram[0]"].failing = True
    notifier.submit(alert(1, Severity.INFO))
    await asyncio.sleep(0.01)
    await notifier.stop(timeout=0.2)
    failed = recorder.outcomes("failed")
    assert [(r.alert_key, r.route) for r in failed] == [
        ("margin-guard:isolated:COIN1USDT", "telegram[0]")
    ]
    notifier.submit(alert(2))
    assert notifier.status().dropped == 2


async def test_queue_bound_drops_info_first_and_records(
    alert: Any, fakes_cls: Any, until: Any
) -> None:
    """Past queue_size the least severe, oldest alerts are dropped, counted and recorded."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    recorder = MemoryRecorder()
    notifier = Notifier(settings(queue_size=10, group_wait=30), clock, recorder, fakes)
    for i in range(10):
        notifier.submit(alert(i, Severity.INFO))
    for i in range(10, 15):
        notifier.submit(alert(i, Severity.WARNING))
    status = notifier.status()
    assert status.dropped == 5 and status.queued == 10
    await notifier.start()
    await until(lambda: len(recorder.outcomes("dropped")) == 5)
    keys = [r.alert_key for r in recorder.outcomes("dropped")]
    assert keys == [f"margin-guard:isolated:COIN{i}USDT" for i in range(5)]
    await notifier.stop(timeout=1)


async def test_no_route_and_broken_channel_are_contained(
    alert: Any, fakes_cls: Any, until: Any
) -> None:
    """An alert no route takes is recorded as dropped; a channel that raises is a failure,
    retried, and the worker lives on; submit of garbage does not raise."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    recorder = MemoryRecorder()
    only_critical = parse_notify_settings(
        {
            "routes": [{"name": "email", "urls": ["json://h/x"], "severities": ["critical"]}],
            "group_wait": 0,
        },
        "t",
    )
    notifier = Notifier(only_critical, clock, recorder, fakes)
    await notifier.start()
    notifier.submit(alert(1, Severity.INFO))
    email = fakes.channels["email[0]"]
    email.explode = RuntimeError("plugin bug")
    notifier.submit(alert(2, Severity.CRITICAL))
    notifier.submit(object())  # type: ignore[arg-type]
    await until(lambda: len(email.sent) == 1)
    assert recorder.outcomes("dropped")[0].detail == "no route takes this alert"
    status = notifier.status()
    assert status.failed == 1 and status.delivered == 1 and status.healthy
    assert status.last_error is not None
    await notifier.stop(timeout=1)


async def test_kind_resolved_goes_through(alert: Any, fakes_cls: Any, until: Any) -> None:
    """A resolved alert after a firing one is delivered as a RESOLVED message."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(group_wait=0, group_interval=0), clock, channel_factory=fakes)
    await notifier.start()
    notifier.submit(alert(1, Severity.WARNING))
    await until(lambda: notifier.status().messages_delivered == 1)
    notifier.submit(alert(1, Severity.WARNING, AlertKind.RESOLVED))
    await until(lambda: notifier.status().messages_delivered == 2)
    assert fakes.channels["telegram[0]"].sent[1][1].title.startswith("WARNING · RESOLVED · ")
    await notifier.stop(timeout=1)


async def test_long_failure_makes_notifier_unhealthy(
    alert: Any, fakes_cls: Any, until: Any
) -> None:
    """A channel failing for longer than unhealthy_after makes healthy() false (the heartbeat
    then stops); recovery makes it healthy again."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    s = settings(group_wait=0, unhealthy_after=100, retry_initial=10, retry_max=10)
    notifier = Notifier(s, clock, channel_factory=fakes)
    await notifier.start()
    assert notifier.healthy()
    fakes.channels["telegram[0]"].failing = True
    notifier.submit(alert(1, Severity.INFO))
    await until(lambda: notifier.status().failed >= 1)
    await until(lambda: clock.now() - T0 > 100)
    assert not notifier.healthy()
    fakes.channels["telegram[0]"].failing = False
    await until(lambda: notifier.status().delivered == 1)
    assert notifier.healthy()
    await notifier.stop(timeout=1)


async def test_no_fallback_copy_when_fallback_already_has_it(
    alert: Any, fakes_cls: Any, until: Any
) -> None:
    """A critical alert already routed to the fallback route is not copied there again."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(settings(fallback="email", group_wait=0), clock, channel_factory=fakes)
    await notifier.start()
    fakes.channels["telegram[0]"].failing = True
    notifier.submit(alert(1, Severity.CRITICAL))
    await until(lambda: fakes.channels["telegram[0]"].attempts >= 3)
    assert len(fakes.channels["email[0]"].sent) == 1
    assert notifier.status().fallback_copies == 0
    await notifier.stop(timeout=0.1)


async def test_stop_before_start_records_queued(alert: Any, fakes_cls: Any) -> None:
    """Stopping a notifier that never started records what was queued as failed."""
    clock = ManualClock(T0)
    recorder = MemoryRecorder()
    notifier = Notifier(settings(), clock, recorder, fakes_cls(clock))
    notifier.submit(alert(1, Severity.CRITICAL))
    await notifier.stop()
    assert [r.route for r in recorder.outcomes("failed")] == ["telegram[0]", "email[0]"]
    assert notifier.status().dropped == 2


async def test_a_failed_worker_is_restarted_and_its_channel_delivers_again(
    alert: Any, fakes_cls: Any, until: Any, caplog: Any
) -> None:
    """A lane worker that fails outside ``send`` (a channel plug-in's bug in a property read
    after a failed send) is restarted after a pause, and says so: the alert it was sending
    and the next ones are still delivered, and the failure is in last_error."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    s = settings(group_wait=0, group_interval=0, retry_initial=1, retry_max=1)
    notifier = Notifier(s, clock, channel_factory=fakes)
    await notifier.start()
    channel = fakes.channels["telegram[0]"]

    class Buggy(type(channel)):  # type: ignore[misc]
        fired = False

        @property  # type: ignore[override]
        def redacted_url(self) -> str:
            if not self.failing or Buggy.fired:
                return "fake://***"
            Buggy.fired, self.failing = True, False  # the destination is back; bug fires once
            raise KeyError("plugin bug")

        @redacted_url.setter
        def redacted_url(self, value: str) -> None:
            pass

    channel.__class__ = Buggy
    channel.failing = True
    notifier.submit(alert(1, Severity.WARNING))
    await until(lambda: len(channel.sent) == 1)  # (status() reads redacted_url too)
    assert Buggy.fired and notifier.status().delivered == 1
    assert "telegram[0] worker failed: KeyError" in (notifier.status().last_error or "")
    assert any("restarting in 1s" in r.getMessage() for r in caplog.records)
    notifier.submit(alert(2, Severity.WARNING))
    await until(lambda: notifier.status().delivered == 2)
    assert notifier.healthy()
    await notifier.stop(timeout=1)
