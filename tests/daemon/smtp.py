"""A real SMTP server (aiosmtpd) on loopback that keeps every mail, for the daemon's
end-to-end alert tests."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MailBox:
    """aiosmtpd on 127.0.0.1 (no auth); ``subjects()`` lists what arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?mode=insecure&from=riskd@example.com&to=me@example.com"
        )

    def subjects(self) -> list[str]:
        return [str(m["subject"]) for m in self.messages]

    def bodies(self) -> list[str]:
        out = []
        for m in self.messages:
            part = m.get_body(preferencelist=("plain",))
            out.append(part.get_content() if part is not None else "")
        return out


async def wait_for(box: MailBox, needle: str, timeout: float = 30.0) -> str:
    """The first subject holding ``needle``, waiting (wall time) for it to arrive. Generous:
    without DNS, each mail here takes about 5 s (smtplib looks up the local host name)."""
    import asyncio

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for subject in box.subjects():
            if needle in subject:
                return subject
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail with {needle!r} in its subject; got {box.subjects()}")
