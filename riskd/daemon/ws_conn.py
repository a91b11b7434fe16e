"""One WebSocket kept open: connect, hand messages to a handler, keep alive, reconnect.

Bitget's WebSocket rules (ENDPOINTS-v2.md §4): send the text ``ping`` every 30 s and expect
``pong``; the server drops a connection after 2 min without a ping (and every 24 h anyway).
:class:`ReconnectingSocket` therefore pings every ``ping_s`` (25 s) **whatever the traffic**
(a busy index-price feed is no keep-alive), treats a ``pong`` that does not come within
``pong_timeout_s`` as a dead connection, and reconnects after any loss with an exponential
backoff (``backoff_min_s`` doubling to ``backoff_max_s``, with jitter so that several
sockets do not reconnect in step; 300 connection attempts per IP per 5 min are allowed).

What is said on the connection belongs to a :class:`SocketHandler`: ``opened`` (log in,
subscribe), ``message`` (every text but ``pong``) and ``tick`` (once per ping, e.g. to
subscribe to what is new). A handler raises :class:`SocketRefused` to close the connection
and wait ``refused_backoff_s`` before the next attempt (a refused login: retrying at once
would only be refused again). Keep-alive and backoff run on the event loop's own monotonic
time: they are transport mechanics, never a decision about the account.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

from riskd.redact import redact

log = logging.getLogger(__name__)

#: Bitget asks for a ping every 30 s; 25 s leaves a margin.
PING_S = 25.0
PONG_TIMEOUT_S = 10.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
#: After the server refused us (bad login): wait this long before trying again.
REFUSED_BACKOFF_S = 60.0
OPEN_TIMEOUT_S = 10.0

Send = Callable[[str], Awaitable[None]]


class SocketRefused(Exception):
    """The server refused what the handler needs (a login): close, wait longer, retry."""


class SocketHandler(Protocol):
    """What is said on one connection (see the module docstring)."""

    async def opened(self, send: Send) -> None: ...

    async def message(self, text: str, send: Send) -> None: ...

    async def tick(self, send: Send) -> None: ...


class ReconnectingSocket:
    """Keeps one WebSocket to ``url`` open for ``handler`` until :meth:`stop`."""

    def __init__(
        self,
        url: str,
        handler: SocketHandler,
        *,
        name: str,
        ping_s: float = PING_S,
        pong_timeout_s: float = PONG_TIMEOUT_S,
        backoff_min_s: float = BACKOFF_MIN_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        refused_backoff_s: float = REFUSED_BACKOFF_S,
    ) -> None:
        if ping_s <= 0 or pong_timeout_s <= 0:
            raise ValueError("ping_s and pong_timeout_s must be > 0 seconds")
        self.url = url
        self._handler = handler
        self._name = name
        self._ping_s = ping_s
        self._pong_timeout_s = pong_timeout_s
        self._backoff = (backoff_min_s, backoff_max_s)
        self._refused_backoff_s = refused_backoff_s
        self._task: asyncio.Task[None] | None = None
        #: Set by :meth:`stop`: the loops end at their next turn.
        self._stopping = False
        #: Connections opened, pings sent and pongs received (status and tests).
        self.connections = 0
        self.pings = 0
        self.pongs = 0
        self.connected = False

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"riskd-ws-{self._name}")

    async def stop(self) -> None:
        """Stop the socket's task. Cancelled again until it ends: on Python 3.11 a
        cancellation that meets an ``asyncio.wait_for`` whose inner wait completes at the same
        instant is lost (with pushes every few ms that happens), and ``_serve`` also stops at
        the flag."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s ended with %r", self._name, task.exception())

    async def _run(self) -> None:
        import websockets  # imported here: only the WebSocket clients need it

        low, high = self._backoff
        delay = low
        while not self._stopping:
            wait = delay
            try:
                async with websockets.connect(
                    self.url, ping_interval=None, open_timeout=OPEN_TIMEOUT_S, max_size=2**22
                ) as ws:
                    self.connections += 1
                    self.connected = True

                    async def send(text: str) -> None:
                        await ws.send(text)

                    await self._handler.opened(send)
                    delay = low
                    await self._serve(ws, send)
            except SocketRefused as exc:
                wait = max(delay, self._refused_backoff_s)
                log.error("%s: %s; trying again in %.0fs", self._name, redact(str(exc)), wait)
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning(
                    "%s disconnected (%s); retrying in %.1fs", self._name, redact(str(exc)), wait
                )
            except Exception:  # a handler bug must not end the socket: log it, reconnect
                log.exception("%s failed; retrying in %.1fs", self._name, wait)
            finally:
                self.connected = False
            await asyncio.sleep(wait * random.uniform(0.5, 1.0))
            delay = min(delay * 2, high)

    async def _serve(self, ws: _Socket, send: Send) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self._ping_s
        pong_due: float | None = None
        while not self._stopping:
            now = loop.time()
            if pong_due is not None and now >= pong_due:
                raise TimeoutError(f"no pong within {self._pong_timeout_s:g}s")
            if now >= next_ping:
                await send("ping")
                self.pings += 1
                pong_due = pong_due or now + self._pong_timeout_s
                next_ping = now + self._ping_s
                await self._handler.tick(send)
            deadline = next_ping if pong_due is None else min(next_ping, pong_due)
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.0, deadline - now))
            except TimeoutError:
                continue
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            if text == "pong":
                self.pongs += 1
                pong_due = None
                continue
            await self._handler.message(text, send)


class _Socket(Protocol):
    async def recv(self) -> str | bytes: ...
