"""Fixtures for the client tests: a scripted fake exchange behind httpx.MockTransport."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from riskd.bitget.client import BitgetClient, RetryPolicy
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoints import SERVER_TIME_PATH
from riskd.bitget.endpoints_v2 import SERVER_TIME_PATH_V2
from riskd.clock import ManualClock

API_KEY = "key-for-tests-0001"
SECRET = "test-secret"
PASSPHRASE = "pass-phrase-for-tests"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def ok(data: Any = None, **extra: Any) -> httpx.Response:
    """A success envelope as the exchange sends it."""
    body = {"code": "00000", "msg": "success", "requestTime": 1700000000000, "data": data}
    body.update(extra)
    return httpx.Response(200, content=json.dumps(body).encode())


def fail(code: str, msg: str = "refused", status: int = 400, **headers: str) -> httpx.Response:
    """An error envelope."""
    body = {"code": code, "msg": msg, "requestTime": 1700000000000, "data": None}
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


class FakeExchange:
    """Answers scripted per path (a list is consumed in order; the last answer repeats).

    The server-time endpoints (v1 and v2) answer ``clock.now_ms() + server_offset_ms`` unless
    scripted.
    """

    ok = staticmethod(ok)
    fail = staticmethod(fail)

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.server_offset_ms = 0
        self.routes: dict[str, list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, path: str, *answers: Answer) -> None:
        self.routes[path] = list(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        answers = self.routes.get(path)
        if answers is None:
            if path == SERVER_TIME_PATH:
                return ok(self.clock.now_ms() + self.server_offset_ms)
            if path == SERVER_TIME_PATH_V2:
                return ok({"serverTime": str(self.clock.now_ms() + self.server_offset_ms)})
            return fail("40404", "Request URL NOT FOUND")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    def client(
        self, credentials: Credentials | None = None, *, signed: bool = True, **kw: Any
    ) -> BitgetClient:
        if credentials is None and signed:
            credentials = Credentials.hmac(API_KEY, SECRET, PASSPHRASE)
        kw.setdefault("clock", self.clock)
        kw.setdefault("rng", random.Random(7))
        kw.setdefault("retry", RetryPolicy())
        return BitgetClient(credentials, http=self.http(), base_url="https://fake.test", **kw)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture
def fake(clock: ManualClock) -> FakeExchange:
    return FakeExchange(clock)


@pytest.fixture
def creds() -> Credentials:
    return Credentials.hmac(API_KEY, SECRET, PASSPHRASE)
