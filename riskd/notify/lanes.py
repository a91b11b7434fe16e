"""A lane: one channel, its outbox, its counters and its worker task; and their status."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from riskd.notify.channel import Channel
from riskd.notify.outbox import Outbox
from riskd.notify.status import ChannelStatus, RouteStatus


@dataclass(slots=True, eq=False)
class Lane:
    """One channel, its outbox, its counters and its worker."""

    route: str
    channel: Channel
    outbox: Outbox
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    delivered_alerts: int = 0
    delivered_messages: int = 0
    failed: int = 0
    last_ok_at: float | None = None
    last_error: str | None = None
    task: asyncio.Task[None] | None = None
    #: Times the worker failed and was restarted; True while it waits to restart.
    restarts: int = 0
    restarting: bool = False


@dataclass(frozen=True, slots=True)
class LaneTotals:
    """Sums over every lane, for :class:`riskd.notify.status.NotifierStatus`."""

    routes: tuple[RouteStatus, ...]
    queued: int
    retrying: int
    delivered: int
    messages: int
    failed: int


def lane_status(lanes: Mapping[str, Sequence[Lane]], now: float) -> LaneTotals:
    routes: list[RouteStatus] = []
    queued = retrying = delivered = messages = failed = 0
    for name, route_lanes in lanes.items():
        channels: list[ChannelStatus] = []
        for lane in route_lanes:
            state = lane.outbox.state(now)
            ok = state.consecutive_failures == 0 and not (lane.task and lane.task.done())
            channels.append(
                ChannelStatus(
                    label=lane.channel.label,
                    url=lane.channel.redacted_url,
                    healthy=ok,
                    queued=state.queued,
                    delivered=lane.delivered_messages,
                    failed=lane.failed,
                    consecutive_failures=state.consecutive_failures,
                    retry_at=state.retry_at,
                    last_ok_at=lane.last_ok_at,
                    last_error=lane.last_error,
                    sent_in_window=state.sent_in_window,
                )
            )
            queued += state.queued
            retrying += state.queued if state.in_backoff else 0
            delivered += lane.delivered_alerts
            messages += lane.delivered_messages
            failed += lane.failed
        routes.append(RouteStatus(name, all(c.healthy for c in channels), tuple(channels)))
    return LaneTotals(tuple(routes), queued, retrying, delivered, messages, failed)
