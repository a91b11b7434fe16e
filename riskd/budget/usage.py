"""Budget use across nodes, read from the shared Redis windows (``riskd cluster status``).

The budget's moving windows live in Redis under ``LIMITS:riskd/<rule>/<scope>/<identity>/
<window>s`` (all calls) and ``LIMITS:riskd/<rule>/<scope>/<identity>/poll/<window>s`` (the
polls among them): one Redis list per limit key, newest call first, each entry the POSIX
time of a call. ``scope`` is ``UID`` (``identity`` = the account's identity, one per
exchange UID) or ``IP`` (``identity`` = the ``budget.ip_group``). :func:`usage` counts the
entries inside each window now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from riskd.bitget.endpoints import LimitScope
from riskd.budget.config import BudgetConfigError, BudgetStorageUnreachable
from riskd.budget.limit_table import LIMIT_TABLE, LimitRule
from riskd.budget.storage import MEMORY_SCHEMES, safe_uri
from riskd.redact import redact

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: ``limits``' key prefix and the budget's namespace (riskd.budget.budget.NAMESPACE).
KEY_PREFIX = "LIMITS:riskd/"
_RULES = MappingProxyType({rule.name: rule for rules in LIMIT_TABLE.values() for rule in rules})


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """One limit key's moving window in the shared storage, at one instant."""

    rule: str
    scope: LimitScope
    #: The account identity (UID scope) or the IP group (IP scope).
    identity: str
    #: Calls in the window (every node), and the polls among them.
    used: int
    used_by_polls: int
    #: The documented limit per ``window_s`` seconds.
    limit: int
    window_s: int

    @property
    def label(self) -> str:
        return f"{self.rule}/{self.scope.value}/{self.identity}"

    @property
    def utilisation(self) -> float:
        return self.used / self.limit

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.label,
            "rule": self.rule,
            "scope": self.scope.value,
            "identity": self.identity,
            "used": self.used,
            "used_by_polls": self.used_by_polls,
            "limit": self.limit,
            "window_s": self.window_s,
        }


def parse_key(key: str) -> tuple[LimitRule, str, bool] | None:
    """(rule, identity, polls only) of a budget window key; None for other keys."""
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key[len(KEY_PREFIX) :].split("/")
    polls = len(parts) == 5 and parts[3] == "poll"
    if len(parts) != (5 if polls else 4):
        return None
    name, scope, identity, window = parts[0], parts[1], parts[2], parts[-1]
    rule = _RULES.get(name)
    if rule is None or scope != rule.scope.value or window != f"{rule.window_s}s":
        return None
    return rule, identity, polls


async def usage(
    storage_uri: str, *, timeout_s: float = 2.0, now: float | None = None
) -> list[WindowUsage]:
    """Every limit key with calls in its current window, sorted by identity then rule.

    ``storage_uri`` is ``budget.storage_uri`` (a Redis URI). :class:`BudgetConfigError` for
    ``memory://`` (nothing shared to read); :class:`BudgetStorageUnreachable` (one line,
    no password) when Redis does not answer within ``timeout_s``."""
    from riskd.budget.storage import make_storage
    from riskd.clock import WallClock

    shown = safe_uri(storage_uri)
    scheme = storage_uri.split("://", 1)[0].lower()
    if scheme in MEMORY_SCHEMES:
        raise BudgetConfigError(
            f"budget.storage_uri {shown}: budget use across nodes needs a Redis storage"
        )
    make_storage(storage_uri, WallClock())  # validates the URI, registers the password
    try:
        import redis.asyncio as aioredis
    except ImportError:
        raise BudgetConfigError(
            f"budget.storage_uri {shown}: reading budget use needs the redis>=5.2 package"
        ) from None
    client = aioredis.Redis.from_url(
        storage_uri, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
    )
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(client, time.time() if now is None else now)
    except (TimeoutError, OSError, aioredis.RedisError) as exc:  # one line, no password
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer in time"
        raise BudgetStorageUnreachable(shown, redact(f"Redis does not answer ({text})")) from None
    finally:
        await client.aclose()


async def window_counts(
    client: Redis, now: float
) -> AsyncIterator[tuple[LimitRule, str, bool, int]]:
    """Every budget window key in Redis as ``(rule, identity, polls only, calls in its
    current window)``; other keys are skipped. The one reader of the key format (this
    module's ``usage`` and ``riskd cluster status`` both count through it)."""
    async for raw in client.scan_iter(match=KEY_PREFIX + "*", count=1000):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        parsed = parse_key(key)
        if parsed is None:
            continue
        rule, identity, polls = parsed
        entries = await client.lrange(key, 0, -1)
        cutoff = now - rule.window_s
        yield rule, identity, polls, sum(1 for e in entries if float(e) >= cutoff)


async def _read(client: Redis, now: float) -> list[WindowUsage]:
    counts: dict[tuple[LimitRule, str], list[int]] = {}
    async for rule, identity, polls, n in window_counts(client, now):
        pair = counts.setdefault((rule, identity), [0, 0])
        pair[1 if polls else 0] = n
    rows = [
        WindowUsage(rule.name, rule.scope, identity, used, polls, rule.limit, rule.window_s)
        for (rule, identity), (used, polls) in counts.items()
        if used or polls
    ]
    return sorted(rows, key=lambda r: (r.identity, r.rule))
