"""Account leases (``riskd_leases``): one owner per account, with a fencing token.

A node holds an account while the account's row names it as ``owner`` and ``expires_at`` is
in the future by PostgreSQL's clock. Every successful :func:`acquire` raises ``token`` by one
(the first one is 1), so a token is never handed out twice for one account, even to the same
node id: a previous instance of the node (frozen, say) may still hold the older token, and
:data:`~riskd.cluster.fence.FENCE_CHECK_SQL` refuses it. :func:`release` keeps the row (with
no owner) so that the token sequence goes on.

Every function is one statement (one implicit transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from riskd.cluster.fence import Fence


@dataclass(frozen=True, slots=True)
class Lease:
    """One row of ``riskd_leases`` and what it means at the database's ``now``."""

    account: str
    #: The node id holding it; None once released.
    owner: str | None
    token: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    #: Owned and not expired, by PostgreSQL's clock.
    held: bool
    #: Seconds since it was acquired / last renewed, by PostgreSQL's clock.
    age_s: float
    renewed_age_s: float
    #: Seconds until it expires (negative once it has).
    expires_in_s: float

    @property
    def fence(self) -> Fence | None:
        """The fence of the holder while the lease is held."""
        if not self.held or self.owner is None:
            return None
        return Fence(self.account, self.owner, self.token)


_ACQUIRE_SQL = """
INSERT INTO riskd_leases AS l (account, owner, token, acquired_at, renewed_at, expires_at)
VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(),
        clock_timestamp() + make_interval(secs => $3))
ON CONFLICT (account) DO UPDATE SET
    owner = EXCLUDED.owner, token = l.token + 1, acquired_at = EXCLUDED.acquired_at,
    renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at
WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at <= clock_timestamp()
RETURNING token
"""


async def acquire(conn: asyncpg.Connection, account: str, node: str, ttl: float) -> Fence | None:
    """Take ``account`` for ``node`` for ``ttl`` seconds when its lease is absent, released,
    expired or already ``node``'s; the new :class:`Fence` (a new token), or None when another
    node holds it."""
    token = await conn.fetchval(_ACQUIRE_SQL, account, node, ttl)
    return None if token is None else Fence(account, node, int(token))


_ACQUIRE_MANY_SQL = """
INSERT INTO riskd_leases AS l (account, owner, token, acquired_at, renewed_at, expires_at)
SELECT a, $2, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + make_interval(secs => $3)
FROM unnest($1::text[]) AS a
ON CONFLICT (account) DO UPDATE SET
    owner = EXCLUDED.owner, token = l.token + 1, acquired_at = EXCLUDED.acquired_at,
    renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at
WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at <= clock_timestamp()
RETURNING account, token
"""


async def acquire_many(
    conn: asyncpg.Connection, accounts: Iterable[str], node: str, ttl: float
) -> tuple[Fence, ...]:
    """:func:`acquire` for several accounts in one statement; the fences of those taken."""
    names = sorted(set(accounts))
    if not names:
        return ()
    rows = await conn.fetch(_ACQUIRE_MANY_SQL, names, node, ttl)
    return tuple(
        sorted(
            (Fence(str(r["account"]), node, int(r["token"])) for r in rows), key=lambda f: f.account
        )
    )


async def renew(conn: asyncpg.Connection, fences: Iterable[Fence], ttl: float) -> frozenset[str]:
    """Extend by ``ttl`` every lease still held under its fence (same owner, same token, not
    expired); the accounts renewed. The others are lost: never renew them blindly."""
    by_node: dict[str, list[Fence]] = {}
    for fence in fences:
        by_node.setdefault(fence.node, []).append(fence)
    renewed: set[str] = set()
    for node, group in sorted(by_node.items()):
        rows = await conn.fetch(
            "UPDATE riskd_leases AS l SET renewed_at = clock_timestamp(),"
            " expires_at = clock_timestamp() + make_interval(secs => $4)"
            " FROM unnest($1::text[], $2::bigint[]) AS f(account, token)"
            " WHERE l.account = f.account AND l.token = f.token AND l.owner = $3"
            " AND l.expires_at > clock_timestamp()"
            " RETURNING l.account",
            [f.account for f in group],
            [f.token for f in group],
            node,
            ttl,
        )
        renewed.update(str(r["account"]) for r in rows)
    return frozenset(renewed)


async def release(conn: asyncpg.Connection, account: str, node: str, token: int) -> bool:
    """Give ``account`` up at once (when ``node`` still holds it under ``token``); True when
    it was released."""
    row = await conn.fetchrow(
        "UPDATE riskd_leases SET owner = NULL, expires_at = clock_timestamp()"
        " WHERE account = $1 AND owner = $2 AND token = $3 RETURNING account",
        account,
        node,
        token,
    )
    return row is not None


async def owners(conn: asyncpg.Connection) -> tuple[Lease, ...]:
    """Every lease row (held, expired or released), by account."""
    rows = await conn.fetch(
        """
        SELECT account, owner, token, acquired_at, renewed_at, expires_at,
               (owner IS NOT NULL AND expires_at > t.now) AS held,
               EXTRACT(EPOCH FROM t.now - acquired_at)::double precision AS age_s,
               EXTRACT(EPOCH FROM t.now - renewed_at)::double precision AS renewed_age_s,
               EXTRACT(EPOCH FROM expires_at - t.now)::double precision AS expires_in_s
        FROM riskd_leases, (SELECT clock_timestamp() AS now) AS t
        ORDER BY account
        """
    )
    return tuple(
        Lease(
            account=str(r["account"]),
            owner=None if r["owner"] is None else str(r["owner"]),
            token=int(r["token"]),
            acquired_at=r["acquired_at"],
            renewed_at=r["renewed_at"],
            expires_at=r["expires_at"],
            held=bool(r["held"]),
            age_s=float(r["age_s"]),
            renewed_age_s=float(r["renewed_age_s"]),
            expires_in_s=float(r["expires_in_s"]),
        )
        for r in rows
    )


__all__ = ["Lease", "acquire", "acquire_many", "owners", "release", "renew"]
