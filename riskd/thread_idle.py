"""Which threads of this process are idle: the virtual-time loop's view of worker threads.

:class:`~riskd.virtual_time.VirtualTimeLoop` only moves virtual time when no worker thread
can still hand the loop a result. A thread is **idle** when it is blocked waiting for work on
an *empty* queue; every other state is busy. Read from ``sys._current_frames()``:

- innermost frame ``threading.Condition.wait`` (``Event.wait``, ``queue.Queue.get``): idle,
  unless a ``queue.Queue.get`` frame on its stack belongs to a queue holding items. The queue
  is read under its own mutex, so a woken worker cannot pop between the two reads.
- innermost frame blocked on the exact ``….get()`` call of a C ``SimpleQueue`` held in its
  locals (``concurrent.futures.thread._worker``, aiosqlite's connection thread): idle when
  every such queue is empty **and** the thread has not run since it was last seen idle (its
  CPU time, ``time.pthread_getcpuclockid``, is unchanged) — or, if it has run, when its
  kernel state is sleeping and its CPU time stays unchanged across a short real wait with
  the GIL released. That closes the gap between "popped its item" and "left the call".

A thread busy for more than ``foreign_after_s`` real seconds is *foreign* (logged once at
warning with its name) and ignored until it is next seen idle, so the loop never hangs on it.

``sys._current_frames()`` runs with the garbage collector paused: on CPython up to 3.11 a
collection triggered inside it (it allocates while holding the runtime's thread-list lock)
can free an object whose deallocation takes that lock again, and the process deadlocks
(python/cpython#106883, not fixed in 3.11). The loop calls it at every step, so over a
test suite the deadlock did happen.
"""

from __future__ import annotations

import dis
import gc
import logging
import queue
import select
import sys
import threading
import time
from collections.abc import Iterable
from types import CodeType, FrameType

log = logging.getLogger(__name__)

_THREADING_FILE = threading.__file__
_QUEUE_FILE = queue.__file__
_get_calls: dict[CodeType, frozenset[int]] = {}


def _get_call_offsets(code: CodeType) -> frozenset[int]:
    """Offsets of the ``CALL`` instructions that call a ``.get`` attribute in ``code``."""
    found = _get_calls.get(code)
    if found is None:
        offsets: set[int] = set()
        pending = False
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_METHOD", "LOAD_ATTR") and ins.argval == "get":
                pending = True
            elif pending and ins.opname == "CALL":
                offsets.add(ins.offset)
                pending = False
        found = _get_calls[code] = frozenset(offsets)
    return found


def current_frames() -> dict[int, FrameType]:
    """``sys._current_frames()`` with the collector paused (see the module docstring); the
    collector's state is restored, also when it was off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return sys._current_frames()
    finally:
        if enabled:
            gc.enable()


def _cpu_ns(ident: int) -> int | None:
    try:
        return time.clock_gettime_ns(time.pthread_getcpuclockid(ident))
    except (OSError, AttributeError):
        return None


def _kernel_state(native_id: int | None) -> str | None:
    """The thread's state letter from ``/proc`` (``R`` running or runnable, ``S`` sleeping)."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :][:1].decode()


class _Verdict:
    IDLE = "idle"
    BUSY = "busy"
    QUEUE_WAIT = "queue-wait"  # idle-looking on a SimpleQueue: needs the CPU-time check


def _classify(frame: FrameType) -> str:
    code = frame.f_code
    if code.co_filename == _THREADING_FILE and code.co_name == "wait":
        f: FrameType | None = frame
        while f is not None:
            if f.f_code.co_filename == _QUEUE_FILE and f.f_code.co_name == "get":
                q = f.f_locals.get("self")
                if isinstance(q, queue.Queue) and not _queue_empty(q):
                    return _Verdict.BUSY
            f = f.f_back
        return _Verdict.IDLE
    if frame.f_lasti in _get_call_offsets(code):
        queues = [v for v in frame.f_locals.values() if isinstance(v, queue.SimpleQueue)]
        if queues:
            return _Verdict.QUEUE_WAIT if all(q.empty() for q in queues) else _Verdict.BUSY
    return _Verdict.BUSY


