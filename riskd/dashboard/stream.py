"""The live timeline's feed: the daemon's typed events fanned out to every open page.

:class:`EventFanout` subscribes to the daemon's :class:`~riskd.daemon.events.EventBroker`.
Its subscriber never awaits and never blocks the action that published: each open page
(:class:`StreamClient`) has a bounded queue; when a page reads too slowly the oldest event is
dropped and counted (the page shows the count).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping

from riskd.daemon.events import DaemonEvent, EventBroker
from riskd.redact import redact

#: Event kinds the timeline draws as actions (the intent and what came of it).
ACTION_KINDS = frozenset(
    {"intent", "accepted", "outcome", "following", "uncertain", "verified", "liquidated"}
)


def event_json(event: DaemonEvent) -> dict[str, object]:
    """What a page gets of an event: no data payload (free-form), texts redacted."""
    category = "action" if event.kind.value in ACTION_KINDS else "event"
    if event.alert is not None or event.kind.value == "notification":
        category = "alert" if category == "event" else category
    return {
        "kind": event.kind.value,
        "category": category,
        "at": event.at,
        "summary": redact(event.summary),
        "severity": event.severity.value,
        "account": event.account,
        "scope": event.scope,
        "rule": event.rule,
        "alert": None if event.alert is None else redact(event.alert.title),
    }


def sse(event: str, data: Mapping[str, object] | list[object]) -> bytes:
    """One server-sent event; the JSON text passes through :func:`redact`."""
    text = redact(json.dumps(data, separators=(",", ":"), default=str))
    return f"event: {event}\ndata: {text}\n\n".encode()


class StreamClient:
    """One open page: a bounded queue of events and the count of those dropped."""

    def __init__(self, size: int) -> None:
        self.queue: deque[dict[str, object]] = deque(maxlen=size)
        self.dropped = 0
        self.wake = asyncio.Event()

    def offer(self, item: dict[str, object]) -> None:
        """Queue ``item`` without waiting; drop the oldest when full."""
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1
        self.queue.append(item)
        self.wake.set()

    def take(self) -> list[dict[str, object]]:
        items = list(self.queue)
        self.queue.clear()
        self.wake.clear()
        return items


class EventFanout:
    """The broker's ``dashboard`` subscriber: hands each event to every open page."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self.clients: set[StreamClient] = set()
        #: Events dropped over all pages so far (slow readers).
        self.dropped = 0

    def attach(self, broker: EventBroker) -> None:
        broker.subscribe("dashboard", self.publish)

    async def publish(self, event: DaemonEvent) -> None:
        """The subscriber: never awaits, never raises for a page."""
        if not self.clients:
            return
        item = event_json(event)
        for client in self.clients:
            before = client.dropped
            client.offer(item)
            self.dropped += client.dropped - before

    def open(self) -> StreamClient:
        client = StreamClient(self.queue_size)
        self.clients.add(client)
        return client

    def close(self, client: StreamClient) -> None:
        self.clients.discard(client)


__all__ = ["ACTION_KINDS", "EventFanout", "StreamClient", "event_json", "sse"]
