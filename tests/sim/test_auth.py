"""Authentication: every rejection code of the document, HMAC vectors, RSA keys, raw bytes."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from riskd.bitget.endpoints import BY_NAME
from riskd.redact import redact
from riskd.sim import FaultSpec, SimKeys
from riskd.sim.auth import Authenticator, Credential, prehash
from riskd.sim.errors import sim_message

BORROW = BY_NAME["cross_borrow"]
ASSETS = BY_NAME["cross_assets"]


@pytest.mark.parametrize(
    ("prehash_text", "expected"),
    [
        (
            "1700000000000GET/api/margin/v1/cross/account/riskRate",
            "N3u6jjBE8UQNaasOb3fYUoATBLBWT9vuVXubL34DdgY=",
        ),
        (
            '1700000000000POST/api/margin/v1/cross/account/borrow{"coin":"USDT","borrowAmount":"1"}',
            "fq4S4CBmC1tXWUrqstFxGnXTdH4IqhlhnP42nzary5k=",
        ),
        (
            "1591089508404GET/api/margin/v1/cross/account/maxTransferOutAmount?coin=USDT",
            "Eo0wgei35tvuKjTt0OTRrg2coQxBph0jrT5rhBBcAWU=",
        ),
    ],
)
def test_verifier_accepts_the_reference_vectors(prehash_text: str, expected: str) -> None:
    """The simulator's verifier accepts the ENDPOINTS.md vectors (secret test-secret)."""
    auth = Authenticator()
    auth.register(Credential("a", "k", "test-secret", "vector-passphrase"))
    stamp = prehash_text[:13]
    rest = prehash_text[13:]
    method = "POST" if rest.startswith("POST") else "GET"
    rest = rest[len(method) :]
    path, _, query = rest.partition("?")
    body = b""
    if "{" in path:
        path, brace, tail = path.partition("{")
        body = (brace + tail).encode()
    assert prehash(stamp, method, path, query, body) == prehash_text.encode()
    headers = {
        "access-key": "k",
        "access-sign": expected,
        "access-timestamp": stamp,
        "access-passphrase": "vector-passphrase",
    }
    cred = auth.verify(headers, method, path, query, body, int(stamp))
    assert cred.account == "a"


async def test_signed_request_is_accepted(api, alice) -> None:
    """A correctly signed request answers 00000."""
    data = await api.data("cross_assets", {"coin": "USDT"}, alice)
    assert data[0]["coin"] == "USDT"


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("ACCESS-KEY", "", "40001"),
        ("ACCESS-SIGN", "", "40002"),
        ("ACCESS-TIMESTAMP", "", "40005"),
        ("ACCESS-TIMESTAMP", "12ab", "40005"),
        ("ACCESS-PASSPHRASE", "", "40011"),
        ("ACCESS-KEY", "bg_unknown", "40006"),
        ("ACCESS-PASSPHRASE", "wrong-passphrase", "40012"),
        ("ACCESS-SIGN", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "40009"),
    ],
)
async def test_each_header_failure_has_its_code(api, alice, header, value, code) -> None:
    """Each broken header is refused with the document's code, message and HTTP 400."""
    resp = await api.call("cross_assets", {}, alice, override={header: value})
    body = resp.json()
    assert resp.status_code == 400
    assert body["code"] == code
    assert body["data"] is None
    assert body["msg"] == sim_message(code)


@pytest.mark.parametrize("offset_ms", [30_001, -30_001, 3_600_000])
async def test_timestamp_outside_30s_is_expired(api, alice, protocol, offset_ms) -> None:
    """A timestamp more than 30 s from the protocol clock is refused with 40008."""
    resp = await api.call("cross_assets", {}, alice, ts=protocol.now_ms() + offset_ms)
    assert resp.status_code == 400
    assert resp.json()["code"] == "40008"


@pytest.mark.parametrize("offset_ms", [29_000, -29_000])
async def test_timestamp_within_window_is_accepted(api, alice, protocol, offset_ms) -> None:
    """A timestamp within 30 s of the protocol clock is fine."""
    resp = await api.call("cross_assets", {}, alice, ts=protocol.now_ms() + offset_ms)
    assert resp.json()["code"] == "00000"


async def test_protocol_clock_is_not_market_time(api, alice, market) -> None:
    """Moving market time by an hour leaves the signature window alone (it follows the wall)."""
    market.advance(3600)
    assert (await api.call("cross_assets", {}, alice)).json()["code"] == "00000"


async def test_server_time_serves_the_protocol_clock(api, protocol) -> None:
    """GET /api/spot/v1/public/time answers the protocol clock in ms."""
    assert await api.data("server_time") == protocol.now_ms()


