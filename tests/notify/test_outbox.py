"""One channel's outbox: flood control by grouping (never dropping), backoff, bounded memory."""

from __future__ import annotations

import dataclasses
from typing import Any

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.outbox import Batch, Outbox
from riskd.notify.settings import NotifySettings
from riskd.severity import Severity

T0 = 1_700_000_000.0


def drive(box: Outbox, arrivals: list[tuple[float, Alert]]) -> list[tuple[float, Batch]]:
    """Run the outbox like the worker does, in virtual time; every send succeeds."""
    sent: list[tuple[float, Batch]] = []
    now, i = arrivals[0][0], 0
    while True:
        while i < len(arrivals) and arrivals[i][0] <= now:
            assert box.add(arrivals[i][1], arrivals[i][0]) == []
            i += 1
        step = box.next(now)
        if isinstance(step, Batch):
            box.ack(step, now)
            sent.append((now, step))
            continue
        wake = [t for t in (step, arrivals[i][0] if i < len(arrivals) else None) if t is not None]
        if not wake:
            return sent
        now = max(now, min(wake))


def max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if s <= t < s + window) for s in times)


def test_flood_of_200_in_a_minute_is_grouped_none_lost(alert: Any) -> None:
    """200 alerts (distinct incidents) in one minute: every one is delivered, in digests,
    and the channel never gets more than 20 messages in any 60-second window."""
    settings = NotifySettings(flood_limit=20, flood_window=60, group_wait=1, group_by=("incident",))
    box = Outbox(settings)
    severities = (Severity.INFO, Severity.WARNING, Severity.CRITICAL)
    alerts = [alert(i, severities[i % 3], at=T0 + i * 0.3) for i in range(200)]
    sent = drive(box, [(a.at, a) for a in alerts])
    times = [t for t, _ in sent]
    assert max_in_window(times, 60) <= 20
    delivered = [a for _, b in sent for a in b.alerts]
    assert sorted(a.title for a in delivered) == sorted(a.title for a in alerts)
    text = "\n".join(f"{b.message.title}\n{b.message.body}" for _, b in sent)
    assert all(a.title in text for a in alerts)
    assert any(b.digest for _, b in sent)
    assert len(sent) < 60
    assert times[-1] - T0 < 200  # drained within a few minutes, not hours
    assert len(box) == 0


def test_sustained_flood_stays_under_limit(alert: Any) -> None:
    """Alerts every second for ten minutes: still ≤ 20 per minute, every alert delivered."""
    box = Outbox(NotifySettings(flood_limit=20, flood_window=60, group_wait=0))
    alerts = [alert(i, at=T0 + i) for i in range(600)]
    sent = drive(box, [(a.at, a) for a in alerts])
    assert max_in_window([t for t, _ in sent], 60) <= 20
    assert sum(len(b.alerts) for _, b in sent) == 600


def test_group_wait_collects_one_incident(alert: Any) -> None:
    """Firing and the action that follows within group_wait go out as one message."""
    box = Outbox(NotifySettings(group_wait=2))
    fired = alert(1, Severity.WARNING)
    acted = alert(1, Severity.CRITICAL, AlertKind.ACTION, at=T0 + 1, action="repay 5 USDT")
    sent = drive(box, [(T0, fired), (T0 + 1, acted)])
    assert len(sent) == 1
    assert sent[0][0] == T0 + 2
    assert sorted(sent[0][1].alerts, key=lambda a: a.at) == [fired, acted]
    assert "repay 5 USDT" in sent[0][1].message.body.splitlines()
    assert " · ACTION · " in sent[0][1].message.title


def test_separate_messages_while_budget_is_plentiful(alert: Any) -> None:
    """A few incidents at once get one message each, the most severe first."""
    box = Outbox(NotifySettings(group_wait=0, group_by=("incident",)))
    a, b, c = alert(1, Severity.INFO), alert(2, Severity.CRITICAL), alert(3, Severity.WARNING)
    sent = drive(box, [(T0, a), (T0, b), (T0, c)])
    assert [s[1].alerts for s in sent] == [(b,), (c,), (a,)]
    assert not any(s[1].digest for s in sent)


