"""The notifier: ``submit`` never blocks; background workers deliver with retry and backoff.

::

    notifier = Notifier(settings, clock, recorder=journal, channel_factory=AppriseChannelFactory())
    await notifier.start()
    notifier.lifecycle_started(crashed_before=False)
    notifier.submit(alert)          # synchronous, O(1), never raises, never touches the network
    notifier.status()               # frozen NotifierStatus
    await notifier.stop(timeout=5)  # clean-stop message, flush what it can, then stop

One worker task per channel (one apprise URL). Each owns an :class:`Outbox` that decides what
to send when (grouping, flood control, backoff); the worker only sends and reports. Delivery
outcomes go to the :class:`DeliveryRecorder` through a bounded queue and a writer task, so a
slow journal never slows ``submit``. Call every method from the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from riskd.clock import Clock
from riskd.notify.alert import Alert
from riskd.notify.channel import AppriseChannelFactory, Channel, ChannelFactory, SendResult
from riskd.notify.grouping import Deduper
from riskd.notify.heartbeat import Heartbeat
from riskd.notify.lifecycle import started_alert, stopping_alert
from riskd.notify.outbox import Batch, Outbox
from riskd.notify.recorder import DeliveryRecord, DeliveryRecorder, MemoryRecorder, Outcome
from riskd.notify.routing import Router
from riskd.notify.settings import NotifySettings
from riskd.notify.status import ChannelStatus, NotifierStatus, RouteStatus
from riskd.notify.templates import Caps
from riskd.redact import redact

log = logging.getLogger(__name__)

#: Most delivery records waiting for the recorder; beyond it records are counted as lost.
RECORD_QUEUE_SIZE = 10_000
#: Extra wall seconds over ``send_timeout`` before a stuck channel call is abandoned.
_SEND_GRACE = 5.0
_NO_ROUTE = "-"


@dataclass(slots=True, eq=False)
class _Lane:
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


class Notifier:
    """Routes, groups and delivers alerts in the background."""

    def __init__(
        self,
        settings: NotifySettings,
        clock: Clock,
        recorder: DeliveryRecorder | None = None,
        channel_factory: ChannelFactory | None = None,
        *,
        health_check: Callable[[], bool] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._recorder: DeliveryRecorder = recorder if recorder is not None else MemoryRecorder()
        self._health_check = health_check
        factory = channel_factory if channel_factory is not None else AppriseChannelFactory()
        caps = Caps.from_settings(settings)
        self._router = Router(settings)
        self._dedup = Deduper(settings.repeat_interval)
        self._lanes: dict[str, list[_Lane]] = {
            route.name: [
                _Lane(
                    route.name,
                    factory(route.name, i, url, settings.send_timeout),
                    Outbox(settings, caps, speed=clock.speed),
                )
                for i, url in enumerate(route.urls)
            ]
            for route in settings.routes
        }
        self._heartbeat: Heartbeat | None = None
        if settings.heartbeat_url is not None:
            self._heartbeat = Heartbeat(
                settings.heartbeat_url,
                settings.heartbeat_interval,
                clock,
                self.healthy,
                timeout=settings.heartbeat_timeout,
                client=http_client,
            )
        self._records: asyncio.Queue[DeliveryRecord] = asyncio.Queue(RECORD_QUEUE_SIZE)
        self._record_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._running = False
        self._stopped = False
        self._flushing = False
        self._announced = False
        self._submitted = 0
        self._deduplicated = 0
        self._dropped = 0
        self._fallback_copies = 0
        self._records_lost = 0
        self._last_error: str | None = None

    # --- the caller's side: never blocks, never raises ------------------------------------

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` for delivery. Synchronous, O(1); never raises, never awaits."""
        try:
            self._submit(alert)
        except Exception as exc:  # noqa: BLE001 - a notifier bug must never reach an action
            self._last_error = redact(f"submit failed: {type(exc).__name__}: {exc}")[:200]
            log.error("notifier could not queue an alert: %s", self._last_error)

    def lifecycle_started(self, crashed_before: bool, detail: str = "") -> None:
        """Tell the user riskd started — or restarted after a crash (critical)."""
        self._announced = True
        if self._settings.lifecycle_messages:
            self.submit(
                started_alert(self._clock.now(), crashed_before=crashed_before, detail=detail)
            )

    def _submit(self, alert: Alert) -> None:
        now = self._clock.now()
        self._submitted += 1
        if self._stopped:
            self._dropped += 1
            log.warning("alert %r submitted after the notifier stopped: dropped", alert.title)
            return
        if not self._dedup.accept(alert, now):
            self._deduplicated += 1
            return
        routed = self._router.route(alert)
        if not routed.routes:
            self._dropped += 1
            log.warning("no notify route takes %s alert %r", alert.severity, alert.title)
            self._record(alert.group_key, _NO_ROUTE, "dropped", "no route takes this alert")
            return
        for name in routed.routes:
            for lane in self._lanes[name]:
                self._enqueue(lane, alert, now, is_copy=routed.via_fallback)

    def _enqueue(self, lane: _Lane, alert: Alert, now: float, *, is_copy: bool) -> None:
        for dropped in lane.outbox.add(alert, now, is_copy=is_copy):
            self._dropped += 1
            log.warning(
                "notify %s queue full: dropped %s alert %r",
                lane.channel.label,
                dropped.severity,
                dropped.title,
            )
            self._record(
                dropped.group_key,
                lane.channel.label,
                "dropped",
                f"queue full ({self._settings.queue_size}); least severe dropped",
            )
        lane.wake.set()

    def _record(self, key: str, route: str, outcome: Outcome, detail: str) -> None:
        try:
            self._records.put_nowait(DeliveryRecord(key, route, outcome, redact(detail)))
        except asyncio.QueueFull:
            self._records_lost += 1
            if self._records_lost == 1 or self._records_lost % 1000 == 0:
                log.warning("delivery recorder is behind: %d records lost", self._records_lost)

    # --- start / stop ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the delivery workers, the recorder writer and the heartbeat."""
        if self._running or self._stopped:
            return
        self._running = True
        for lane in self._all_lanes():
            lane.task = asyncio.create_task(
                self._run_lane(lane), name=f"notify:{lane.channel.label}"
            )
            lane.task.add_done_callback(self._task_ended)
        self._record_task = asyncio.create_task(self._write_records(), name="notify:recorder")
        if self._heartbeat is not None:
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat.run(), name="notify:heartbeat"
            )
        log.info("notifier started: routes %s", ", ".join(self._lanes) or "none")

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the daemon's API
        """Send the clean-stop message, deliver what can be within ``timeout`` wall seconds
        (ignoring group waits and the current backoff), record the rest as failed, stop."""
        if not self._running:
            self._stopped = True
            for lane in self._all_lanes():  # never started: nothing was sent
                for alert in lane.outbox.take_all():
                    self._dropped += 1
                    await self._recorder.record(
                        alert.group_key,
                        lane.channel.label,
                        "failed",
                        "the notifier was stopped before it started",
                    )
            if self._heartbeat is not None:
                await self._heartbeat.aclose()
            return
        if self._announced and self._settings.lifecycle_messages:
            self.submit(stopping_alert(self._clock.now()))
        self._flushing = True
        lanes = self._all_lanes()
        for lane in lanes:
            lane.outbox.flush()
            lane.wake.set()
        tasks = [lane.task for lane in lanes if lane.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            await _cancel(late)
        for lane in lanes:
            for alert in lane.outbox.take_all():
                self._dropped += 1
                self._record(
                    alert.group_key,
                    lane.channel.label,
                    "failed",
                    "not delivered before the notifier stopped",
                )
        await _cancel([self._heartbeat_task] if self._heartbeat_task else [])
        if self._heartbeat is not None:
            await self._heartbeat.aclose()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._records.join(), timeout=1.0)
        await _cancel([self._record_task] if self._record_task else [])
        self._running = False
        self._stopped = True
        log.info("notifier stopped")

    # --- workers --------------------------------------------------------------------------

    async def _run_lane(self, lane: _Lane) -> None:
        while True:
            lane.wake.clear()
            now = self._clock.now()
            step = lane.outbox.next(now, flushing=self._flushing)
            if isinstance(step, Batch):
                await self._deliver(lane, step)
            elif step is None:
                if self._flushing:
                    return
                await lane.wake.wait()
            elif self._flushing and lane.outbox.state(now).in_backoff:
                return  # the final attempt failed: what is left is recorded as failed
            else:
                await self._sleep_or_wake(lane, step - now)

    async def _sleep_or_wake(self, lane: _Lane, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(delay))
        waker = asyncio.ensure_future(lane.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _deliver(self, lane: _Lane, batch: Batch) -> None:
        label = lane.channel.label
        try:
            result = await asyncio.wait_for(
                lane.channel.send(batch.message), self._settings.send_timeout + _SEND_GRACE
            )
        except TimeoutError:
            result = SendResult(False, f"no answer within {self._settings.send_timeout:g}s")
        except Exception as exc:  # noqa: BLE001 - recorded, logged and retried like any failure
            result = SendResult(False, redact(f"channel error {type(exc).__name__}: {exc}")[:200])
        now = self._clock.now()
        if result.ok:
            lane.outbox.ack(batch, now)
            lane.delivered_messages += 1
            lane.delivered_alerts += len(batch.alerts)
            lane.last_ok_at = now
            log.info(
                "notify %s: delivered %d alert(s)%s",
                label,
                len(batch.alerts),
                " as a digest" if batch.digest else "",
            )
            for alert in batch.alerts:
                self._record(alert.group_key, label, "delivered", result.detail)
            return
        fallback = self._settings.fallback
        copies = lane.outbox.nack(
            batch,
            now,
            fallback_after=self._settings.fallback_after_failures
            if fallback is not None and fallback != lane.route
            else None,
        )
        state = lane.outbox.state(now)
        retry_in = _seconds((state.retry_at or now) - now)
        detail = redact(result.detail)
        lane.failed += 1
        lane.last_error = detail
        self._last_error = f"{label}: {detail}"
        log.warning(
            "notify %s (%s) failed: %s; retry in %s",
            label,
            lane.channel.redacted_url,
            detail,
            retry_in,
        )
        for alert in batch.alerts:
            self._record(alert.group_key, label, "retrying", f"{detail}; retry in {retry_in}")
        # An alert the fallback route takes anyway is already on its way there.
        copies = [a for a in copies if fallback not in self._router.route(a).routes]
        if copies and fallback is not None:
            self._fallback_copies += len(copies)
            log.warning(
                "notify %s: %d alert(s) copied to fallback route %s", label, len(copies), fallback
            )
            for alert in copies:
                for fb_lane in self._lanes[fallback]:
                    self._enqueue(fb_lane, alert, now, is_copy=True)

    async def _write_records(self) -> None:
        while True:
            record = await self._records.get()
            try:
                await self._recorder.record(
                    record.alert_key, record.route, record.outcome, record.detail
                )
            except Exception as exc:  # noqa: BLE001 - a journal failure must not stop delivery
                log.error("delivery recorder failed: %s", redact(f"{type(exc).__name__}: {exc}"))
            finally:
                self._records.task_done()

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._last_error = redact(f"{task.get_name()} died: {type(exc).__name__}: {exc}")
            log.error("notifier worker %s died: %s", task.get_name(), self._last_error)

    # --- views ----------------------------------------------------------------------------

    def healthy(self) -> bool:
        """Running, every worker alive, no channel failing for longer than
        ``unhealthy_after``, and the daemon's own health check (if given) passes."""
        if not self._running:
            return False
        now = self._clock.now()
        for lane in self._all_lanes():
            if lane.task is None or lane.task.done():
                return False
            since = lane.outbox.state(now).failing_since
            if since is not None and now - since > self._settings.unhealthy_after:
                return False
        return self._health_check() if self._health_check is not None else True

    def status(self) -> NotifierStatus:
        now = self._clock.now()
        routes: list[RouteStatus] = []
        queued = retrying = delivered = messages = failed = 0
        for name, lanes in self._lanes.items():
            channels: list[ChannelStatus] = []
            for lane in lanes:
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
        return NotifierStatus(
            running=self._running,
            healthy=self.healthy(),
            submitted=self._submitted,
            deduplicated=self._deduplicated,
            queued=queued,
            retrying=retrying,
            delivered=delivered,
            messages_delivered=messages,
            failed=failed,
            dropped=self._dropped,
            fallback_copies=self._fallback_copies,
            records_lost=self._records_lost,
            last_error=self._last_error,
            routes=tuple(routes),
            heartbeat=self._heartbeat.status() if self._heartbeat is not None else None,
        )

    def _all_lanes(self) -> list[_Lane]:
        return [lane for lanes in self._lanes.values() for lane in lanes]

    def __repr__(self) -> str:
        return f"Notifier(routes={list(self._lanes)}, running={self._running})"


async def _cancel(tasks: Iterable[asyncio.Task[None]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value >= 1 else f"{value:.2f}s"