async def test_clock_skew_fault_shifts_server_time_and_window(api, alice, sim, protocol) -> None:
    """A clock-skew fault moves server time; requests signed with the old clock expire."""
    sim.control.inject_fault(FaultSpec(clock_skew_s=45))
    assert await api.data("server_time") == protocol.now_ms() + 45_000
    resp = await api.call("cross_assets", {}, alice)
    assert resp.json()["code"] == "40008"
    resp = await api.call("cross_assets", {}, alice, ts=protocol.now_ms() + 45_000)
    assert resp.json()["code"] == "00000"


async def test_signature_covers_the_raw_query_order(api, alice, protocol) -> None:
    """Signing the query in another order than it is sent fails: the raw query is signed."""
    ep = BY_NAME["isolated_max_transfer_out"]
    stamp = protocol.now_ms()
    signed = api.headers(alice, "GET", ep.path, "symbol=BTCUSDT&coin=USDT", "", stamp)
    resp = await api.client.get(ep.path + "?coin=USDT&symbol=BTCUSDT", headers=signed)
    assert resp.json()["code"] == "40009"
    good = api.headers(alice, "GET", ep.path, "coin=USDT&symbol=BTCUSDT", "", stamp)
    resp = await api.client.get(ep.path + "?coin=USDT&symbol=BTCUSDT", headers=good)
    assert resp.json()["code"] == "00000"


async def test_signature_covers_the_exact_body_bytes(api, alice) -> None:
    """A body re-serialised with other spacing than the signed one fails with 40009."""
    signed_body = json.dumps({"coin": "USDT", "borrowAmount": "1"}, separators=(",", ":"))
    sent_body = json.dumps({"coin": "USDT", "borrowAmount": "1"})
    headers = api.headers(alice, "POST", BORROW.path, "", signed_body)
    resp = await api.client.post(BORROW.path, content=sent_body.encode(), headers=headers)
    assert resp.json()["code"] == "40009"
    headers = api.headers(alice, "POST", BORROW.path, "", sent_body)
    resp = await api.client.post(BORROW.path, content=sent_body.encode(), headers=headers)
    assert resp.json()["code"] == "00000"


async def test_non_ascii_body_is_signed_as_utf8_bytes(api, alice) -> None:
    """Non-ASCII in the body verifies when the UTF-8 bytes sent are the bytes signed."""
    body = json.dumps({"coin": "USDT", "borrowAmount": "1", "note": "prêt $"}, ensure_ascii=False)
    headers = api.headers(alice, "POST", BORROW.path, "", body)
    resp = await api.client.post(BORROW.path, content=body.encode("utf-8"), headers=headers)
    assert resp.json()["code"] == "00000"


async def test_wrong_secret_is_a_sign_error(api, alice, sim) -> None:
    """Another account's secret with this key gives 40009, not access."""
    bob = sim.add_account("bob")
    forged = SimKeys(alice.api_key, bob.secret, alice.passphrase)
    resp = await api.call("cross_assets", {}, forged)
    assert resp.json()["code"] == "40009"


def _rsa_headers(private_key, keys, stamp: int, method: str, path: str, body: str):
    message = f"{stamp}{method}{path}{body}".encode()
    sign = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "ACCESS-KEY": keys.api_key,
        "ACCESS-SIGN": base64.b64encode(sign).decode(),
        "ACCESS-TIMESTAMP": str(stamp),
        "ACCESS-PASSPHRASE": keys.passphrase,
        "Content-Type": "application/json",
    }


async def test_rsa_key_signatures_verify_and_hmac_does_not(api, sim, protocol) -> None:
    """A key registered with an RSA public key takes SHA256withRSA signatures only."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    keys = sim.add_account("rsa", rsa_public_key_pem=pem)
    body = json.dumps({"coin": "USDT", "borrowAmount": "1"}, separators=(",", ":"))
    headers = _rsa_headers(private_key, keys, protocol.now_ms(), "POST", BORROW.path, body)
    resp = await api.client.post(BORROW.path, content=body.encode(), headers=headers)
    assert resp.json()["code"] == "00000"
    resp = await api.call("cross_borrow", {"coin": "USDT", "borrowAmount": "1"}, keys)
    assert resp.json()["code"] == "40009"
    headers["ACCESS-SIGN"] = "%%% not base64 %%%"
    resp = await api.client.post(BORROW.path, content=body.encode(), headers=headers)
    assert resp.json()["code"] == "40009"


async def test_public_endpoints_need_no_signature(api) -> None:
    """Public endpoints answer without ACCESS-* headers."""
    data = await api.data("cross_tier_data", {"coin": "USDT"})
    assert data[0]["maintainMarginRate"] == "0.10000000"


def test_keys_repr_and_registry_hide_secrets(sim) -> None:
    """SimKeys and Credential reprs never show the secret or passphrase; both are redacted."""
    keys = sim.add_account("carol", secret="s3cret-value-xyz", passphrase="pass-phrase-xyz")
    assert "s3cret" not in repr(keys) and "pass-phrase" not in repr(keys)
    assert redact("leak s3cret-value-xyz pass-phrase-xyz") == "leak *** ***"
    assert "s3cret" not in repr(sim)