def test_group_interval_holds_updates_but_not_escalations(alert: Any) -> None:
    """After a group is notified, a same-severity update waits group_interval; a more
    severe one, or an action, goes after group_wait only."""
    box = Outbox(NotifySettings(group_wait=1, group_interval=30))
    first = alert(1, Severity.WARNING)
    update = alert(2, Severity.WARNING, at=T0 + 5)
    sent = drive(box, [(T0, first), (T0 + 5, update)])
    assert [t - T0 for t, _ in sent] == [1, 31]
    box = Outbox(NotifySettings(group_wait=1, group_interval=30))
    acted = alert(1, Severity.WARNING, AlertKind.ACTION, at=T0 + 5, action="repay 1 USDT")
    sent = drive(box, [(T0, first), (T0 + 5, acted)])
    assert [t - T0 for t, _ in sent] == [1, 6]
    box = Outbox(NotifySettings(group_wait=1, group_interval=30))
    worse = alert(1, Severity.CRITICAL, AlertKind.FIRING, at=T0 + 5)
    sent = drive(box, [(T0, first), (T0 + 5, worse)])
    assert [t - T0 for t, _ in sent] == [1, 6]


def test_repeat_of_waiting_state_merges(alert: Any) -> None:
    """A repeat of a waiting state alert replaces it (newer numbers), it does not add one."""
    box = Outbox(NotifySettings(group_wait=5))
    box.add(alert(1, risk_rate=None), T0)
    newer = alert(1, at=T0 + 1)
    assert box.add(newer, T0 + 1) == []
    assert len(box) == 1
    step = box.next(T0 + 5)
    assert isinstance(step, Batch) and step.alerts == (newer,)


def test_overflow_drops_least_severe_oldest(alert: Any) -> None:
    """At queue_size, the oldest info alert goes first; a new info alert facing only more
    severe ones is itself dropped; critical alerts survive."""
    box = Outbox(NotifySettings(queue_size=10, group_wait=60))
    infos = [alert(i, Severity.INFO) for i in range(3)]
    crits = [alert(10 + i, Severity.CRITICAL) for i in range(7)]
    for a in infos + crits:
        assert box.add(a, T0) == []
    new_crit = alert(99, Severity.CRITICAL)
    assert box.add(new_crit, T0) == [infos[0]]
    assert box.add(alert(50, Severity.WARNING), T0) == [infos[1]]
    assert box.add(alert(51, Severity.WARNING), T0) == [infos[2]]
    late_info = alert(52, Severity.INFO)
    assert box.add(late_info, T0) == [late_info]
    assert len(box) == 10
    assert box.queued_by_severity()[Severity.CRITICAL] == 8


def test_backoff_grows_and_resets(alert: Any) -> None:
    """Failures back off exponentially up to retry_max; a success resets the backoff."""
    box = Outbox(NotifySettings(group_wait=0, retry_initial=2, retry_multiplier=2, retry_max=10))
    box.add(alert(1), T0)
    now, waits = T0, []
    for _ in range(5):
        batch = box.next(now)
        assert isinstance(batch, Batch)
        box.nack(batch, now, fallback_after=None)
        due = box.next(now)
        assert isinstance(due, float)
        waits.append(due - now)
        now = due
    assert waits == [2, 4, 8, 10, 10]
    batch = box.next(now)
    assert isinstance(batch, Batch)
    box.ack(batch, now)
    state = box.state(now)
    assert state.consecutive_failures == 0 and state.retry_at is None and state.queued == 0


def test_fallback_copy_once_after_n_failures(alert: Any) -> None:
    """Alerts are handed to the fallback once, after fallback_after consecutive failures."""
    box = Outbox(NotifySettings(group_wait=0, retry_initial=1))
    a = alert(1)
    box.add(a, T0)
    now, copies = T0, []
    for _ in range(4):
        batch = box.next(now)
        assert isinstance(batch, Batch)
        copies.append(box.nack(batch, now, fallback_after=2))
        now += 100
    assert copies == [[], [a], [], []]


