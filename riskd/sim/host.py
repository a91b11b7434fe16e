"""What the ASGI app and the WebSocket streams need of the simulator: :class:`SimHost`.

The app (:mod:`riskd.sim.app`) and the streams (:mod:`riskd.sim.ws`, :mod:`riskd.sim.ws_v2`)
take a ``SimHost``; :class:`riskd.sim.simulator.Simulator` is one. Neither side imports the
other's module, so the simulator's modules import in one direction only.
"""

from __future__ import annotations

import threading
from typing import Protocol

from riskd.clock import Clock
from riskd.sim.auth import Authenticator
from riskd.sim.exchange import Exchange
from riskd.sim.faults import Faults
from riskd.sim.ratelimit import RateLimiter
from riskd.sim.state import Counters


class SimHost(Protocol):
    """The simulator's parts a request or a stream touches (under ``lock``)."""

    clock: Clock
    lock: threading.RLock
    exchange: Exchange
    faults: Faults
    limiter: RateLimiter
    auth: Authenticator
    counters: Counters
    #: Wall seconds between WebSocket v2 pushes.
    ws_push_interval_s: float

    def server_time_ms(self) -> int:
        """The protocol clock in ms (wall time plus any clock-skew fault)."""
        ...


__all__ = ["SimHost"]
