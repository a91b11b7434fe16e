"""What ``riskd cluster status`` shows: the nodes, who owns each account (lease age, token),
the unowned accounts, and the shared rate budget's use per UID read from Redis.

Everything is read in one go into a frozen :class:`ClusterStatus`; :meth:`ClusterStatus.lines`
renders text and :meth:`ClusterStatus.to_json` the ``--json`` form. Times are PostgreSQL's.

The budget use is read straight from the ``limits`` moving windows in Redis (lists of call
timestamps under ``LIMITS:riskd/<rule>/UID/<account>/<window>s``, read through
:func:`riskd.budget.usage.window_counts`): the calls of every node in the current window, per
rule and UID.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from riskd.bitget.endpoints import LimitScope
from riskd.budget.usage import parse_key, window_counts
from riskd.cluster import leases, nodes
from riskd.cluster.leases import Lease
from riskd.cluster.nodes import NodeInfo


@dataclass(frozen=True, slots=True)
class BudgetUse:
    """Calls counted in the current moving window of one UID-scoped rule for one account."""

    rule: str
    account: str
    window_s: int
    used: int


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """The cluster at one instant (see the module docstring)."""

    nodes: tuple[NodeInfo, ...]
    leases: tuple[Lease, ...]
    #: The configured accounts (empty: the accounts that have a lease row).
    accounts: tuple[str, ...] = ()
    #: None when no Redis is configured; ``budget_error`` says why it could not be read.
    budget: tuple[BudgetUse, ...] | None = None
    budget_error: str | None = None

    def held_by(self, node_id: str) -> int:
        """Accounts ``node_id`` holds a live lease on."""
        return sum(1 for lease in self.leases if lease.held and lease.owner == node_id)

    def all_accounts(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.accounts) | {lease.account for lease in self.leases}))

    def unowned(self) -> tuple[str, ...]:
        """Accounts without a live lease (nobody acts on them)."""
        held = {lease.account for lease in self.leases if lease.held}
        return tuple(a for a in self.all_accounts() if a not in held)

    def lines(self) -> list[str]:
        out = [f"nodes ({sum(1 for n in self.nodes if n.alive)} alive of {len(self.nodes)}):"]
        if not self.nodes:
            out.append("  none registered")
        for n in self.nodes:
            state = "stopped" if n.stopped else ("alive" if n.alive else "EXPIRED")
            out.append(
                f"  {n.node_id:<12} {state:<8} {n.host}:{n.pid}  heartbeat "
                f"{n.heartbeat_age_s:.1f}s ago, expires {_in(n.expires_in_s)}, "
                f"accounts {self.held_by(n.node_id)}/{n.max_accounts}"
            )
        by_account = {lease.account: lease for lease in self.leases}
        alive = {n.node_id for n in self.nodes if n.alive}
        out.append(f"owners ({len(self.all_accounts()) - len(self.unowned())} owned):")
        for account in self.all_accounts():
            lease = by_account.get(account)
            if lease is None or not lease.held:
                continue
            note = "" if lease.owner in alive else "  (owner not alive)"
            out.append(
                f"  {account:<20} {lease.owner:<12} token {lease.token}, held "
                f"{lease.age_s:.1f}s, renewed {lease.renewed_age_s:.1f}s ago, "
                f"expires {_in(lease.expires_in_s)}{note}"
            )
        unowned = self.unowned()
        out.append(f"unowned ({len(unowned)}): {', '.join(unowned) if unowned else '-'}")
        out.extend(self._budget_lines())
        return out

    def _budget_lines(self) -> list[str]:
        if self.budget_error is not None:
            return [f"budget: n/a ({self.budget_error})"]
        if self.budget is None:
            return ["budget: n/a (no budget.storage_uri = redis://…)"]
        if not self.budget:
            return ["budget per UID: no calls in the current windows"]
        out = ["budget per UID (calls in the current window, all nodes):"]
        for use in self.budget:
            out.append(f"  {use.account:<20} {use.rule:<32} {use.used} / {use.window_s}s")
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "nodes": [
                {
                    "node_id": n.node_id,
                    "host": n.host,
                    "pid": n.pid,
                    "alive": n.alive,
                    "stopped": n.stopped,
                    "started_at": n.started_at.isoformat(),
                    "heartbeat_at": n.heartbeat_at.isoformat(),
                    "heartbeat_age_s": round(n.heartbeat_age_s, 3),
                    "expires_at": n.expires_at.isoformat(),
                    "expires_in_s": round(n.expires_in_s, 3),
                    "accounts_held": self.held_by(n.node_id),
                    "max_accounts": n.max_accounts,
                }
                for n in self.nodes
            ],
            "leases": [
                {
                    "account": lease.account,
                    "owner": lease.owner,
                    "held": lease.held,
                    "token": lease.token,
                    "acquired_at": lease.acquired_at.isoformat(),
                    "age_s": round(lease.age_s, 3),
                    "renewed_age_s": round(lease.renewed_age_s, 3),
                    "expires_at": lease.expires_at.isoformat(),
                    "expires_in_s": round(lease.expires_in_s, 3),
                }
                for lease in self.leases
            ],
            "unowned": list(self.unowned()),
            "budget": None
            if self.budget is None
            else [
                {"account": u.account, "rule": u.rule, "window_s": u.window_s, "used": u.used}
                for u in self.budget
            ],
            "budget_error": self.budget_error,
        }


def _in(seconds: float) -> str:
    return f"in {seconds:.1f}s" if seconds >= 0 else f"{-seconds:.1f}s ago"


async def read_status(conn: asyncpg.Connection, accounts: Iterable[str] = ()) -> ClusterStatus:
    """Nodes and leases (empty when the cluster tables do not exist yet)."""
    try:
        node_rows = await nodes.all_nodes(conn)
        lease_rows = await leases.owners(conn)
    except asyncpg.UndefinedTableError:
        node_rows, lease_rows = (), ()
    return ClusterStatus(node_rows, lease_rows, tuple(sorted(set(accounts))))


def parse_budget_key(key: str) -> tuple[str, str, int] | None:
    """``(rule, account, window_s)`` of a UID-scoped window key, None for any other key
    (IP-scoped, the polls-only windows, foreign keys); the format is
    :func:`riskd.budget.usage.parse_key`'s."""
    parsed = parse_key(key)
    if parsed is None:
        return None
    rule, account, polls = parsed
    if polls or rule.scope is not LimitScope.UID:
        return None
    return rule.name, account, rule.window_s


async def read_budget(redis_url: str, *, timeout_s: float = 5.0) -> tuple[BudgetUse, ...]:
    """Calls per UID-scoped rule and account in the current moving windows, from Redis."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(
        redis_url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
    )
    try:
        out = [
            BudgetUse(rule.name, account, rule.window_s, used)
            async for rule, account, polls, used in window_counts(client, time.time())
            if rule.scope is LimitScope.UID and not polls
        ]
        return tuple(sorted(out, key=lambda u: (u.account, u.rule)))
    finally:
        await client.aclose()


__all__ = [
    "BudgetUse",
    "ClusterStatus",
    "parse_budget_key",
    "read_budget",
    "read_status",
]
