"""Signing: the reference vectors, and signatures that cover exactly the bytes that are sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from riskd.bitget.auth import BitgetAuth, hmac_sign, prehash
from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoints import SERVER_TIME_PATH
from riskd.clock import ManualClock

VECTOR = re.compile(r"^\| `(?P<prehash>[^`]+)`[^|]* \| `(?P<sign>[^`]+)` \|$")
KEY, SECRET, PASSPHRASE = "vector-key", "test-secret", "vector-pass"


def _vectors(reference_dir: Path) -> list[tuple[str, str]]:
    text = (reference_dir / "ENDPOINTS.md").read_text()
    return [(m["prehash"], m["sign"]) for line in text.splitlines() if (m := VECTOR.match(line))]


class Recorder:
    """An ASGI app that records what arrives (raw target and body) and answers success."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.seen: list[tuple[dict[str, Any], bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        data: Any = self.clock.now_ms() if scope["path"] == SERVER_TIME_PATH else {}
        if scope["path"] != SERVER_TIME_PATH:
            self.seen.append((scope, body))
        payload = json.dumps({"code": "00000", "msg": "success", "data": data}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload})

    def target(self, index: int = -1) -> bytes:
        scope, _ = self.seen[index]
        query = scope["query_string"]
        return scope["raw_path"] + (b"?" + query if query else b"")

    def headers(self, index: int = -1) -> dict[str, str]:
        scope, _ = self.seen[index]
        return {k.decode(): v.decode() for k, v in scope["headers"]}


def _client(recorder: Recorder, credentials: Credentials | None) -> BitgetClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder))
    return BitgetClient(credentials, http=http, base_url="http://sim.test", clock=recorder.clock)


def _expected_hmac(secret: str, message: bytes) -> str:
    """An independent HMAC computation (not riskd.bitget.auth)."""
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def test_reference_vectors_pass(reference_dir: Path) -> None:
    """Every HMAC test vector in ENDPOINTS.md gives the documented ACCESS-SIGN."""
    vectors = _vectors(reference_dir)
    assert len(vectors) == 4
    for text, sign in vectors:
        assert hmac_sign(SECRET, text.encode()) == sign, text


async def test_client_get_reproduces_the_query_vector(reference_dir: Path) -> None:
    """A GET with ?coin=USDT at the vector's timestamp carries the vector's signature."""
    ((_, want),) = [v for v in _vectors(reference_dir) if "maxTransferOut" in v[0]]
    recorder = Recorder(ManualClock(start=1591089508.404))
    async with _client(recorder, Credentials.hmac(KEY, SECRET, PASSPHRASE)) as client:
        await client.call("cross_max_transfer_out", {"coin": "USDT"})
    assert recorder.target() == b"/api/margin/v1/cross/account/maxTransferOutAmount?coin=USDT"
    headers = recorder.headers()
    assert headers["access-timestamp"] == "1591089508404"
    assert headers["access-sign"] == want


async def test_client_post_reproduces_the_body_vector(reference_dir: Path) -> None:
    """cross_borrow(USDT, 1) sends the vector's body and signature."""
    ((_, want),) = [v for v in _vectors(reference_dir) if "borrow" in v[0]]
    recorder = Recorder(ManualClock(start=1_700_000_000.0))
    async with _client(recorder, Credentials.hmac(KEY, SECRET, PASSPHRASE)) as client:
        await client.call("cross_borrow", {"coin": "USDT", "borrowAmount": Decimal("1")})
    _, body = recorder.seen[-1]
    assert body == b'{"coin":"USDT","borrowAmount":"1"}'
    assert recorder.headers()["access-sign"] == want


async def test_headers_are_complete_for_signed_requests() -> None:
    """Signed requests carry key, sign, timestamp, passphrase, locale and JSON content type."""
    recorder = Recorder(ManualClock())
    async with _client(recorder, Credentials.hmac(KEY, SECRET, PASSPHRASE)) as client:
        await client.call("cross_risk_rate", {"coin": "USDT"})
    h = recorder.headers()
    assert h["access-key"] == KEY
    assert h["access-passphrase"] == PASSPHRASE
    assert h["access-timestamp"] == str(recorder.clock.now_ms())
    assert h["locale"] == "en-US"
    assert h["content-type"] == "application/json"


