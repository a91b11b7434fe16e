"""The frames the virtual-time loop reads are taken with the collector paused
(python/cpython#106883), and the collector's state is left as it was."""

from __future__ import annotations

import gc
import threading

from riskd.thread_idle import current_frames


def test_frames_of_every_thread_and_the_collector_back_on() -> None:
    """The calling thread's frame is there; the collector is on again afterwards."""
    assert gc.isenabled()
    assert threading.get_ident() in current_frames()
    assert gc.isenabled()


def test_a_collector_switched_off_stays_off() -> None:
    """Called with the collector off (a caller's choice), it does not switch it on."""
    gc.disable()
    try:
        current_frames()
        assert not gc.isenabled()
    finally:
        gc.enable()