def _queue_empty(q: queue.Queue[object]) -> bool:
    if not q.mutex.acquire(timeout=0.01):
        return False
    try:
        return q._qsize() == 0
    finally:
        q.mutex.release()


class ThreadWatch:
    """Tells whether every thread but the loop's own is idle (see the module docstring)."""

    def __init__(self, foreign_after_s: float = 1.0) -> None:
        self.foreign_after_s = foreign_after_s
        self._idle_cpu: dict[int, int | None] = {}
        self._busy_since: dict[int, float] = {}
        self._foreign: set[int] = set()
        self._warned: set[int] = set()
        self._natives: dict[int, int | None] = {}

    def busy_threads(self, exclude: int) -> list[int]:
        """Idents of the threads that are busy now (foreign threads left out)."""
        frames = current_frames()
        busy: list[int] = []
        unsure: list[int] = []
        for ident, frame in frames.items():
            if ident == exclude:
                continue
            verdict = _classify(frame)
            if verdict == _Verdict.QUEUE_WAIT:
                cpu = _cpu_ns(ident)
                if cpu is None or cpu != self._idle_cpu.get(ident, -1):  # ran since: confirm
                    unsure.append(ident)
                    continue
                verdict = _Verdict.IDLE
            self._note(ident, verdict == _Verdict.IDLE, busy)
        if unsure:
            self._settle(unsure, busy)
        self._forget_gone(frames.keys())
        del frames
        return busy

    def _settle(self, idents: Iterable[int], busy: list[int]) -> None:
        """Threads idle-looking on a SimpleQueue that ran since last seen idle: confirm."""
        if any(i not in self._natives for i in idents):
            self._natives = {
                t.ident: t.native_id for t in threading.enumerate() if t.ident is not None
            }
        natives = self._natives
        before = {i: _cpu_ns(i) for i in idents}
        # Release the GIL without giving up the CPU (a zero-timeout select): a thread waiting
        # for it (one that popped an item) is woken, so it is runnable (``R``) or has moved.
        select.select([], [], [], 0)
        frames = current_frames()
        for ident, cpu in before.items():
            frame = frames.get(ident)
            # Where the CPU clock or /proc is missing (not Linux), the frame check after the
            # GIL release is all there is: a weaker guarantee, never a hang.
            ok = (
                frame is not None
                and _classify(frame) == _Verdict.QUEUE_WAIT
                and _cpu_ns(ident) == cpu
                and _kernel_state(natives.get(ident)) != "R"
            )
            if ok:
                self._idle_cpu[ident] = cpu
            self._note(ident, ok, busy)

    def _note(self, ident: int, idle: bool, busy: list[int]) -> None:
        if idle:
            self._busy_since.pop(ident, None)
            self._foreign.discard(ident)
            return
        if ident in self._foreign:
            return
        now = time.monotonic()
        since = self._busy_since.setdefault(ident, now)
        if now - since > self.foreign_after_s:
            self._foreign.add(ident)
            if ident not in self._warned:
                self._warned.add(ident)
                name = next((t.name for t in threading.enumerate() if t.ident == ident), "?")
                log.warning(
                    "thread %r busy for over %.1f s of real time: virtual time no longer "
                    "waits for it (results it hands the loop land at a timing-dependent point)",
                    name,
                    self.foreign_after_s,
                )
            return
        busy.append(ident)

    def _forget_gone(self, alive: Iterable[int]) -> None:
        live = set(alive)
        for d in (self._idle_cpu, self._busy_since, self._natives):
            for ident in [i for i in d if i not in live]:
                del d[ident]
        self._foreign &= live

    def reset_busy_clock(self) -> None:
        """Start counting "busy for over ``foreign_after_s``" afresh (a new loop step)."""
        self._busy_since.clear()


__all__ = ["ThreadWatch"]
