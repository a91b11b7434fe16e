"""Rate limits per endpoint and scope, as the endpoint table lists them.

Sliding windows over the event loop's monotonic time (:func:`loop_time`): the wall with a
standard loop, virtual time on a :class:`~riskd.virtual_time.VirtualTimeLoop` (the demo and
the suite: the daemon's rate budget counts in the same time, so both sides agree however fast
the run goes). IP-scoped limits count per client address, UID-scoped
limits per account (one API key each), each API version with its own windows (the table's
limits per version: many v1 IP limits are per UID on v2); unsigned (public) endpoints also
share the global ``PUBLIC_GLOBAL_LIMIT`` requests per ``PUBLIC_GLOBAL_WINDOW_S`` per IP. A
refused request is not counted. Limiting can be switched off (``enabled = False``).

A batch order counts as one request per started ten orders ("10 orders per currency pair will
be counted as one request"; a batch here has one symbol): see :func:`batch_weight`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from riskd.bitget.endpoints import PUBLIC_GLOBAL_LIMIT, PUBLIC_GLOBAL_WINDOW_S, Endpoint, LimitScope

Bucket = tuple[str, int, float]


def loop_time() -> float:
    """The running event loop's ``time()``; ``time.monotonic()`` outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def batch_weight(endpoint: Endpoint, body: Mapping[str, object]) -> int:
    """How many requests a call counts for: ``ceil(len(orderList) / 10)`` for batch orders."""
    orders = body.get("orderList") if endpoint.name.endswith("batch_place_order") else None
    if isinstance(orders, list) and orders:
        return -(-len(orders) // 10)
    return 1


def ip_buckets(endpoint: Endpoint, ip: str) -> list[Bucket]:
    """Windows counted before authentication: the endpoint's IP limit and the public one."""
    out: list[Bucket] = []
    if endpoint.scope is LimitScope.IP:
        out.append((f"{endpoint.key}|ip|{ip}", endpoint.limit, float(endpoint.window_s)))
    if endpoint.public:
        out.append((f"public|ip|{ip}", PUBLIC_GLOBAL_LIMIT, float(PUBLIC_GLOBAL_WINDOW_S)))
    return out


def uid_buckets(endpoint: Endpoint, uid: str) -> list[Bucket]:
    """Windows counted once the API key is known: the endpoint's UID limit."""
    if endpoint.scope is LimitScope.UID:
        return [(f"{endpoint.key}|uid|{uid}", endpoint.limit, float(endpoint.window_s))]
    return []


class RateLimiter:
    """Sliding-window counters keyed by bucket name."""

    def __init__(self, monotonic: Callable[[], float] = loop_time, enabled: bool = True):
        self._monotonic = monotonic
        self.enabled = enabled
        self._hits: dict[str, deque[float]] = {}
        self.refused = 0

    def allow(self, buckets: Sequence[Bucket], weight: int = 1) -> bool:
        """Count ``weight`` requests in every bucket, or none at all if any would overflow."""
        if not self.enabled or not buckets:
            return True
        now = self._monotonic()
        windows = []
        for key, limit, window in buckets:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) + weight > limit:
                self.refused += 1
                return False
            windows.append(hits)
        for hits in windows:
            hits.extend([now] * weight)
        return True

    def reset(self) -> None:
        self._hits.clear()
