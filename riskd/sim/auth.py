"""Request authentication exactly as the real service checks it.

Written independently of ``riskd.bitget.auth`` (the client's signer) so that the two test each
other. The prehash is ``timestamp + METHOD + requestPath + ("?" + query if any) + body`` over
the *raw* path, query string and body bytes as received; ``ACCESS-SIGN`` is
base64(HMAC-SHA256(secret, prehash)), or for a key registered with an RSA public key a base64
SHA256withRSA (PKCS#1 v1.5) signature. ``ACCESS-TIMESTAMP`` (ms) must be within 30 s of the
protocol clock.

Checks, in order, each with the document's code (HTTP 400): 40001 empty key, 40002 empty sign,
40005 empty or non-numeric timestamp, 40011 empty passphrase, 40008 timestamp outside the
window, 40006 unknown key, 40012 wrong passphrase, 40009 signature mismatch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from riskd.redact import register_secret
from riskd.sim.errors import SimError

WINDOW_MS = 30_000


@dataclass(frozen=True, slots=True)
class Credential:
    """A registered API key and what verifies it (secrets stay out of the repr)."""

    account: str
    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    rsa_public_key: rsa.RSAPublicKey | None = field(default=None, repr=False)


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("rsa_public_key_pem is not an RSA public key")
    return key


def prehash(timestamp: str, method: str, path: str, query: str, body: bytes) -> bytes:
    head = timestamp + method.upper() + path + ("?" + query if query else "")
    return head.encode() + body


class Authenticator:
    """Registered keys and the verification of signed requests."""

    def __init__(self, window_ms: int = WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._by_key: dict[str, Credential] = {}

    def check_free(self, api_key: str) -> None:
        if api_key in self._by_key:
            raise ValueError(f"API key {api_key!r} is already registered")

    def register(self, credential: Credential) -> None:
        self.check_free(credential.api_key)
        register_secret(credential.secret)
        register_secret(credential.passphrase)
        self._by_key[credential.api_key] = credential

    def verify(
        self,
        headers: Mapping[str, str],
        method: str,
        path: str,
        query: str,
        body: bytes,
        server_now_ms: int,
    ) -> Credential:
        """The credential the request is signed with, or :class:`SimError`."""
        key = headers.get("access-key", "").strip()
        sign = headers.get("access-sign", "").strip()
        stamp = headers.get("access-timestamp", "").strip()
        passphrase = headers.get("access-passphrase", "")
        if not key:
            raise SimError("40001")
        if not sign:
            raise SimError("40002")
        if not stamp or not stamp.isdigit():
            raise SimError("40005")
        if not passphrase:
            raise SimError("40011")
        if abs(int(stamp) - server_now_ms) > self.window_ms:
            raise SimError("40008")
        cred = self._by_key.get(key)
        if cred is None:
            raise SimError("40006")
        if not hmac.compare_digest(passphrase.encode(), cred.passphrase.encode()):
            raise SimError("40012")
        message = prehash(stamp, method, path, query, body)
        if not self._signature_ok(cred, sign, message):
            raise SimError("40009")
        return cred

    @staticmethod
    def _signature_ok(cred: Credential, sign: str, message: bytes) -> bool:
        if cred.rsa_public_key is not None:
            try:
                signature = base64.b64decode(sign, validate=True)
                cred.rsa_public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            except (InvalidSignature, binascii.Error, ValueError):
                return False
            return True
        expected = base64.b64encode(
            hmac.new(cred.secret.encode(), message, hashlib.sha256).digest()
        ).decode()
        return hmac.compare_digest(expected.encode(), sign.encode())

    def verify_ws_login(
        self, api_key: str, passphrase: str, timestamp_s: str, sign: str, server_now_ms: int
    ) -> Credential:
        """WebSocket login: ``sign`` over ``timestamp(seconds) + "GET" + "/user/verify"``.

        Raises :class:`SimError` with the WebSocket codes (30011 key, 30012 passphrase,
        30013/30014 timestamp, 30015 signature)."""
        cred = self._by_key.get(api_key)
        if cred is None:
            raise SimError("30011")
        if not hmac.compare_digest(passphrase.encode(), cred.passphrase.encode()):
            raise SimError("30012")
        if not timestamp_s.isdigit():
            raise SimError("30013")
        if abs(int(timestamp_s) * 1000 - server_now_ms) > self.window_ms:
            raise SimError("30014")
        message = prehash(timestamp_s, "GET", "/user/verify", "", b"")
        if not self._signature_ok(cred, sign, message):
            raise SimError("30015")
        return cred
