"""``[telegram]`` settings: who may talk to the bot, how fast, and where its token comes from.

The bot token is a secret like the API keys: give it in the credential file
``$CREDENTIALS_DIRECTORY/telegram_token`` (systemd ``LoadCredential=telegram_token:…``), or
as ``telegram.token`` / ``RISKD_TELEGRAM__TOKEN``. It is registered with
:func:`riskd.redact.register_secret` as soon as it is read, so logs, the journal and
exception texts show ``***`` in its place; it never appears in a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from riskd.durations import PositiveDuration
from riskd.redact import register_secret

#: The credential file (in ``$CREDENTIALS_DIRECTORY``) that holds the bot token.
TOKEN_FILE = "telegram_token"  # noqa: S105 - a file name, not a secret
#: Telegram's own Bot API server; a local Bot API server (or a test fake) goes in base_url.
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
#: Telegram refuses messages longer than this (characters).
MAX_MESSAGE = 4096


class TelegramSetupError(ValueError):
    """The bot is enabled and cannot run: no token (or its file cannot be read), or
    python-telegram-bot is not installed; the message says what to do. ``path`` and ``hint`` as in
    :class:`riskd.settings.ConfigError` (this module cannot import riskd.settings, which
    imports it), so the caller can raise one from it."""

    def __init__(self, message: str, *, path: Path | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.hint = hint


class TelegramSettings(BaseModel):
    """The ``[telegram]`` table. Off unless ``enabled``; then ``allowed_chats`` must list
    at least one chat id (a user's id for a private chat, a negative id for a group)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    enabled: bool = False
    #: Chats that get an answer; every other chat gets nothing (and a journal line).
    allowed_chats: tuple[int, ...] = ()
    #: The bot token, if not in the credential file (the file is the better place).
    token: SecretStr | None = None
    #: Bot API server: ``https://api.telegram.org/bot`` or a local Bot API server's URL.
    base_url: str = DEFAULT_BASE_URL
    #: A confirmation button works this many seconds, once.
    confirm_expiry: PositiveDuration = Field(default=60.0, le=3600)
    #: At most ``rate_limit`` commands (and button presses) per chat per ``rate_window`` s.
    rate_limit: int = Field(default=20, ge=1, le=1000)
    rate_window: PositiveDuration = Field(default=60.0, le=86_400)
    #: Long-poll wait of one ``getUpdates`` (Telegram keeps the request open this long).
    poll_timeout: PositiveDuration = Field(default=25.0, le=50)
    #: Every other Bot API call (and the margin of a long poll) ends after this long.
    request_timeout: PositiveDuration = Field(default=10.0, le=120)
    #: ``/journal`` shows this many events unless told otherwise (at most 50).
    journal_lines: int = Field(default=10, ge=1, le=50)

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _allow_list(self) -> Self:
        if self.enabled and not self.allowed_chats:
            raise ValueError(
                "telegram.enabled needs at least one chat id in telegram.allowed_chats "
                "(send the bot a message and read the chat id from `riskd journal --kind "
                "telegram`)"
            )
        return self

    def model_post_init(self, context: object, /) -> None:
        if self.token is not None:
            register_secret(self.token.get_secret_value())


def load_token(settings: TelegramSettings, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The bot token: ``$CREDENTIALS_DIRECTORY/telegram_token`` first, else ``token`` from
    the settings. Registered with riskd.redact; :class:`TelegramSetupError` (never showing
    the value) when there is none or the file cannot be read."""
    env = os.environ if environ is None else environ
    directory = env.get("CREDENTIALS_DIRECTORY", "")
    if directory:
        path = Path(directory) / TOKEN_FILE
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise TelegramSetupError(
                f"cannot read credential file {path}: {why}",
                path=path,
                hint="write the bot token alone, as UTF-8 text, readable by riskd's user",
            ) from None
        if text:
            register_secret(text)
            return SecretStr(text)
    if settings.token is not None and settings.token.get_secret_value().strip():
        value = settings.token.get_secret_value().strip()
        register_secret(value)
        return SecretStr(value)
    raise TelegramSetupError(
        f"telegram is enabled but has no bot token: put it in the credential file {TOKEN_FILE} "
        "($CREDENTIALS_DIRECTORY, systemd LoadCredential=) or set RISKD_TELEGRAM__TOKEN",
        hint="docs/telegram.md#setup",
    )


__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_MESSAGE",
    "TOKEN_FILE",
    "TelegramSettings",
    "TelegramSetupError",
    "load_token",
]
