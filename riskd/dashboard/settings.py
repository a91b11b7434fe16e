"""``[dashboard]`` settings: whether the ops server serves the dashboard, and its write token.

The dashboard is served by the ops server (``[metrics] host`` / ``port``, 127.0.0.1:9464 by
default): it has no address of its own. It is read-only unless a write token is given; then
pause and resume take that token (docs/dashboard.md#pause-and-resume).

The token is a secret like the API keys: give it in the credential file
``$CREDENTIALS_DIRECTORY/dashboard_token`` (systemd ``LoadCredential=dashboard_token:…``), in
``write_token_file``, or as ``dashboard.write_token`` / ``RISKD_DASHBOARD__WRITE_TOKEN``. It is
registered with :func:`riskd.redact.register_secret` when read, and never appears in a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from riskd.durations import PositiveDuration
from riskd.redact import register_secret

#: The credential file (in ``$CREDENTIALS_DIRECTORY``) that may hold the write token.
TOKEN_FILE = "dashboard_token"  # noqa: S105 - a file name, not a secret
#: A shorter token is refused: it could be guessed, and redaction masks only ≥ 4 characters.
MIN_TOKEN_LEN = 16


class DashboardSetupError(ValueError):
    """The write token cannot be used (unreadable file, too short); the message says why and
    names the file, never the token."""


class DashboardSettings(BaseModel):
    """The ``[dashboard]`` table. On by default when the ops server runs; read-only unless a
    write token is configured."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    enabled: bool = True
    #: Pause / resume token, if not in a file (a file is the better place).
    write_token: SecretStr | None = None
    #: A file holding the token (first line); relative paths are taken as given.
    write_token_file: Path | None = None
    #: How often the page's timeline gets a risk and price sample.
    refresh: PositiveDuration = Field(default=2.0, le=60)
    #: Events kept per open page while it is slow to read them (the oldest are dropped).
    stream_queue: int = Field(default=256, ge=8, le=10_000)
    #: Most journal events one request returns.
    journal_limit: int = Field(default=200, ge=10, le=5000)

    @field_validator("write_token")
    @classmethod
    def _register(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())
        return value

    def resolve_token(self, env: Mapping[str, str] | None = None) -> str | None:
        """The write token: ``write_token``, else ``write_token_file``, else the credential
        file; None: writes are off. Registered as a secret; :class:`DashboardSetupError`
        when a named file cannot be read or the token is shorter than :data:`MIN_TOKEN_LEN`."""
        env = os.environ if env is None else env
        token: str | None = None
        where = "dashboard.write_token"
        if self.write_token is not None:
            token = self.write_token.get_secret_value()
        else:
            path = self.write_token_file
            creds = env.get("CREDENTIALS_DIRECTORY")
            if path is None and creds and (Path(creds) / TOKEN_FILE).is_file():
                path = Path(creds) / TOKEN_FILE
            if path is not None:
                where = str(path)
                try:
                    lines = path.read_text(encoding="utf-8").splitlines()
                except (OSError, UnicodeDecodeError) as exc:
                    reason = getattr(exc, "strerror", None) or type(exc).__name__
                    raise DashboardSetupError(
                        f"dashboard write token file {path}: cannot read it ({reason})"
                    ) from None
                token = lines[0].strip() if lines else ""
        if token is None:
            return None
        register_secret(token)
        if len(token) < MIN_TOKEN_LEN:
            raise DashboardSetupError(
                f"dashboard write token from {where} is shorter than {MIN_TOKEN_LEN} "
                "characters; make one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`"
            )
        return token

    def __repr__(self) -> str:
        has = self.write_token is not None or self.write_token_file is not None
        return f"DashboardSettings(enabled={self.enabled}, write_token={'set' if has else None})"


__all__ = ["MIN_TOKEN_LEN", "TOKEN_FILE", "DashboardSettings", "DashboardSetupError"]
