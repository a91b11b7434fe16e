"""API credentials, held as secrets from the moment they are loaded.

Bitget keys come in two kinds: HMAC (key + secret + passphrase) and RSA (key + passphrase +
the RSA private key whose public half was registered with Bitget). Every value is a
:class:`pydantic.SecretStr` (its repr is ``'**********'``) and is registered with
:func:`riskd.redact.register_secret` when the object is built, so that any log line, journal
entry or exception text that somehow contains one is masked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from riskd.redact import register_secret

ENV_KEY = "RISKD_API_KEY"
ENV_SECRET = "RISKD_API_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_PASSPHRASE = "RISKD_API_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
ENV_RSA_KEY_FILE = "RISKD_API_RSA_KEY_FILE"


class CredentialsError(ValueError):
    """Credentials are missing or unusable; the message names the variable or file."""


class Credentials(BaseModel):
    """One API key. Exactly one of ``secret`` (HMAC) and ``rsa_private_key`` (RSA) is set."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    api_key: SecretStr
    passphrase: SecretStr
    secret: SecretStr | None = None
    rsa_private_key: SecretStr | None = None

    @model_validator(mode="after")
    def _one_signing_key(self) -> Self:
        for name in ("api_key", "passphrase"):
            value: SecretStr = getattr(self, name)
            if not value.get_secret_value().strip():
                raise ValueError(f"{name} is empty")
        has_secret = self.secret is not None and self.secret.get_secret_value().strip() != ""
        has_rsa = self.rsa_private_key is not None
        if has_secret == has_rsa:
            raise ValueError("give exactly one of secret (HMAC) and rsa_private_key (RSA)")
        return self

    def model_post_init(self, context: object, /) -> None:
        for value in (self.api_key, self.passphrase, self.secret, self.rsa_private_key):
            if value is not None:
                register_secret(value.get_secret_value())

    @property
    def uses_rsa(self) -> bool:
        return self.rsa_private_key is not None

    @classmethod
    def hmac(cls, api_key: str, secret: str, passphrase: str) -> Credentials:
        """HMAC credentials from plain strings."""
        return cls(
            api_key=SecretStr(api_key), secret=SecretStr(secret), passphrase=SecretStr(passphrase)
        )

    @classmethod
    def rsa(cls, api_key: str, private_key_pem: str, passphrase: str) -> Credentials:
        """RSA credentials from plain strings (the PEM text of a PKCS#8 or PKCS#1 key)."""
        return cls(
            api_key=SecretStr(api_key),
            rsa_private_key=SecretStr(private_key_pem),
            passphrase=SecretStr(passphrase),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``RISKD_API_KEY``, ``RISKD_API_PASSPHRASE`` and either ``RISKD_API_SECRET``
        or ``RISKD_API_RSA_KEY_FILE`` (a path to a PEM private key).

        Raises :class:`CredentialsError` naming the first variable that is missing or empty.
        """
        env = os.environ if environ is None else environ

        def need(name: str) -> str:
            value = env.get(name, "")
            if not value.strip():
                raise CredentialsError(f"environment variable {name} is not set")
            return value

        api_key = need(ENV_KEY)
        passphrase = need(ENV_PASSPHRASE)
        secret = env.get(ENV_SECRET, "").strip()
        key_file = env.get(ENV_RSA_KEY_FILE, "").strip()
        if secret and key_file:
            raise CredentialsError(f"set only one of {ENV_SECRET} and {ENV_RSA_KEY_FILE}")
        if key_file:
            path = Path(key_file).expanduser()
            try:
                pem = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CredentialsError(
                    f"{ENV_RSA_KEY_FILE}: cannot read {path}: {exc.strerror or exc}"
                ) from None
            if "PRIVATE KEY" not in pem:
                raise CredentialsError(f"{ENV_RSA_KEY_FILE}: {path} holds no PEM private key")
            return cls.rsa(api_key, pem, passphrase)
        if not secret:
            raise CredentialsError(
                f"environment variable {ENV_SECRET} is not set (or set {ENV_RSA_KEY_FILE} "
                "for an RSA key)"
            )
        return cls.hmac(api_key, secret, passphrase)

    def __repr__(self) -> str:
        kind = "RSA" if self.uses_rsa else "HMAC"
        return f"Credentials({kind}, api_key='**********')"

    __str__ = __repr__
