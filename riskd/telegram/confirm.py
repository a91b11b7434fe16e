"""One-time confirmations for commands that change something.

A changing command is not run when it arrives: :meth:`Confirmations.ask` keeps it under a
fresh random nonce (the inline button's ``callback_data``) until ``now + expiry``. A press
runs it only through :meth:`Confirmations.take`, which removes the nonce first: a second
press of the same button (a replay), a press after the expiry, a nonce never issued or one
from another chat all change nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from riskd.telegram.commands import Changing

#: ``callback_data`` prefixes: run it, or drop it.
CONFIRM = "ok:"
CANCEL = "no:"
#: Pending confirmations kept at most (the oldest go first); a flood cannot grow memory.
MAX_PENDING = 256


class Refusal(StrEnum):
    """Why a press ran nothing."""

    UNKNOWN = "unknown or already used"
    EXPIRED = "expired"
    OTHER_CHAT = "issued to another chat"


@dataclass(frozen=True, slots=True)
class Pending:
    """A changing command waiting for its button."""

    nonce: str
    chat_id: int
    command: Changing
    expires_at: float


class Confirmations:
    """The pending confirmations of every chat (in memory: a restart forgets them, so a
    button pressed after a restart changes nothing)."""

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry
        self._pending: dict[str, Pending] = {}

    def ask(self, chat_id: int, command: Changing, now: float) -> Pending:
        """Keep ``command`` for ``chat_id`` until ``now + expiry``; its one-time nonce."""
        self._drop_expired(now)
        while len(self._pending) >= MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        nonce = secrets.token_urlsafe(16)
        pending = Pending(nonce, chat_id, command, now + self.expiry)
        self._pending[nonce] = pending
        return pending

    def take(self, nonce: str, chat_id: int, now: float) -> Pending | Refusal:
        """The pending command for a press, removed so it can run once; else why not."""
        pending = self._pending.get(nonce)
        if pending is None:
            return Refusal.UNKNOWN
        if pending.chat_id != chat_id:
            return Refusal.OTHER_CHAT
        del self._pending[nonce]
        if now >= pending.expires_at:
            return Refusal.EXPIRED
        return pending

    def _drop_expired(self, now: float) -> None:
        for nonce in [n for n, p in self._pending.items() if now >= p.expires_at]:
            del self._pending[nonce]

    def __len__(self) -> int:
        return len(self._pending)


__all__ = ["CANCEL", "CONFIRM", "MAX_PENDING", "Confirmations", "Pending", "Refusal"]
