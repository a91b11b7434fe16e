"""Credentials load from the environment with clear errors, and secrets never show."""

from __future__ import annotations

import logging
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from riskd.bitget.auth import BitgetAuth
from riskd.bitget.credentials import Credentials, CredentialsError
from riskd.bitget.endpoints import BY_NAME
from riskd.bitget.errors import RequestParamError, RiskdExchangeError

API_KEY = "bg_keyAAAA1111visible"
SECRET = "s3cr3t-HMAC-value-9f8e7d"
PASSPHRASE = "pa$$phrase-€-42"


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _secret_parts(pem: str) -> list[str]:
    lines = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")]
    return [API_KEY, SECRET, PASSPHRASE, *lines]


def _assert_clean(text: str, pem: str) -> None:
    for part in _secret_parts(pem):
        assert part not in text, f"secret fragment leaked: {part[:6]}..."


def test_from_env_reads_hmac_credentials() -> None:
    """The three HMAC variables give HMAC credentials."""
    env = {"RISKD_API_KEY": API_KEY, "RISKD_API_SECRET": SECRET, "RISKD_API_PASSPHRASE": PASSPHRASE}
    creds = Credentials.from_env(env)
    assert not creds.uses_rsa
    assert creds.secret is not None and creds.secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("RISKD_API_KEY", "RISKD_API_KEY"),
        ("RISKD_API_PASSPHRASE", "RISKD_API_PASSPHRASE"),
        ("RISKD_API_SECRET", "RISKD_API_SECRET"),
    ],
)
def test_from_env_names_the_missing_variable(missing: str, named: str) -> None:
    """A missing or blank variable is an error that names it."""
    env = {"RISKD_API_KEY": API_KEY, "RISKD_API_SECRET": SECRET, "RISKD_API_PASSPHRASE": PASSPHRASE}
    for value in (None, "  "):
        e = {k: v for k, v in env.items() if k != missing}
        if value is not None:
            e[missing] = value
        with pytest.raises(CredentialsError, match=named):
            Credentials.from_env(e)


def test_from_env_reads_an_rsa_key_file(tmp_path: Path, pem: str) -> None:
    """RISKD_API_RSA_KEY_FILE gives RSA credentials; a bad file is named."""
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem)
    base = {"RISKD_API_KEY": API_KEY, "RISKD_API_PASSPHRASE": PASSPHRASE}
    creds = Credentials.from_env({**base, "RISKD_API_RSA_KEY_FILE": str(key_file)})
    assert creds.uses_rsa
    with pytest.raises(CredentialsError, match=r"RISKD_API_RSA_KEY_FILE: cannot read .*nope\.pem"):
        Credentials.from_env({**base, "RISKD_API_RSA_KEY_FILE": str(tmp_path / "nope.pem")})
    (tmp_path / "junk.pem").write_text("hello")
    with pytest.raises(CredentialsError, match="no PEM private key"):
        Credentials.from_env({**base, "RISKD_API_RSA_KEY_FILE": str(tmp_path / "junk.pem")})
    with pytest.raises(CredentialsError, match="only one"):
        Credentials.from_env(
            {**base, "RISKD_API_SECRET": SECRET, "RISKD_API_RSA_KEY_FILE": str(key_file)}
        )


def test_invalid_credentials_do_not_echo_their_values(pem: str) -> None:
    """A validation error about credentials shows no value given."""
    with pytest.raises(ValidationError) as info:
        Credentials(api_key=API_KEY, passphrase=PASSPHRASE, secret=SECRET, rsa_private_key=pem)
    _assert_clean(str(info.value) + repr(info.value), pem)


async def test_secrets_absent_from_reprs_errors_and_logs(
    fake: Any, pem: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Reprs, exceptions (with tracebacks) and DEBUG logs never show key, secret or RSA key."""
    hmac_creds = Credentials.hmac(API_KEY, SECRET, PASSPHRASE)
    rsa_creds = Credentials.rsa(API_KEY, pem, PASSPHRASE)
    texts: list[str] = []
    for creds in (hmac_creds, rsa_creds):
        texts += [repr(creds), str(creds), repr(creds.model_dump()), creds.model_dump_json()]
        texts.append(repr(BitgetAuth(creds, lambda: 0)))

    risk = BY_NAME["cross_risk_rate"].path
    repay = BY_NAME["cross_repay"].path

    def echo_secrets(request: httpx.Request) -> httpx.Response:
        # A hostile answer that echoes the request's credentials back in its message.
        leak = f"{request.headers['ACCESS-KEY']} {request.headers['ACCESS-PASSPHRASE']} {SECRET}"
        return fake.fail("40009", f"sign signature error {leak}")

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(
            f"timed out {request.headers['ACCESS-PASSPHRASE']}", request=request
        )

    fake.on(
        risk,
        echo_secrets,
        fake.fail("40004"),
        fake.fail("40004"),
        httpx.Response(503),
        httpx.Response(200, content=b"<html>"),
        fake.fail("50020"),
    )
    fake.on(repay, timeout)
    raised: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        for creds in (hmac_creds, rsa_creds):
            async with fake.client(creds) as client:
                texts.append(repr(client))
                for _ in range(4):
                    try:
                        await client.cross_risk_rate(coin="USDT")
                    except RiskdExchangeError as exc:
                        raised.append(exc)
                try:
                    await client.cross_repay(coin="USDT", repay_amount=Decimal("1"))
                except RiskdExchangeError as exc:
                    raised.append(exc)
                try:
                    await client.call("cross_repay", {"coin": "USDT", "repayAmount": 0.1})
                except RequestParamError as exc:
                    raised.append(exc)
        try:
            Credentials.from_env({"RISKD_API_KEY": API_KEY, "RISKD_API_PASSPHRASE": PASSPHRASE})
        except CredentialsError as exc:
            raised.append(exc)
    assert len(raised) >= 10
    assert {type(e).__name__ for e in raised} >= {
        "AuthenticationError",
        "ClockSkewError",
        "ExchangeUnavailableError",
        "RequestParamError",
        "CredentialsError",
    }
    for exc in raised:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    texts.append(caplog.text)
    texts += [repr(r.args) for r in caplog.records]
    assert any("sign signature error" in t for t in texts)
    for text in texts:
        _assert_clean(text, pem)
