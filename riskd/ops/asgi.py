"""Plain ASGI helpers shared by the operations endpoint (:mod:`riskd.ops.server`) and the
dashboard (:mod:`riskd.dashboard.http`): the ASGI callable types, a whole-body response, and
whether a host is a loopback address."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEXT_PLAIN = b"text/plain; charset=utf-8"


#: The one header every operations response carries.
NO_STORE: tuple[tuple[bytes, bytes], ...] = ((b"cache-control", b"no-store"),)


async def respond_with(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = TEXT_PLAIN,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Send one whole response: ``content-type``, ``content-length``, then ``headers``."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


__all__ = [
    "NO_STORE",
    "TEXT_PLAIN",
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "is_loopback",
    "respond_with",
]
