"""The one registry of secret values that must never leave the process in clear.

Whatever holds a secret (API secret, passphrase, RSA key, bot tokens, SMTP passwords,
apprise URLs) registers it here when it is loaded. The log processor
(``riskd.ops.logging``), the journal and exception formatting call :func:`redact` on text
before it is written anywhere.
"""

from __future__ import annotations

import threading

MASK = "***"
_MIN_LEN = 4  # shorter values would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` (and its non-trivial lines, for PEM keys) as secret."""
    if not value:
        return
    with _lock:
        for part in {value, *value.splitlines()}:
            part = part.strip()
            if len(part) >= _MIN_LEN and not part.startswith("-----"):
                _secrets.add(part)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` by ``***``."""
    if not _secrets or not text:
        return text
    with _lock:
        ordered = sorted(_secrets, key=len, reverse=True)
    for secret in ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def registered_count() -> int:
    """How many secret values are registered (for tests and status)."""
    with _lock:
        return len(_secrets)
