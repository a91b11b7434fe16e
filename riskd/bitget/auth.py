"""Request signing for Bitget, as an ``httpx.Auth``.

The prehash is ``timestamp + METHOD + requestPath ["?" + query] + body`` and it is built from
the request exactly as it will be sent: the path and query come from
``request.url.raw_path`` (the bytes of the request target) and the body from
``request.content`` (the bytes of the body). Whatever encoding the client chose for the query
string or the JSON body, the signature covers those very bytes, so the signed and the sent
forms cannot differ (a difference is what produces Bitget's ``40009 sign signature error``
for non-ASCII or ``$`` in other clients).

Two signers: HMAC-SHA256 with the API secret, and SHA256withRSA (PKCS#1 v1.5) with an RSA
private key. Both answer base64. Endpoint code never computes a signature: it builds a
request, and this class signs it on the way out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Generator
from typing import Protocol

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from riskd.bitget.credentials import Credentials

CONTENT_TYPE = "application/json"


def prehash(timestamp_ms: int | str, method: str, target: bytes | str, body: bytes | str) -> bytes:
    """The bytes Bitget signs: ``timestamp + METHOD + path[?query] + body``.

    ``target`` is the request target (path and query as sent); ``body`` the exact body bytes
    (empty for GET).
    """
    t = target.encode("utf-8") if isinstance(target, str) else target
    b = body.encode("utf-8") if isinstance(body, str) else body
    return f"{timestamp_ms}{method.upper()}".encode("ascii") + t + b


def hmac_sign(secret: str, message: bytes) -> str:
    """base64(HMAC-SHA256(secret, message))."""
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def rsa_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """base64(SHA256withRSA PKCS#1 v1.5 signature of message)."""
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def load_rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Load an unencrypted PEM RSA private key (PKCS#8 or PKCS#1)."""
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:
        # The cryptography message describes the format problem, never the key's content.
        raise ValueError(f"RSA private key cannot be loaded: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"private key is {type(key).__name__}, not RSA")
    return key


class Signer(Protocol):
    def sign(self, message: bytes) -> str: ...


class HmacSigner:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def sign(self, message: bytes) -> str:
        return hmac_sign(self._secret, message)

    def __repr__(self) -> str:
        return "HmacSigner()"


class RsaSigner:
    def __init__(self, pem: str) -> None:
        self._key = load_rsa_private_key(pem)

    def sign(self, message: bytes) -> str:
        return rsa_sign(self._key, message)

    def __repr__(self) -> str:
        return "RsaSigner()"


def signer_for(credentials: Credentials) -> Signer:
    if credentials.rsa_private_key is not None:
        return RsaSigner(credentials.rsa_private_key.get_secret_value())
    if credentials.secret is None:  # excluded by Credentials' validator
        raise ValueError("credentials hold neither a secret nor an RSA key")
    return HmacSigner(credentials.secret.get_secret_value())


class BitgetAuth(httpx.Auth):
    """Adds ACCESS-KEY, ACCESS-SIGN, ACCESS-TIMESTAMP, ACCESS-PASSPHRASE, locale and
    Content-Type to a request, signing the exact bytes of its target and body.

    ``timestamp_ms`` is called once per request (the client passes its server-clock-corrected
    time, so a retry carries a fresh timestamp).
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        timestamp_ms: Callable[[], int],
        *,
        locale: str = "en-US",
    ) -> None:
        self._credentials = credentials
        self._signer = signer_for(credentials)
        self._timestamp_ms = timestamp_ms
        self._locale = locale

    def sign_request(self, request: httpx.Request) -> None:
        """Set the signing headers on ``request`` in place."""
        ts = str(self._timestamp_ms())
        message = prehash(ts, request.method, request.url.raw_path, request.content)
        headers = request.headers
        headers["ACCESS-KEY"] = self._credentials.api_key.get_secret_value()
        headers["ACCESS-SIGN"] = self._signer.sign(message)
        headers["ACCESS-TIMESTAMP"] = ts
        headers["ACCESS-PASSPHRASE"] = self._credentials.passphrase.get_secret_value()
        headers["locale"] = self._locale
        headers["Content-Type"] = CONTENT_TYPE

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request

    def __repr__(self) -> str:
        kind = "RSA" if self._credentials.uses_rsa else "HMAC"
        return f"BitgetAuth({kind}, locale={self._locale!r})"
