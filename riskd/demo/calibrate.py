"""How much slower this machine runs riskd than the one the suite speeds were tuned on.

The scenario suite runs on a clock ``speed`` times faster than the wall: a cycle's wall cost
(signing, the in-process simulator, the journal's fsync) becomes ``speed`` times longer in
market time. On a slower machine the same speed would leave the daemon less market time per
cycle than the scenarios were written for, and the suite would test the CPU instead of riskd.
:func:`slowdown` times signed requests through the client and the in-process simulator (as
the suite does) against :data:`REFERENCE_REQUEST_S`, measured where the suite speeds were
tuned; the suite divides its speeds by it (never speeds up). ``RISKD_SUITE_SLOWDOWN``
overrides the measurement.
"""

from __future__ import annotations

import os
import time

import httpx

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.clock import ManualClock
from riskd.sim import Simulator

#: One signed ``cross_risk_rate`` through BitgetClient and the in-process simulator on the
#: machine the suite speeds were tuned on (2-core AMD EPYC: 0.32–0.42 ms, best of 5 rounds),
#: divided by the growth of a cycle's other work since the speeds were tuned (v2 reading
#: checks, typed events, liquidation reads: about 1.3×, the suite's whipsaw and 429-storm
#: scenarios failed one full run in three without it). Virtual time (issue 17) replaces this.
REFERENCE_REQUEST_S = 0.00025
ENV = "RISKD_SUITE_SLOWDOWN"
_cached: float | None = None


async def request_time(n: int = 30, rounds: int = 5) -> float:
    """Best of ``rounds`` timings of ``n`` signed requests (after a warm-up), per request:
    the best round is the machine's speed, the others add other processes' noise."""
    sim = Simulator(clock=ManualClock(), rate_limits=False)
    keys = sim.add_account("calibrate")
    base = "http://sim"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=base) as http:
        creds = Credentials.hmac(keys.api_key, keys.secret, keys.passphrase)
        async with BitgetClient(creds, http=http, base_url=base) as client:
            for _ in range(20):
                await client.cross_risk_rate(coin="USDT")
            per: list[float] = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(n):
                    await client.cross_risk_rate(coin="USDT")
                per.append((time.perf_counter() - t0) / n)
    return min(per)


def forget() -> None:
    """Measure again at the next :func:`slowdown` (tests)."""
    global _cached
    _cached = None


async def slowdown() -> float:
    """This machine's slowdown against the reference (≥ 1; measured once per process)."""
    global _cached
    if _cached is None:
        forced = os.environ.get(ENV)
        if forced:
            try:
                _cached = max(1.0, float(forced))
            except ValueError:
                raise ValueError(f"{ENV}={forced!r} is not a number") from None
        else:
            _cached = max(1.0, await request_time() / REFERENCE_REQUEST_S)
    return _cached
