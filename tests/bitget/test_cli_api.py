"""``riskd api``: one signed call through a fake transport, printed as JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from riskd.bitget.endpoints import BY_NAME, SERVER_TIME_PATH
from riskd.cli.api import ApiDeps, api
from riskd.clock import ManualClock

ENV = {
    "RISKD_API_KEY": "cli-key-123",
    "RISKD_API_SECRET": "cli-secret-456",
    "RISKD_API_PASSPHRASE": "cli-pass-789",
    "RISKD_API_RSA_KEY_FILE": "",
    "RISKD_BASE_URL": "https://fake.test",
}


class Fake:
    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.clock = ManualClock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == SERVER_TIME_PATH:
            return _ok(self.clock.now_ms())
        if request.url.path == "/api/v2/public/time":
            return _ok({"serverTime": str(self.clock.now_ms())})
        self.requests.append(request)
        assert self.answer is not None
        return self.answer

    def deps(self) -> ApiDeps:
        return ApiDeps(transport=httpx.MockTransport(self.handler), clock=self.clock)


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": "00000", "msg": "success", "data": data})


def _run(fake: Fake, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(api, list(args), obj=fake.deps(), env=env or ENV)


def test_get_prints_data_as_json() -> None:
    """GET with -f sends a signed query and prints ``data`` pretty."""
    fake = Fake(_ok({"riskRate": "0.12000000"}))
    result = _run(fake, "GET", "/api/margin/v1/cross/account/riskRate", "-f", "coin=USDT")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"riskRate": "0.12000000"}
    (request,) = fake.requests
    assert request.url.raw_path == b"/api/margin/v1/cross/account/riskRate?coin=USDT"
    assert request.headers["ACCESS-KEY"] == "cli-key-123" and request.headers["ACCESS-SIGN"]
    assert str(request.url).startswith("https://fake.test/")


def test_post_with_a_json_list_and_a_short_path() -> None:
    """List values are JSON; the /api/margin/v1 prefix may be left out; method is any case."""
    fake = Fake(_ok([{"id": "1", "status": "FINISH"}]))
    result = _run(fake, "post", "/cross/account/queryFlashRepayStatus", "-f", 'idList=["1","2"]')
    assert result.exit_code == 0, result.output
    assert fake.requests[0].content == b'{"idList":["1","2"]}'
    assert json.loads(result.stdout)[0]["status"] == "FINISH"


def test_query_in_path_and_comma_lists() -> None:
    """A query string in PATH becomes fields; list fields also take comma-separated text."""
    fake = Fake(_ok([]))
    result = _run(
        fake,
        "GET",
        "/api/margin/v1/isolated/account/maxTransferOutAmount?coin=USDT",
        "-f",
        "symbol=BTCUSDT",
    )
    assert result.exit_code == 0, result.output
    assert dict(fake.requests[0].url.params) == {"coin": "USDT", "symbol": "BTCUSDT"}
    fake2 = Fake(_ok([]))
    result = _run(fake2, "POST", "/isolated/account/flashRepay", "-f", "symbols=BTCUSDT,ETHUSDT")
    assert result.exit_code == 0, result.output
    assert fake2.requests[0].content == b'{"symbols":["BTCUSDT","ETHUSDT"]}'


def test_exchange_error_goes_to_stderr_with_non_zero_exit() -> None:
    """A refusal prints 'error <code>: <msg>' on stderr and exits 1."""
    fake = Fake(httpx.Response(400, json={"code": "40009", "msg": "sign signature error"}))
    result = _run(fake, "GET", "/api/margin/v1/cross/account/riskRate", "-f", "coin=USDT")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error 40009: sign signature error (HTTP 400)" in result.stderr


def test_unknown_path_lists_close_matches() -> None:
    """A misspelt path fails with exit 2 and suggestions."""
    result = _run(Fake(), "GET", "/api/margin/v1/cross/account/riskrate")
    assert result.exit_code == 2
    assert "unknown endpoint path" in result.stderr
    assert BY_NAME["cross_risk_rate"].path in result.stderr


def test_wrong_method_says_which_one_the_path_takes() -> None:
    """GET on a POST path says so."""
    result = _run(Fake(), "GET", "/api/margin/v1/isolated/account/riskRate")
    assert result.exit_code == 2 and "takes POST" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-f", "coinn=USDT"], "unknown parameter(s) coinn"),
        (["-f", "nonsense"], "is not key=value"),
        (["-f", "coin=A", "-f", "coin=B"], "given twice"),
        ([], "'coin' is required"),
    ],
)
def test_bad_fields_are_usage_errors(args: list[str], needle: str) -> None:
    """Unknown, malformed, repeated or missing parameters exit 2 with the reason."""
    result = _run(Fake(_ok({})), "GET", "/cross/account/riskRate", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr


def test_missing_credentials_name_the_variable() -> None:
    """A signed call without RISKD_API_KEY fails naming it, before any request."""
    fake = Fake(_ok({}))
    env = {**ENV, "RISKD_API_KEY": ""}
    result = _run(fake, "GET", "/cross/account/riskRate", "-f", "coin=USDT", env=env)
    assert result.exit_code == 1
    assert "RISKD_API_KEY" in result.stderr and fake.requests == []


def test_public_endpoint_needs_no_credentials() -> None:
    """Public endpoints work without any credential variables."""
    fake = Fake(_ok([{"tier": "1"}]))
    env = {k: "" for k in ENV} | {"RISKD_BASE_URL": "https://fake.test"}
    result = _run(fake, "GET", "/cross/public/tierData", "-f", "coin=USDT", env=env)
    assert result.exit_code == 0, result.output
    assert "ACCESS-SIGN" not in fake.requests[0].headers


def test_secrets_do_not_appear_in_output() -> None:
    """Neither stdout nor stderr shows the secret or passphrase, even on errors."""
    fake = Fake(httpx.Response(400, json={"code": "40012", "msg": "cli-pass-789 is wrong"}))
    result = _run(fake, "GET", "/cross/account/riskRate", "-f", "coin=USDT")
    assert result.exit_code == 1
    for secret in ("cli-secret-456", "cli-pass-789"):
        assert secret not in result.stdout and secret not in result.stderr


def test_v2_path_prints_risk_rate_ratio() -> None:
    """`riskd api GET /api/v2/margin/crossed/account/risk-rate` prints riskRateRatio (v2 time)."""
    seen: list[httpx.Request] = []
    clock = ManualClock()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v2/public/time":
            return _ok({"serverTime": str(clock.now_ms())})
        return _ok({"riskRateRatio": "0.31"})

    deps = ApiDeps(transport=httpx.MockTransport(handler), clock=clock)
    result = CliRunner().invoke(
        api, ["GET", "/api/v2/margin/crossed/account/risk-rate"], obj=deps, env=ENV
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"riskRateRatio": "0.31"}
    assert [r.url.path for r in seen] == [
        "/api/v2/public/time",
        "/api/v2/margin/crossed/account/risk-rate",
    ]


def test_short_path_tries_v2_first() -> None:
    """A path without prefix is looked up in v2 first (the live API)."""
    fake = Fake(_ok({"riskRateRatio": "0"}))
    result = _run(fake, "GET", "crossed/account/risk-rate")
    assert result.exit_code == 0, result.output
    assert fake.requests[0].url.path == "/api/v2/margin/crossed/account/risk-rate"
