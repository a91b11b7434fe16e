"""The notifier: ``submit`` never blocks; background workers deliver with retry and backoff.

::

    notifier = Notifier(settings, clock, recorder=journal, channel_factory=AppriseChannelFactory(),
                        outbox_store=outbox, silence_store=silences)
    await notifier.start()          # re-queues what the last run left undelivered
    notifier.lifecycle_started(crashed_before=False)
    notifier.submit(alert)          # synchronous, O(1), never raises, never touches the network
    notifier.status()               # frozen NotifierStatus
    await notifier.stop(timeout=5)  # clean-stop message, flush what it can, then stop

One worker task per channel (one apprise URL). Each owns an :class:`Outbox` that decides what
to send when (grouping, flood control, backoff); the worker only sends and reports. Delivery
outcomes go to the :class:`DeliveryRecorder` through a bounded queue and a writer task
(:mod:`riskd.notify.record_queue`), so a slow journal never slows ``submit``. With an
``outbox_store`` every alert × channel is written to the journal's ``alert_outbox`` by a writer
task right after ``submit`` (never inside it) and re-queued by the next notifier if it was not
delivered (:mod:`riskd.notify.persist`). Silences
come from ``silence_store`` (reloaded every ``silence_refresh`` seconds) or
:meth:`Notifier.set_silences`; they and the inhibition rules are applied at ``submit`` and again
when a group is sent. Call every method from the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterable

import httpx

from riskd.clock import Clock
from riskd.durations import backoff_delay
from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import AppriseChannelFactory, ChannelFactory, SendResult
from riskd.notify.grouping import Deduper
from riskd.notify.heartbeat import Heartbeat
from riskd.notify.lanes import Lane, lane_status
from riskd.notify.lifecycle import started_alert, stopping_alert
from riskd.notify.outbox import Batch, Outbox, Removed
from riskd.notify.persist import (
    OutboxStoreLike,
    Persister,
    SilenceFeed,
    SilenceSource,
    load_backlog,
)
from riskd.notify.record_queue import RECORD_QUEUE_SIZE as RECORD_QUEUE_SIZE  # re-exported
from riskd.notify.record_queue import RecordQueue
from riskd.notify.recorder import DeliveryRecorder, MemoryRecorder, Outcome
from riskd.notify.routing import Router
from riskd.notify.settings import NotifySettings
from riskd.notify.silences import Silence, active_map_update, suppression_reason
from riskd.notify.status import NotifierStatus
from riskd.notify.templates import Caps
from riskd.redact import redact

log = logging.getLogger(__name__)

#: Extra wall seconds over ``send_timeout`` before a stuck channel call is abandoned.
_SEND_GRACE = 5.0
#: The longest pause before a failed lane worker is restarted (seconds).
_RESTART_MAX_S = 60.0
_NO_ROUTE = "-"


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
        outbox_store: OutboxStoreLike | None = None,
        silence_store: SilenceSource | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._records = RecordQueue(recorder if recorder is not None else MemoryRecorder())
        self._health_check = health_check
        factory = channel_factory if channel_factory is not None else AppriseChannelFactory()
        caps = Caps.from_settings(settings)
        self._router = Router(settings)
        self._dedup = Deduper(settings.repeat_interval)
        self._inhibit = settings.inhibit()
        self._silences: tuple[Silence, ...] = ()
        self._silence_store = silence_store
        self._active: dict[str, Alert] = {}
        self._persist = Persister(outbox_store)
        self._lanes: dict[str, list[Lane]] = {
            route.name: [
                Lane(
                    route.name,
                    factory(route.name, i, url, settings.send_timeout),
                    Outbox(settings, caps, suppress=self._suppressed),
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
        self._record_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._persist_task: asyncio.Task[None] | None = None
        self._silence_task: asyncio.Task[None] | None = None
        self._suppressed_count = 0
        self._running = False
        self._stopped = False
        self._flushing = False
        self._announced = False
        self._submitted = 0
        self._deduplicated = 0
        self._dropped = 0
        self._fallback_copies = 0
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

    def set_silences(self, silences: Iterable[Silence]) -> None:
        """Replace the silences in force (the daemon may call this every cycle)."""
        self._silences = tuple(silences)

    def _suppressed(self, alert: Alert, now: float) -> str | None:
        return suppression_reason(
            alert,
            silences=self._silences,
            rules=self._inhibit,
            active=self._active.values(),
            now=now,
        )

    def _submit(self, alert: Alert) -> None:
        now = self._clock.now()
        self._submitted += 1
        if self._stopped:
            self._dropped += 1
            log.warning("alert %r submitted after the notifier stopped: dropped", alert.title)
            return
        active_map_update(self._active, alert)
        reason = self._suppressed(alert, now)
        if reason is not None:  # before dedup: once the silence ends, the alert is news
            self._suppressed_count += 1
            log.info("alert %s %s not sent: %s", alert.kind.label, alert.group_key, reason)
            self._record(alert.group_key, _NO_ROUTE, "suppressed", reason)
            return
        if not self._dedup.accept(alert, now):
            self._deduplicated += 1
            return
        routed = self._router.route(alert)
        if not routed.routes:
            self._dropped += 1
            log.error("no notify route takes %s alert %r: dropped", alert.severity, alert.title)
            self._record(alert.group_key, _NO_ROUTE, "dropped", "no route takes this alert")
            return
        for name in routed.routes:
            for lane in self._lanes[name]:
                self._enqueue(lane, alert, now, is_copy=routed.via_fallback)

    def _enqueue(
        self,
        lane: Lane,
        alert: Alert,
        now: float,
        *,
        is_copy: bool,
        ref: str | None = None,
        persist: bool = True,
    ) -> None:
        if persist and alert.kind is not AlertKind.LIFECYCLE:
            ref = self._persist.new_ref()
            self._persist.added(ref, lane.channel.label, alert, now)
        dropped_alerts = lane.outbox.add(alert, now, is_copy=is_copy, ref=ref)
        self._settle_removed(lane, now)
        for dropped in dropped_alerts:
            self._dropped += 1
            log.error(
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

    def _settle_removed(self, lane: Lane, now: float) -> None:
        """Record and mark in the outbox store what the lane's outbox took out unsent."""
        removed: list[Removed] = lane.outbox.drain_removed()
        for item in removed:
            self._persist.settled([item.ref], item.outcome, now)
            if item.outcome == "suppressed":
                self._suppressed_count += 1
                log.info(
                    "notify %s: alert %s %s not sent: %s",
                    lane.channel.label,
                    item.alert.kind.label,
                    item.alert.group_key,
                    item.reason,
                )
                self._record(item.alert.group_key, lane.channel.label, "suppressed", item.reason)

    def _record(self, key: str, route: str, outcome: Outcome, detail: str) -> None:
        self._records.put(key, route, outcome, detail)

    # --- start / stop ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the delivery workers, the recorder writer and the heartbeat."""
        if self._running or self._stopped:
            return
        self._running = True
        if self._persist.store is not None:
            await self._requeue(self._persist.store)
            self._persist_task = asyncio.create_task(self._persist.run(), name="notify:outbox")
        if self._silence_store is not None:
            feed = SilenceFeed(
                self._silence_store, self._clock, self._settings.silence_refresh, self.set_silences
            )
            await feed.load()
            self._silence_task = asyncio.create_task(feed.run(), name="notify:silences")
        for lane in self._all_lanes():
            lane.task = asyncio.create_task(
                self._supervise(lane), name=f"notify:{lane.channel.label}"
            )
            lane.task.add_done_callback(self._task_ended)
        self._record_task = asyncio.create_task(self._records.run(), name="notify:recorder")
        if self._heartbeat is not None:
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat.run(), name="notify:heartbeat"
            )
        log.info("notifier started: routes %s", ", ".join(self._lanes) or "none")

    async def _requeue(self, store: OutboxStoreLike) -> None:
        """Queue again what an earlier run wrote to the outbox and did not deliver."""
        now = self._clock.now()
        lanes = {lane.channel.label: lane for lane in self._all_lanes()}
        requeued = 0
        for row in await load_backlog(store, now, self._settings.outbox_max_age):
            lane = lanes.get(row.route)
            if lane is None:
                log.warning("alert outbox: channel %s is gone; alert dropped", row.route)
                self._persist.settled([row.ref], "dropped", now)
                continue
            active_map_update(self._active, row.alert)
            self._enqueue(lane, row.alert, now, is_copy=False, ref=row.ref, persist=False)
            requeued += 1
        if requeued:
            log.info("alert outbox: %d undelivered alert(s) from the last run queued", requeued)

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the daemon's API
        """Send the clean-stop message, deliver what can be within ``timeout`` wall seconds
        (ignoring group waits and the current backoff), record the rest as failed, stop."""
        if not self._running:
            self._stopped = True
            for lane in self._all_lanes():  # never started: nothing was sent
                for alert in lane.outbox.take_all():
                    self._dropped += 1
                    await self._records.recorder.record(
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
        await _cancel([self._silence_task] if self._silence_task else [])
        if self._heartbeat is not None:
            await self._heartbeat.aclose()
        if self._persist_task is not None:
            await self._persist.drain(1.0)
            await _cancel([self._persist_task])
        await self._records.drain(1.0)
        await _cancel([self._record_task] if self._record_task else [])
        self._running = False
        self._stopped = True
        log.info("notifier stopped")

    # --- workers --------------------------------------------------------------------------

    async def _supervise(self, lane: Lane) -> None:
        """Run the lane's worker; an unexpected error (a defect, a channel plug-in's bug
        outside ``send``) restarts it after a pause that doubles while it keeps failing
        without delivering (1 s up to :data:`_RESTART_MAX_S`), so that one bad moment never
        silences a channel for good. Unhealthy while it waits; each failure is logged."""
        streak = 0
        delivered = lane.delivered_alerts
        while True:
            try:
                await self._run_lane(lane)
                return
            except Exception as exc:  # noqa: BLE001 - the channel must keep working
                if lane.delivered_alerts > delivered:
                    streak = 0
                delivered = lane.delivered_alerts
                streak += 1
                pause = backoff_delay(1.0, 2.0, streak, _RESTART_MAX_S)
                lane.restarts += 1
                self._last_error = redact(
                    f"{lane.channel.label} worker failed: {type(exc).__name__}: {exc}"
                )[:300]
                log.error(
                    "notifier worker %s failed at %s (%s); restarting in %gs",
                    lane.channel.label,
                    _where(exc),
                    self._last_error,
                    pause,
                )
                if self._flushing:
                    return
                lane.restarting = True
                try:
                    await self._clock.sleep(pause)
                finally:
                    lane.restarting = False

    async def _run_lane(self, lane: Lane) -> None:
        while True:
            lane.wake.clear()
            now = self._clock.now()
            step = lane.outbox.next(now, flushing=self._flushing)
            self._settle_removed(lane, now)
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

    async def _sleep_or_wake(self, lane: Lane, delay: float) -> None:
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

    async def _deliver(self, lane: Lane, batch: Batch) -> None:
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
            self._persist.settled(batch.refs, "delivered", now)
            lane.delivered_messages += 1
            lane.delivered_alerts += len(batch.alerts)
            lane.last_ok_at = now
            log.info(
                "notify %s: delivered %r (%d alert(s)%s)",
                label,
                batch.message.title,
                len(batch.alerts),
                ", digest" if batch.digest else "",
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
            retry_after=result.retry_after,
        )
        state = lane.outbox.state(now)
        retry_in = _seconds((state.retry_at or now) - now)
        detail = redact(result.detail)
        lane.failed += 1
        lane.last_error = detail
        self._last_error = f"{label}: {detail}"
        log.error(
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
            if lane.task is None or lane.task.done() or lane.restarting:
                return False
            since = lane.outbox.state(now).failing_since
            if since is not None and now - since > self._settings.unhealthy_after:
                return False
        return self._health_check() if self._health_check is not None else True

    def status(self) -> NotifierStatus:
        now = self._clock.now()
        lanes = lane_status(self._lanes, now)
        return NotifierStatus(
            running=self._running,
            healthy=self.healthy(),
            submitted=self._submitted,
            deduplicated=self._deduplicated,
            queued=lanes.queued,
            retrying=lanes.retrying,
            delivered=lanes.delivered,
            messages_delivered=lanes.messages,
            failed=lanes.failed,
            dropped=self._dropped,
            fallback_copies=self._fallback_copies,
            records_lost=self._records.lost,
            last_error=self._last_error,
            routes=lanes.routes,
            heartbeat=self._heartbeat.status() if self._heartbeat is not None else None,
            suppressed=self._suppressed_count,
            silences=sum(1 for x in self._silences if x.active(now)),
            outbox_writes_lost=self._persist.lost,
        )

    def _all_lanes(self) -> list[Lane]:
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


def _where(exc: BaseException) -> str:
    """Where ``exc`` was raised (file:line in function): for the log, without the message's
    text twice and without a traceback's other frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"
