"""Running out of disk under the journal: a reserve, a degraded mode, one loud signal.

A full disk must neither stop protection nor let an action leave without its intent on
disk. So:

- **A reserve.** Beside the journal, ``<journal>.reserve`` holds :data:`RESERVE_BYTES` of
  zeros, written when the journal opens (and again once space is back).
- **Full.** The first write that fails with "database or disk is full" (``SQLITE_FULL`` or
  ``ENOSPC``) deletes the reserve, retries the write once in the room it freed, and signals
  :class:`SpaceEvent` ``FULL`` once (the daemon logs it at critical level and sends it to
  every alert route).
- **Degraded mode.** While full, only the writes that protection and recovery need are made:
  intents and their outcomes, the rule state, pause control, lifecycle and settlement
  events. Everything else (decision, verify and stale events, status rows) is skipped and
  counted (:attr:`SpaceGuard.skipped`).
- **Out of room.** If even the reserve is used up, an intent cannot be written: the journal
  raises :class:`JournalFull` and the action is **not sent** (never an action without its
  intent). Outcomes that cannot be written leave their intents open; the scope then takes no
  new action until reconciliation can journal what the exchange says.
- **Back.** Before each cycle the daemon asks :meth:`SpaceGuard.check`: once the file system
  has room for the reserve twice over, the reserve is written again, normal mode resumes
  and ``RECOVERED`` is signalled.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

#: Room kept free for the journal's essential writes (intents take about a kilobyte each).
RESERVE_BYTES: Final = 8 * 1024 * 1024
_CHUNK = 64 * 1024


class SpaceEvent(StrEnum):
    FULL = "full"
    RECOVERED = "recovered"


class JournalFull(Exception):
    """An essential journal write failed for want of disk space, reserve included."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(f"journal {path}: disk full, {what} could not be written")
        self.path = path
        self.what = what


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the database's quota) is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "")
        return name == "SQLITE_FULL" or "database or disk is full" in str(exc)
    return False


Listener = Callable[[SpaceEvent, str], None]


class SpaceGuard:
    """The journal's reserve file and its full/normal mode."""

    def __init__(self, journal_path: Path, *, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.reserve = journal_path.with_name(journal_path.name + ".reserve")
        self.reserve_bytes = reserve_bytes
        self.full = False
        #: Non-essential writes skipped while full.
        self.skipped = 0
        self.listener: Listener | None = None

    def configure(self, reserve_bytes: int, listener: Listener | None) -> None:
        """Set the reserve's size (0: none) and who hears of full and recovered."""
        self.reserve_bytes = reserve_bytes
        self.listener = listener

    def ensure_reserve(self) -> bool:
        """Write the reserve if it is missing or short; ``False`` if there is no room."""
        if self.reserve_bytes <= 0:
            return True
        try:
            if self.reserve.exists() and self.reserve.stat().st_size >= self.reserve_bytes:
                return True
            with self.reserve.open("wb") as f:
                left = self.reserve_bytes
                zeros = bytes(_CHUNK)
                while left > 0:
                    f.write(zeros[: min(left, _CHUNK)])
                    left -= _CHUNK
                f.flush()
            return True
        except OSError as exc:
            self._drop_reserve()
            log.warning("journal reserve %s could not be written: %s", self.reserve, exc)
            return False

    def _drop_reserve(self) -> bool:
        try:
            self.reserve.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.error("journal reserve %s could not be deleted: %s", self.reserve, exc)
            return False

    def on_full(self, exc: BaseException) -> bool:
        """A write failed for want of space: enter full mode (signalled once) and free the
        reserve. Returns whether room was freed (worth retrying the write)."""
        freed = self._drop_reserve()
        if not self.full:
            self.full = True
            detail = (
                f"the disk under the journal is full ({exc}); "
                + ("its reserve was released; " if freed else "no reserve was left; ")
                + "only intents, outcomes and rule state are journaled until space is freed"
            )
            self._signal(SpaceEvent.FULL, detail)
        return freed

    def check(self) -> None:
        """Leave full mode once the file system has room for the reserve twice over."""
        if not self.full:
            return
        try:
            free = shutil.disk_usage(self.reserve.parent).free
        except OSError:
            return
        if free < 2 * self.reserve_bytes or not self.ensure_reserve():
            return
        self.full = False
        skipped, self.skipped = self.skipped, 0
        self._signal(
            SpaceEvent.RECOVERED,
            f"disk space is back ({free // 1024} KiB free); the journal is complete again"
            f" ({skipped} non-essential entries were skipped while full)",
        )

    def _signal(self, event: SpaceEvent, detail: str) -> None:
        if self.listener is None:
            log.critical("journal %s: %s", event, detail)
            return
        self.listener(event, detail)


__all__ = ["RESERVE_BYTES", "JournalFull", "SpaceEvent", "SpaceGuard", "is_disk_full"]
