"""Fixtures for the notifier tests: fake channels, a local SMTP server, a local HTTP sink."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from riskd.clock import Clock
from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import Outgoing, SendResult
from riskd.severity import Severity

SMTP_USER = "riskd"
SMTP_PASSWORD = "smtp-Pa55word-7f3c"
BOT_TOKEN = "123456789:AAHsecretBOTtoken_xyz-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_alert(
    n: int = 0,
    severity: Severity = Severity.WARNING,
    kind: AlertKind = AlertKind.FIRING,
    at: float = 1_700_000_000.0,
    **extra: Any,
) -> Alert:
    values: dict[str, Any] = {
        "account": "main",
        "scope": f"isolated:COIN{n}USDT",
        "rule": "margin-guard",
        "incident": f"margin-guard:isolated:COIN{n}USDT",
        "risk_rate": Decimal("0.8123"),
        "warning_risk_ratio": Decimal("0.8"),
        "liquidation_risk_ratio": Decimal("1"),
    }
    values["title"] = f"alert-{n:03d} risk high"
    values.update(extra)
    return Alert(kind=kind, severity=severity, at=at, **values)


# --- fake channels --------------------------------------------------------------------------


@dataclass
class FakeChannel:
    """Records what it is asked to send, with the clock time; can be told to fail."""

    label: str
    redacted_url: str
    clock: Clock
    failing: bool = False
    sent: list[tuple[float, Outgoing]] = field(default_factory=list)
    attempts: int = 0
    events: list[str] | None = None
    #: When set, every send waits for this event first (a hung channel).
    hang: asyncio.Event | None = None
    #: Raise this on the next send (a buggy plugin), once.
    explode: Exception | None = None

    async def send(self, message: Outgoing) -> SendResult:
        self.attempts += 1
        if self.events is not None:
            self.events.append(f"send:{self.label}")
        if self.hang is not None:
            await self.hang.wait()
        if self.explode is not None:
            exc, self.explode = self.explode, None
            raise exc
        if self.failing:
            return SendResult(ok=False, detail="connection refused")
        self.sent.append((self.clock.now(), message))
        return SendResult(ok=True, detail="delivered")

    def text(self) -> str:
        return "\n".join(f"{m.title}\n{m.body}" for _, m in self.sent)


@dataclass
class FakeFactory:
    clock: Clock
    channels: dict[str, FakeChannel] = field(default_factory=dict)
    events: list[str] | None = None

    def __call__(self, route: str, index: int, url: SecretStr, timeout: float) -> FakeChannel:
        label = f"{route}[{index}]"
        channel = FakeChannel(label, "fake://***", self.clock, events=self.events)
        self.channels[label] = channel
        return channel


# --- SMTP -------------------------------------------------------------------------------------


class SmtpSink:
    """aiosmtpd on 127.0.0.1 with LOGIN/PLAIN auth over plain SMTP; collects messages."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.received = threading.Event()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.received.set()
        return "250 OK"

    @staticmethod
    def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok)

    def start(self) -> None:
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._auth,
            auth_require_tls=False,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, **params: str) -> str:
        query = "&".join(
            f"{k}={v}"
            for k, v in {
                "mode": "insecure",
                "from": "riskd@example.com",
                "to": "me@example.com",
                **params,
            }.items()
        )
        return f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{self.port}?{query}"

    def bodies(self) -> list[str]:
        texts = []
        for message in self.messages:
            part = message.get_body(preferencelist=("plain",))
            texts.append(part.get_content() if part is not None else "")
        return texts


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_later() -> Iterator[SmtpSink]:
    """A sink that is not started: the test starts it when 'the server comes back'."""
    sink = SmtpSink()
    yield sink
    sink.stop()


# --- HTTP ---------------------------------------------------------------------------------------


class HttpSink:
    """A tiny HTTP server in a thread that records requests; ``status`` sets its answer."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.status = 200
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                sink.requests.append((self.command, self.path, body))
                self.send_response(sink.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = _answer
            do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def json_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for method, _, body in self.requests if method == "POST"]

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    with HttpSink() as sink:
        yield sink


async def wait_until(predicate: Callable[[], bool], limit: float = 3.0) -> None:
    """Poll ``predicate`` with short real waits (for real servers); fail after ``limit``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


# --- fixtures handing the helpers to test modules (importlib mode: no sibling imports) ---------


@dataclass(frozen=True)
class Secrets:
    smtp_password: str = SMTP_PASSWORD
    bot_token: str = BOT_TOKEN
    smtp_user: str = SMTP_USER


@pytest.fixture
def secrets() -> Secrets:
    return Secrets()


@pytest.fixture
def alert() -> Callable[..., Alert]:
    return make_alert


@pytest.fixture
def fakes_cls() -> type[FakeFactory]:
    return FakeFactory


@pytest.fixture
def until() -> Callable[..., Any]:
    return wait_until


@pytest.fixture
def smtp_cls() -> type[SmtpSink]:
    return SmtpSink
