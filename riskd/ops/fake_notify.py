"""A stand-in for systemd's notify socket, for tests of anything that calls sd_notify.

    with FakeNotifySocket() as fake:                    # abstract socket "@riskd-test-…"
        proc = subprocess.Popen([...], env={**os.environ, **fake.env()})
        fake.wait_for("READY", within=10)               # blocking
        fake.wait_for("WATCHDOG", within=10)

In the same event loop as the code under test use ``await fake.await_for("READY", within=5)``.
Every datagram received is kept in :attr:`FakeNotifySocket.messages`, in order.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["FakeNotifySocket", "NotifyMessage"]

_MAX_DATAGRAM = 65536


@dataclass(frozen=True)
class NotifyMessage:
    """One datagram: its ``KEY=VALUE`` lines as a mapping, plus the raw text."""

    fields: Mapping[str, str]
    raw: str

    @classmethod
    def parse(cls, data: bytes) -> NotifyMessage:
        text = data.decode("utf-8", errors="replace")
        fields: dict[str, str] = {}
        for line in text.split("\n"):
            if "=" in line:
                key, value = line.split("=", 1)
                fields[key] = value
        return cls(fields=fields, raw=text)


class FakeNotifySocket:
    """Binds an ``AF_UNIX`` datagram socket and records what is sent to it.

    ``path`` is a filesystem path (keep it under ~100 bytes) or ``None`` for a fresh
    abstract name. :meth:`env` gives the ``NOTIFY_SOCKET`` value to hand to the code under test.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self.address = f"@riskd-test-{os.getpid()}-{os.urandom(6).hex()}"
            bind_to = "\0" + self.address[1:]
            self._path: Path | None = None
        else:
            self._path = Path(path)
            self.address = str(self._path)
            bind_to = self.address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.bind(bind_to)
        self.messages: list[NotifyMessage] = []

    def env(self, watchdog_sec: float | None = None) -> dict[str, str]:
        """Environment variables as systemd would set them (optionally with a watchdog)."""
        env = {"NOTIFY_SOCKET": self.address}
        if watchdog_sec is not None:
            env["WATCHDOG_USEC"] = str(int(watchdog_sec * 1_000_000))
        return env

    def receive(self, timeout: float) -> NotifyMessage | None:
        """Wait up to ``timeout`` seconds for one datagram (blocking)."""
        self._sock.settimeout(timeout)
        try:
            data = self._sock.recv(_MAX_DATAGRAM)
        except TimeoutError:
            return None
        message = NotifyMessage.parse(data)
        self.messages.append(message)
        return message

    def wait_for(self, key: str, within: float, value: str | None = None) -> NotifyMessage:
        """Block until a datagram carries ``key`` (equal to ``value`` if given).

        A matching message received earlier counts: this asks "has it been sent?".
        """
        found = self._already(key, value)
        deadline = time.monotonic() + within
        while found is None:
            left = deadline - time.monotonic()
            message = self.receive(left) if left > 0 else None
            if message is None:
                raise TimeoutError(self._timeout_text(key, within))
            if _matches(message, key, value):
                found = message
        return found

    async def await_for(self, key: str, within: float, value: str | None = None) -> NotifyMessage:
        """Like :meth:`wait_for` without blocking the running event loop."""
        found = self._already(key, value)
        if found is not None:
            return found
        self._sock.setblocking(False)
        loop = asyncio.get_running_loop()

        async def _next_match() -> NotifyMessage:
            while True:
                message = NotifyMessage.parse(await loop.sock_recv(self._sock, _MAX_DATAGRAM))
                self.messages.append(message)
                if _matches(message, key, value):
                    return message

        try:
            return await asyncio.wait_for(_next_match(), within)
        except TimeoutError:
            raise TimeoutError(self._timeout_text(key, within)) from None

    def keys(self) -> list[str]:
        """The first key of every message received so far, in order (e.g. READY, WATCHDOG)."""
        return [next(iter(m.fields), "") for m in self.messages]

    def close(self) -> None:
        self._sock.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def __enter__(self) -> FakeNotifySocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _already(self, key: str, value: str | None) -> NotifyMessage | None:
        return next((m for m in self.messages if _matches(m, key, value)), None)

    def _timeout_text(self, key: str, within: float) -> str:
        seen = [m.raw for m in self.messages]
        return f"no {key}= on {self.address} within {within}s; received {seen!r}"


def _matches(message: NotifyMessage, key: str, value: str | None) -> bool:
    return key in message.fields and (value is None or message.fields[key] == value)
