"""Small ASGI helpers of the dashboard: responses, request headers, the request body, and
the host and origin checks."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from riskd.ops.asgi import TEXT_PLAIN, ASGIApp, Receive, Scope, Send, is_loopback, respond_with
from riskd.redact import redact

#: Longest request body taken (pause / resume take a tiny JSON object).
MAX_BODY = 4096
#: The page loads its own script and style only; nothing may frame it.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = TEXT_PLAIN,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await respond_with(send, status, body, content_type, [*SECURITY_HEADERS, *(extra or [])])


async def respond_json(send: Send, status: int, doc: object) -> None:
    """``doc`` as JSON; the text passes through :func:`redact` (no secret leaves)."""
    body = redact(json.dumps(doc, separators=(",", ":"), default=str)).encode() + b"\n"
    await respond(send, status, body, b"application/json")


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), decoded as latin-1."""
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes | None:
    """The request body; None when it is longer than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = bytes(message.get("body") or b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def host_name(value: str | None) -> str | None:
    """The host of a ``Host`` header (no port, no brackets), lower case; None if malformed."""
    if not value:
        return None
    try:
        parts = urlsplit(f"//{value}")
        name = parts.hostname
        _ = parts.port  # raises on a bad port
    except ValueError:
        return None
    return name.lower() if name else None


def host_allowed(value: str | None, bound_host: str) -> bool:
    """Whether a request's ``Host`` names this server: a loopback name, or the host it is
    bound to (any name when bound to every address). Refuses DNS-rebinding pages."""
    name = host_name(value)
    if name is None:
        return False
    if bound_host in _WILDCARDS:
        return True
    if name in _LOOPBACK_NAMES or name == bound_host.strip("[]").lower():
        return True
    try:
        return ipaddress.ip_address(name).is_loopback and is_loopback(bound_host)
    except ValueError:
        return False


def same_origin(origin: str | None, host_value: str | None) -> bool:
    """Whether ``Origin`` is this very server (``http(s)://`` + the request's ``Host``)."""
    if not origin or not host_value or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_value.lower()


__all__ = [
    "MAX_BODY",
    "SECURITY_HEADERS",
    "ASGIApp",
    "Receive",
    "Scope",
    "Send",
    "header",
    "host_allowed",
    "host_name",
    "read_body",
    "respond",
    "respond_json",
    "same_origin",
]
