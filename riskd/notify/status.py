"""Frozen views of the notifier for ``riskd status`` and the metrics. Nothing secret."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One apprise URL of a route."""

    label: str  # "telegram[0]"
    url: str  # "tgram://***"
    healthy: bool
    queued: int
    delivered: int  # messages
    failed: int  # failed attempts
    consecutive_failures: int
    retry_at: float | None
    last_ok_at: float | None
    last_error: str | None  # redacted
    sent_in_window: int  # attempts in the current flood window


@dataclass(frozen=True, slots=True)
class RouteStatus:
    name: str
    healthy: bool
    channels: tuple[ChannelStatus, ...]


@dataclass(frozen=True, slots=True)
class HeartbeatStatus:
    url: str  # "https://***"
    interval: float
    pings_ok: int
    pings_failed: int
    skipped_unhealthy: int
    last_ok_at: float | None
    last_error: str | None  # redacted


@dataclass(frozen=True, slots=True)
class NotifierStatus:
    """Counters are alerts unless said otherwise."""

    running: bool
    healthy: bool
    submitted: int
    deduplicated: int  # suppressed as repeats within the repeat interval
    queued: int  # alert × channel deliveries waiting
    retrying: int  # of ``queued``, those on a channel that is backing off after a failure
    delivered: int  # alert × channel deliveries done
    messages_delivered: int
    failed: int  # failed delivery attempts (messages)
    dropped: int  # alert × channel deliveries given up (queue bound, stopped, no route)
    fallback_copies: int  # alerts copied to the fallback route
    records_lost: int  # delivery records not written because the recorder fell behind
    last_error: str | None  # redacted
    routes: tuple[RouteStatus, ...]
    heartbeat: HeartbeatStatus | None
    suppressed: int = 0  # not sent because of a silence or an inhibition rule
    silences: int = 0  # silences in force
    outbox_writes_lost: int = 0  # outbox rows not written (writer behind)
