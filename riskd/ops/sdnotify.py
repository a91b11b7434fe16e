"""The systemd notify protocol: a few datagrams to ``$NOTIFY_SOCKET``.

systemd starts a ``Type=notify`` service with ``NOTIFY_SOCKET`` pointing at an ``AF_UNIX``
datagram socket (a path, or an abstract name written with a leading ``@``). The service
sends newline-separated ``KEY=VALUE`` lines to it:

- ``READY=1`` once it is up (and again after a reload),
- ``WATCHDOG=1`` on every healthy scheduler tick (``WatchdogSec=`` in the unit),
- ``RELOADING=1`` with ``MONOTONIC_USEC=`` when a reload starts (systemd ≥ 253 needs both),
- ``STOPPING=1`` when it begins to shut down,
- ``STATUS=…`` a one-line text shown by ``systemctl status``.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op. A failed send is logged and
reported by the return value, never raised: the daemon keeps protecting accounts even if the
service manager went away.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from riskd.redact import redact

log = logging.getLogger(__name__)

__all__ = ["SystemdNotifier", "notify_socket_address"]


def notify_socket_address(value: str) -> str | None:
    """The ``AF_UNIX`` address for a ``NOTIFY_SOCKET`` value, or ``None`` if unsupported.

    ``@name`` is the Linux abstract namespace (``\\0name``); an absolute path is a file
    socket. Other forms (``vsock:…``) are not supported by riskd and turn notifications off.
    """
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def _monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as systemd compares it with its own."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class SystemdNotifier:
    """Sends sd_notify messages; does nothing when not started by systemd.

    ``env`` is read once, in the constructor (tests pass a dict with a fake socket).
    """

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = notify_socket_address(raw) if raw else None
        if raw and self._address is None:
            log.warning("NOTIFY_SOCKET=%r is not a supported address; not notifying", raw)
        self._watchdog_usec = env.get("WATCHDOG_USEC", "")
        self._watchdog_pid = env.get("WATCHDOG_PID", "")
        self._failing = False

    @property
    def enabled(self) -> bool:
        """True when there is a notify socket to talk to."""
        return self._address is not None

    def ready(self, status: str | None = None) -> bool:
        """Start-up (or a reload) is complete."""
        return self.notify("READY=1", *self._status_field(status))

    def watchdog(self) -> bool:
        """The service is alive: reset the watchdog timer."""
        return self.notify("WATCHDOG=1")

    def reloading(self, status: str | None = None) -> bool:
        """A configuration reload starts; send :meth:`ready` when it is done."""
        return self.notify(
            "RELOADING=1", f"MONOTONIC_USEC={_monotonic_usec()}", *self._status_field(status)
        )

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown has begun."""
        return self.notify("STOPPING=1", *self._status_field(status))

    def status(self, text: str) -> bool:
        """Set the one-line status text shown by ``systemctl status``."""
        return self.notify(*self._status_field(text))

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for ``seconds`` more before systemd gives up on a start or stop in progress."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")

    def watchdog_interval(self) -> float | None:
        """``WatchdogSec=`` in seconds if the watchdog is on for this process, else ``None``.

        Ping at least twice per interval (systemd's own advice).
        """
        if self._watchdog_pid:
            try:
                if int(self._watchdog_pid) != os.getpid():
                    return None
            except ValueError:
                log.warning("ignoring WATCHDOG_PID=%r: not a number", self._watchdog_pid)
                return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            if self._watchdog_usec:
                log.warning("ignoring WATCHDOG_USEC=%r: not a number", self._watchdog_usec)
            return None
        return usec / 1_000_000 if usec > 0 else None

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` (``KEY=VALUE`` each) as one datagram; True if it was sent."""
        if self._address is None or not fields:
            return False
        payload = "\n".join(fields).encode("utf-8")
        try:
            # One short-lived socket per message: nothing to keep open or to leak.
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)  # a full queue must never stall the event loop
                sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._failing:
                log.warning("systemd notification %s failed: %s", fields[0].split("=", 1)[0], exc)
            self._failing = True
            return False
        if self._failing:
            log.info("systemd notifications work again")
            self._failing = False
        return True

    @staticmethod
    def _status_field(text: str | None) -> tuple[str, ...]:
        if text is None:
            return ()
        one_line = " ".join(redact(text).split())
        return (f"STATUS={one_line}",)

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"SystemdNotifier({state})"
