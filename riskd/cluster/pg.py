"""Connecting to the cluster's PostgreSQL: a bounded connect and one-line errors that name
``host:port/database``, never the password (which is registered with :mod:`riskd.redact`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import asyncpg

from riskd.redact import redact, register_secret

#: How long opening a connection may take before it counts as unreachable.
CONNECT_TIMEOUT_S = 5.0

#: Opens a new connection (tests inject one; by default :func:`connect` on the URL).
ConnectFactory = Callable[[], Awaitable[asyncpg.Connection]]


class ClusterDatabaseError(Exception):
    """PostgreSQL cannot be used: the message is one line naming ``host:port/db``."""


def describe(url: str) -> str:
    """``host:port/database`` of a ``postgresql://`` URL (no user, no password); registers
    the password (in the URL or its query) as a secret."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "an unparsable PostgreSQL URL"
    if parts.password:
        register_secret(parts.password)
    query = parse_qs(parts.query)
    for value in query.get("password", []):
        register_secret(value)
    host = parts.hostname or (query.get("host", ["localhost"])[0])
    database = parts.path.lstrip("/") or (query.get("dbname", [""])[0]) or "?"
    return redact(f"{host}:{port or 5432}/{database}")


def check_url(url: str) -> None:
    """ClusterDatabaseError unless ``url`` is a ``postgresql://`` (or ``postgres://``) URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("postgresql", "postgres"):
        raise ClusterDatabaseError(
            f"journal_url {describe(url)!r} is not a postgresql://user@host:port/db URL"
        )


async def connect(
    url: str,
    *,
    timeout: float = CONNECT_TIMEOUT_S,  # noqa: ASYNC109 - asyncpg's own connect timeout
    command_timeout: float | None = None,
) -> asyncpg.Connection:
    """A new connection to ``url``; ClusterDatabaseError (one line) when it cannot be made
    within ``timeout`` seconds."""
    check_url(url)
    where = describe(url)
    try:
        return await asyncpg.connect(url, timeout=timeout, command_timeout=command_timeout)
    except TimeoutError:
        raise ClusterDatabaseError(f"PostgreSQL {where}: no answer within {timeout:g}s") from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise ClusterDatabaseError(f"PostgreSQL {where}: {reason(exc)}") from None


def reason(exc: BaseException) -> str:
    """One redacted line saying what went wrong."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)


__all__ = [
    "CONNECT_TIMEOUT_S",
    "ClusterDatabaseError",
    "ConnectFactory",
    "check_url",
    "connect",
    "describe",
    "reason",
]