def test_recovery_sends_most_severe_first(alert: Any) -> None:
    """Alerts piled up during an outage go out critical first when the channel recovers."""
    box = Outbox(
        NotifySettings(group_wait=0, retry_initial=60, flood_limit=20, group_by=("incident",))
    )
    first = alert(0, Severity.INFO)
    box.add(first, T0)
    batch = box.next(T0)
    assert isinstance(batch, Batch)
    box.nack(batch, T0, fallback_after=None)
    for i in range(1, 30):
        box.add(alert(i, (Severity.INFO, Severity.WARNING, Severity.CRITICAL)[i % 3]), T0 + i)
    assert box.next(T0 + 30) == T0 + 60
    batch = box.next(T0 + 60)
    assert isinstance(batch, Batch) and batch.digest
    ranks = [a.severity.rank for a in batch.alerts]
    assert ranks == sorted(ranks, reverse=True)
    assert batch.alerts[0].severity is Severity.CRITICAL
    assert batch.message.body.splitlines()[0].split()[1] == "CRITICAL"


def test_take_all_empties(alert: Any) -> None:
    """take_all returns every waiting alert (for the shutdown record) and empties the box."""
    box = Outbox(NotifySettings())
    for i in range(3):
        box.add(alert(i), T0)
    assert len(box.take_all()) == 3 and len(box) == 0 and box.next(T0) is None


def test_whipsaw_sends_first_and_settled_state_only(alert: Any) -> None:
    """Firing/resolved flipping every 15 s for 3 minutes: the first state, then nothing until
    the state the rule settles in (group_interval 60 s)."""
    box = Outbox(NotifySettings(group_wait=2, group_interval=60))
    arrivals = [
        (T0 + t, alert(1, kind=AlertKind.FIRING if n % 2 == 0 else AlertKind.RESOLVED, at=T0 + t))
        for n, t in enumerate(range(0, 180, 15))
    ]
    sent = drive(box, arrivals)
    assert [b.alerts[0].kind for _, b in sent] == [AlertKind.FIRING, AlertKind.RESOLVED]
    removed = box.drain_removed()
    assert removed and all(r.outcome == "superseded" for r in removed)


def test_resolved_never_announced_is_not_sent(alert: Any) -> None:
    """A RESOLVED whose firing was never delivered on this channel is dropped, recorded."""
    box = Outbox(NotifySettings(group_wait=0))
    box.add(alert(1, kind=AlertKind.RESOLVED), T0)
    assert box.next(T0) is None
    (removed,) = box.drain_removed()
    assert removed.reason == "resolved before it was announced on this channel"


def test_429_retry_after_delays_the_next_attempt(alert: Any) -> None:
    """A 429 with retry_after 35 s holds the channel 35 s; without a time, 60 s."""
    box = Outbox(NotifySettings(group_wait=0, retry_initial=1))
    box.add(alert(1), T0)
    batch = box.next(T0)
    assert isinstance(batch, Batch)
    box.nack(batch, T0, fallback_after=None, retry_after=35)
    assert box.next(T0 + 1) == T0 + 35
    batch = box.next(T0 + 35)
    assert isinstance(batch, Batch)
    box.nack(batch, T0 + 35, fallback_after=None, retry_after=0)
    assert box.next(T0 + 36) == T0 + 95


def test_an_alert_the_templates_cannot_render_goes_out_plain(alert: Any) -> None:
    """A template defect on one alert (here a risk rate that is not a Decimal) sends that
    alert as plain fields and the others as usual: nothing is lost, the channel goes on."""
    box = Outbox(NotifySettings(group_wait=0, group_by=("incident",)))
    odd = dataclasses.replace(alert(1, Severity.CRITICAL, at=T0), risk_rate="0.93")
    fine = alert(2, Severity.WARNING, at=T0 + 1)
    sent = drive(box, [(T0, odd), (T0 + 1, fine)])
    assert [b.alerts for _, b in sent] == [(odd,), (fine,)]
    plain = sent[0][1].message
    assert "riskRate: 0.93" in plain.body and "could not format this alert" in plain.body
    assert odd.title in plain.title
    assert "could not format" not in sent[1][1].message.body
