"""The lease keeper: one asyncio task per node that keeps this node's share of the accounts.

Every period (``ttl / 3``) one *round*:

1. renew the leases held (only those still held under their token; the others are lost);
2. heartbeat the node's row (after the renewals, so a node seen dead has its leases expired);
3. read the live nodes and the lease owners, compute the target with
   :func:`riskd.cluster.assign.assign`;
4. release the accounts whose target is another live node (a hand-over is a release, not an
   expiry, so the new owner takes them at its next round);
5. acquire the accounts assigned here that nobody else holds (free, released or expired).

Ownership is checked twice. PostgreSQL's clock decides when a lease expires (the journal's
:data:`~riskd.cluster.fence.FENCE_CHECK_SQL`); and locally each lease has a *monotonic
deadline*: the time the renewal (or acquisition) was sent + ttl − a safety margin. Once it
passes without a successful renewal the keeper treats the lease as lost, so a node frozen
(SIGSTOP) and resumed never believes it still owns anything, and a node cut off from
PostgreSQL stops acting on shared accounts within one ttl.

Errors talking to PostgreSQL never escape the task: it logs once, sets :attr:`lost_database`,
drops the connection, retries every period and says when it is back.

A dead node's accounts are taken within ttl + one period: its leases expire at most ttl after
its last renewal, and every other node's next round (at most one period later) sees them
free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import asyncpg

from riskd.cluster import leases, nodes
from riskd.cluster.assign import NodeCapacity, assign
from riskd.cluster.fence import Fence
from riskd.cluster.nodes import NodeIdInUse
from riskd.cluster.pg import (
    CONNECT_TIMEOUT_S,
    ClusterDatabaseError,
    ConnectFactory,
    connect,
    describe,
    reason,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HeldLease:
    """A lease this node holds: its fence and the local monotonic deadline."""

    fence: Fence
    deadline: float


class LeaseKeeper:
    """Keeps this node's leases (see the module docstring).

    ``pg`` is the PostgreSQL URL or a factory of connections; ``accounts`` every account of
    the cluster (the same on every node); ``ttl`` the lease duration in seconds. ``monotonic``
    is the local clock of the deadlines (tests inject one to simulate a freeze). ``period``
    (default ttl/3) and ``safety_margin`` (default ttl/10) may be given;
    ``run_in_background=False`` leaves the rounds to :meth:`tick` (tests).
    """

    def __init__(
        self,
        pg: str | ConnectFactory,
        node_id: str,
        accounts: Iterable[str],
        max_accounts: int,
        ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        period: float | None = None,
        safety_margin: float | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        run_in_background: bool = True,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"lease ttl must be > 0, got {ttl}")
        if max_accounts < 0:
            raise ValueError(f"max_accounts must be >= 0, got {max_accounts}")
        self.node_id = node_id
        #: This start of the node (a second process with the same node id has another).
        self.instance = uuid.uuid4().hex
        self.ttl = float(ttl)
        self.period = float(period) if period is not None else self.ttl / 3
        self.safety_margin = float(safety_margin) if safety_margin is not None else ttl / 10
        if not 0 < self.period < self.ttl - self.safety_margin:
            raise ValueError(
                f"lease period {self.period}s must be > 0 and below ttl - margin "
                f"({self.ttl - self.safety_margin}s)"
            )
        self.max_accounts = max_accounts
        self._accounts = tuple(sorted(set(accounts)))
        self._monotonic = monotonic
        self._connect_timeout = connect_timeout
        self._background = run_in_background
        self._host = host
        self._pid = pid
        if isinstance(pg, str):
            url = pg
            self._where = describe(url)

            async def factory() -> asyncpg.Connection:
                return await connect(url, timeout=connect_timeout, command_timeout=self.period)

            self._factory: ConnectFactory = factory
        else:
            self._where = "PostgreSQL"
            self._factory = pg
        self._conn: asyncpg.Connection | None = None
        self._held: dict[str, HeldLease] = {}
        self._acquired: set[str] = set()
        #: account → the node whose lease on it ran out when this node took it (a takeover,
        #: not a hand-over), until :meth:`take_takeovers`.
        self._taken_from: dict[str, str] = {}
        self._lost: set[str] = set()
        self._registered = False
        self._displaced_logged = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Accounts not to hand over to a joining node now (the daemon: a rule pending or
        #: firing, an action outstanding); None: hand over whenever the target says.
        self.keep: Callable[[str], bool] | None = None
        #: True while PostgreSQL cannot be reached (the leases last until their deadlines).
        self.lost_database = False
        #: Accounts no live node has room for (from the last round; the caller alerts).
        self.unowned: frozenset[str] = frozenset()
        #: Rounds that completed, and rounds that failed (for status and tests).
        self.rounds = 0
        self.failed_rounds = 0

    def __repr__(self) -> str:
        return f"LeaseKeeper({self.node_id!r}, {self._where}, ttl={self.ttl:g}s)"

    # --- the interface the daemon uses ------------------------------------------------------
    async def start(self) -> None:
        """Create the tables, register the node (:class:`NodeIdInUse` when another live
        process has this node id; :class:`ClusterDatabaseError` when PostgreSQL cannot be
        used), run the first round and start the task."""
        try:
            conn = await self._connection()
            await nodes.ensure_schema(conn)
            await self._register(conn)
        except (NodeIdInUse, ClusterDatabaseError):
            await self._drop_connection()
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            await self._drop_connection()
            raise ClusterDatabaseError(f"PostgreSQL {self._where}: {reason(exc)}") from None
        await self.tick()
        if self._background:
            self._task = asyncio.create_task(self._loop(), name=f"lease-keeper-{self.node_id}")

    async def stop(self) -> None:
        """Stop the task, deregister the node and release its leases (at once, so the other
        nodes take the accounts at their next round). Never raises for PostgreSQL errors."""
        registered = self._registered
        await self._halt("stopping")
        if registered:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    conn = await self._connection()
                    await nodes.deregister(conn, self.node_id, self.instance)
            except Exception as exc:  # noqa: BLE001 - logged; the leases expire on their own
                log.warning(
                    "node %s: could not deregister (%s); its leases expire within %gs",
                    self.node_id,
                    reason(exc),
                    self.ttl,
                )
            await self._drop_connection()

    async def abandon(self) -> None:
        """Stop the task and drop the connection WITHOUT deregistering or releasing: what a
        crash leaves behind (the other nodes take over once the leases expire). For tests and
        the cluster harness."""
        await self._halt("abandoned")

    async def _halt(self, what: str) -> None:
        """Cancel the task, own nothing, drop the connection (a round cancelled mid-query
        may leave it busy: deregistering uses a fresh one)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._held:
            log.info("node %s %s: giving up %d leases", self.node_id, what, len(self._held))
        for account in sorted(self._held):
            self._lose(account, f"node {what}", level=0)
        self._registered = False
        await self._drop_connection()

    def owns(self, account: str) -> bool:
        """True while this node holds ``account``'s lease and its local deadline has not
        passed."""
        self._expire_local()
        return account in self._held

    def fence(self, account: str) -> Fence | None:
        """The fence to journal ``account``'s intents with; None when not owned (as
        :meth:`owns`)."""
        self._expire_local()
        held = self._held.get(account)
        return None if held is None else held.fence

    def take_changes(self) -> tuple[frozenset[str], frozenset[str]]:
        """``(acquired, lost)`` since the last call. An account in both was lost, then
        acquired again (under a new token): drop its state, then load it again."""
        self._expire_local()
        out = (frozenset(self._acquired), frozenset(self._lost))
        self._acquired.clear()
        self._lost.clear()
        return out

    def take_takeovers(self) -> dict[str, str]:
        """Accounts taken from a node whose lease ran out (it stopped renewing: crashed,
        frozen or cut off), account → that node, since the last call; a hand-over (released)
        is not one."""
        out = dict(self._taken_from)
        self._taken_from.clear()
        return out

    @property
    def held(self) -> frozenset[str]:
        """The accounts owned now (as :meth:`owns`)."""
        self._expire_local()
        return frozenset(self._held)

    # --- rounds -------------------------------------------------------------------------------
    async def tick(self) -> None:
        """One round (the task runs one every period). Never raises for PostgreSQL errors."""
        self._expire_local()
        try:
            async with asyncio.timeout(self.period):
                conn = await self._connection()
                await self._round(conn)
        except NodeIdInUse as exc:
            if not self._displaced_logged:
                log.error("node %s: displaced: %s; it owns nothing", self.node_id, exc)
                self._displaced_logged = True
            self.failed_rounds += 1
            return
        except Exception as exc:  # noqa: BLE001 - logged once per outage; the task goes on
            self.failed_rounds += 1
            await self._drop_connection()
            if not self.lost_database:
                self.lost_database = True
                log.error(
                    "node %s: %s cannot be used (%s); keeping leases until their deadlines "
                    "(at most %gs), then acting on no shared account",
                    self.node_id,
                    self._where,
                    reason(exc) or type(exc).__name__,
                    self.ttl - self.safety_margin,
                )
            return
        self.rounds += 1
        self._displaced_logged = False
        if self.lost_database:
            self.lost_database = False
            log.warning("node %s: %s reachable again", self.node_id, self._where)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self._stopping:
            next_at += self.period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() > next_at + self.period:  # fell behind (frozen, slow): catch up
                next_at = loop.time()
            await self.tick()

    async def _round(self, conn: asyncpg.Connection) -> None:
        if not self._registered:
            await self._register(conn)
        await self._renew(conn)
        if not await nodes.heartbeat(
            conn, self.node_id, self.instance, self.ttl, self.max_accounts
        ):
            self._registered = False
            for account in sorted(self._held):
                self._lose(account, "node row taken over")
            await self._register(conn)
        live = await nodes.live_nodes(conn)
        rows = await leases.owners(conn)
        live_ids = {n.node_id for n in live}
        current = {r.account: r.owner for r in rows if r.held and r.owner in live_ids}
        for account in self._held:  # what this node knows it holds
            current[account] = self.node_id
        target = assign(
            [NodeCapacity(n.node_id, n.max_accounts) for n in live],
            self._accounts,
            {a: o for a, o in current.items() if o is not None},
        )
        self.unowned = target.unowned
        for account in sorted(self._held):
            dest = target.owner_of(account)
            if dest is not None and dest != self.node_id and dest in live_ids:
                if self.keep is not None and self.keep(account):
                    # At risk or mid-action here: handed over once calm, not mid-crash
                    # (a hand-over leaves the account without an owner for up to a round).
                    log.debug("node %s: keeps %s until it is calm", self.node_id, account)
                    continue
                fence = self._held[account].fence
                self._lose(account, f"handed over to {dest}", level=logging.INFO)
                await leases.release(conn, account, self.node_id, fence.token)
        busy = {r.account for r in rows if r.held and r.owner != self.node_id}
        ran_out = {
            r.account: r.owner
            for r in rows
            if r.owner is not None and r.owner != self.node_id and not r.held
        }
        # Accounts held elsewhere are taken at a later round, once released or expired.
        wanted = sorted(target.accounts_of(self.node_id) - set(self._held) - busy)
        wanted = wanted[: max(0, self.max_accounts - len(self._held))]
        if wanted:
            sent = self._monotonic()
            for fence in await leases.acquire_many(conn, wanted, self.node_id, self.ttl):
                self._held[fence.account] = HeldLease(fence, self._deadline(sent))
                self._acquired.add(fence.account)
                if fence.account in ran_out:
                    self._taken_from[fence.account] = ran_out[fence.account]
                log.info(
                    "node %s: acquired %s (token %d)", self.node_id, fence.account, fence.token
                )

    async def _renew(self, conn: asyncpg.Connection) -> None:
        held = list(self._held.values())
        if not held:
            return
        sent = self._monotonic()
        renewed = await leases.renew(conn, [h.fence for h in held], self.ttl)
        for h in held:
            account = h.fence.account
            if self._held.get(account) != h:
                continue
            if account in renewed:
                self._held[account] = replace(h, deadline=self._deadline(sent))
            else:
                self._lose(account, "lease taken or expired")

    async def _register(self, conn: asyncpg.Connection) -> None:
        await nodes.register(
            conn,
            self.node_id,
            self.instance,
            self.max_accounts,
            self.ttl,
            host=self._host,
            pid=self._pid,
        )
        self._registered = True

    # --- local state ------------------------------------------------------------------------
    def _deadline(self, sent: float) -> float:
        return sent + self.ttl - self.safety_margin

    def _expire_local(self) -> None:
        now = self._monotonic()
        for account in [a for a, h in self._held.items() if now >= h.deadline]:
            self._lose(account, "local deadline passed without a renewal")

    def _lose(self, account: str, why: str, *, level: int = logging.WARNING) -> None:
        """Forget ``account``'s lease and report it lost; logged at ``level`` (0: not at all)."""
        held = self._held.pop(account, None)
        if held is None:
            return
        self._lost.add(account)
        if level:
            token = held.fence.token
            log.log(level, "node %s: lost %s (token %d): %s", self.node_id, account, token, why)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._factory()
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()


__all__ = ["ClusterDatabaseError", "HeldLease", "LeaseKeeper", "NodeIdInUse"]
