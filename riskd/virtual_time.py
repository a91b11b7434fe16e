"""Deterministic virtual time: an asyncio loop whose clock jumps to the next timer when idle.

::

    result = run_virtual(main())                 # as fast as possible
    result = run_virtual(main(), speed=10.0)     # at most 10 virtual seconds per wall second

:class:`VirtualTimeLoop` is a ``SelectorEventLoop`` whose :meth:`~VirtualTimeLoop.time` is a
virtual clock. ``BaseEventLoop._run_once`` (CPython 3.11–3.13) computes the selector timeout
from ``self.time()`` and the next timer, calls ``self._selector.select(timeout)``, then runs
the timers due at ``self.time()``. The selector is wrapped so that ``select(timeout)``:

1. waits, in real time (1 ms slices on the real selector), until every worker thread is idle
   (:mod:`riskd.thread_idle`): a thread's ``call_soon_threadsafe`` result (aiosqlite, the
   default executor) is then already in the ready queue, so thread work completes at the same
   point of the loop's order on every run, however loaded the machine;
2. polls the real selector without waiting, and returns any events;
3. otherwise, if the loop has nothing ready (``timeout > 0``), moves virtual time to the next
   timer and returns no events (with ``speed``, first waits ``delta / speed`` real seconds on
   the real selector: real sockets and a watcher then see paced time). With no timer at all
   and every thread idle, only genuine outside I/O can wake the loop: a real blocking select.

Nothing else is patched; code on this loop reads time through ``loop.time()`` (``asyncio.sleep``,
``wait_for``, ``call_later``) or through a :class:`~riskd.clock.LoopClock`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import selectors
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from riskd.thread_idle import ThreadWatch

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Real seconds per wait for busy worker threads, on the real selector: a thread's
#: ``call_soon_threadsafe`` writes to the loop's self-pipe and ends the wait at once (and
#: while that byte is unread, every wait returns at once: a thread that has just handed its
#: result back and is about to be idle is polled, not slept on).
THREAD_SLICE_S = 0.001


class _VirtualSelector:
    """A selector proxy that lets virtual time jump when the loop is idle."""

    def __init__(self, real: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._real = real
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        loop._wait_for_threads(self._real)
        events = self._real.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            return self._real.select(None)
        return loop._advance(timeout, self._real)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time (see the module docstring).

    ``speed``: ``None`` jumps as fast as possible; a number lets virtual time run at most that
    many times faster than the wall. ``start``: the loop's ``time()`` at creation.
    """

    def __init__(
        self,
        speed: float | None = None,
        *,
        start: float = 0.0,
        foreign_after_s: float = 1.0,
    ) -> None:
        super().__init__(selectors.DefaultSelector())
        if speed is not None and speed <= 0:
            self.close()
            raise ValueError(f"virtual time speed must be > 0, got {speed:g}")
        self.speed = speed
        self._virtual = float(start)
        self._foreign_after_s = foreign_after_s
        self._threads = ThreadWatch(foreign_after_s=foreign_after_s)
        #: Executor jobs whose result is not back on the loop yet, with their real start.
        self._in_flight: dict[concurrent.futures.Future[Any], float] = {}
        self._in_flight_lock = threading.Lock()
        self._warned_jobs = False
        self._base._selector = _VirtualSelector(self._base._selector, self)
        self._base._clock_resolution = 1e-9

    @property
    def _base(self) -> Any:
        """This loop, typed loosely: the base loop's private state is not in typeshed."""
        return self

    def time(self) -> float:
        return self._virtual

    # ------------------------------------------------------------------ advancing
    def _advance(
        self, timeout: float, real: selectors.BaseSelector
    ) -> list[tuple[selectors.SelectorKey, int]]:
        target = self._virtual + timeout
        scheduled = self._base._scheduled
        if scheduled:
            when = scheduled[0]._when
            if when <= target + 1e-9:
                target = max(self._virtual, when)
        if self.speed is not None:
            wall = (target - self._virtual) / self.speed
            t0 = time.monotonic()
            events = real.select(wall)
            if events:
                self._virtual = min(target, self._virtual + (time.monotonic() - t0) * self.speed)
                return events
        self._virtual = target
        return []

    def _wait_for_threads(self, real: selectors.BaseSelector) -> None:
        """Block (real time) until no worker thread can still hand this loop a result."""
        me = threading.get_ident()
        self._threads.reset_busy_clock()
        while self._jobs_pending() or self._threads.busy_threads(exclude=me):
            # The events are read by the caller's non-blocking select: nothing is lost here.
            real.select(THREAD_SLICE_S)

    def _jobs_pending(self) -> bool:
        """Executor jobs still running, leaving out those running for over
        ``foreign_after_s`` real seconds (so that a job that waits for the loop itself
        cannot hang it)."""
        if not self._in_flight:
            return False
        horizon = time.monotonic() - self._foreign_after_s
        with self._in_flight_lock:
            young = [started for started in self._in_flight.values() if started > horizon]
            old = len(self._in_flight) - len(young)
        if old and not self._warned_jobs:
            self._warned_jobs = True
            log.warning(
                "%d executor job(s) running for over %.1f s of real time: virtual time no "
                "longer waits for them (their results land at a timing-dependent point)",
                old,
                self._foreign_after_s,
            )
        return bool(young)

    # ------------------------------------------------------------------ executor work
    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        """As the base loop, counting the job in flight until its result is handed back."""
        base = self._base
        base._check_closed()
        if executor is None:
            executor = base._default_executor
            base._check_default_executor()
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
                base._default_executor = executor
        # Counted from before submit: the job may finish before submit returns.
        with self._in_flight_lock:
            job = executor.submit(func, *args)
            self._in_flight[job] = time.monotonic()
        # wrap_future adds the done callback that hands the result to this loop (through
        # call_soon_threadsafe) first; ours runs after it, in the same thread (or here, at
        # once, when the job is already done).
        fut: asyncio.Future[T] = asyncio.wrap_future(job, loop=self)
        job.add_done_callback(self._job_done)
        return fut

    def _job_done(self, job: concurrent.futures.Future[Any]) -> None:
        with self._in_flight_lock:
            self._in_flight.pop(job, None)


def run_virtual(
    main: Coroutine[Any, Any, T],
    *,
    speed: float | None = None,
    start: float = 0.0,
    foreign_after_s: float = 1.0,
    debug: bool | None = None,
) -> T:
    """Run ``main`` to completion on a fresh :class:`VirtualTimeLoop`."""

    def factory() -> VirtualTimeLoop:
        return VirtualTimeLoop(speed, start=start, foreign_after_s=foreign_after_s)

    with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
        return runner.run(main)


__all__ = ["THREAD_SLICE_S", "VirtualTimeLoop", "run_virtual"]