async def test_public_requests_are_not_signed() -> None:
    """Public endpoints go out without ACCESS-* headers, even when credentials exist."""
    recorder = Recorder(ManualClock())
    async with _client(recorder, Credentials.hmac(KEY, SECRET, PASSPHRASE)) as client:
        await client.call("cross_tier_data", {"coin": "USDT"})
    assert not [k for k in recorder.headers() if k.startswith("access-")]


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("cross_assets", {"coin": "US$€ x&y=z"}),
        ("isolated_max_transfer_out", {"symbol": "BTC$USDT", "coin": "ÜSDT"}),
        ("cross_order_history", {"symbol": "BTCUSDT", "startTime": 1, "clientOid": "a+b/c?d"}),
        ("cross_borrow", {"coin": '€$"\\', "borrowAmount": "1.5"}),
        ("isolated_flash_repay_status", {"idList": ["1$", "ß"]}),
    ],
)
async def test_signature_covers_the_bytes_received(endpoint: str, params: dict[str, Any]) -> None:
    """With non-ASCII, $ and reserved characters, the server can verify what it received."""
    recorder = Recorder(ManualClock())
    async with _client(recorder, Credentials.hmac(KEY, SECRET, PASSPHRASE)) as client:
        await client.call(endpoint, params)
    scope, body = recorder.seen[-1]
    headers = recorder.headers()
    message = headers["access-timestamp"].encode() + scope["method"].encode()
    message += recorder.target() + body
    assert headers["access-sign"] == _expected_hmac(SECRET, message)


async def test_get_query_is_sorted_and_percent_encoded() -> None:
    """The query string is deterministic: sorted keys, reserved bytes percent-encoded."""
    recorder = Recorder(ManualClock())
    async with _client(recorder, Credentials.hmac(KEY, SECRET, PASSPHRASE)) as client:
        await client.call("isolated_max_transfer_out", {"symbol": "BTC$USDT", "coin": "€ x"})
    assert recorder.target().endswith(b"?coin=%E2%82%AC%20x&symbol=BTC%24USDT")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("fmt", ["pkcs8", "pkcs1"])
async def test_rsa_signature_verifies_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey, fmt: str
) -> None:
    """An RSA key signs SHA256withRSA PKCS#1 v1.5 over the sent bytes (GET and POST)."""
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8
        if fmt == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    recorder = Recorder(ManualClock())
    async with _client(recorder, Credentials.rsa(KEY, pem, PASSPHRASE)) as client:
        await client.call("cross_risk_rate", {"coin": "USDT"})
        await client.call("cross_repay", {"coin": "USDT", "repayAmount": Decimal("2.5")})
    for index in (0, 1):
        scope, body = recorder.seen[index]
        h = recorder.headers(index)
        message = h["access-timestamp"].encode() + scope["method"].encode()
        message += recorder.target(index) + body
        signature = base64.b64decode(h["access-sign"])
        rsa_key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(InvalidSignature):
            rsa_key.public_key().verify(
                signature, message + b"x", padding.PKCS1v15(), hashes.SHA256()
            )


def test_auth_signs_request_target_and_body_directly() -> None:
    """BitgetAuth reads the request's raw target and content, not the parameters."""
    auth = BitgetAuth(Credentials.hmac(KEY, SECRET, PASSPHRASE), lambda: 1_700_000_000_000)
    request = httpx.Request(
        "POST",
        "https://api.bitget.com/api/margin/v1/cross/account/borrow",
        content=b'{"coin":"USDT","borrowAmount":"1"}',
    )
    flow = auth.sync_auth_flow(request)
    signed = next(flow)
    want = _expected_hmac(
        SECRET,
        prehash(1_700_000_000_000, "post", request.url.raw_path, request.content),
    )
    assert signed.headers["ACCESS-SIGN"] == want
    assert prehash(1, "get", b"/p?a=1", b"") == b"1GET/p?a=1"
