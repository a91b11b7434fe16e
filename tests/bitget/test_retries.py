"""Retries: transient failures of reads are retried with backoff; mutating POSTs never are,
except the single resend after a clock error, which the exchange refused before acting."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from riskd.bitget.client import NO_RETRY, RetryPolicy
from riskd.bitget.endpoints import BY_NAME, SERVER_TIME_PATH, Endpoint
from riskd.bitget.errors import (
    AuthenticationError,
    ClockSkewError,
    ExchangeUnavailableError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
)
from riskd.bitget.gate import Priority, request_priority
from riskd.clock import ManualClock

RISK = BY_NAME["cross_risk_rate"].path
REPAY = BY_NAME["cross_repay"].path


class SleepRecorder(ManualClock):
    """A manual clock that remembers every sleep."""

    def __init__(self) -> None:
        super().__init__(start=1_700_000_000.0)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().sleep(seconds)


class RecordingGate:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        self.events.append(("acquire", endpoint.name, priority))

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        self.events.append(("release", endpoint.name, (status_code, retry_after)))


@pytest.fixture
def rclock() -> SleepRecorder:
    return SleepRecorder()


def _risk_ok(fake: Any) -> httpx.Response:
    return fake.ok({"riskRate": "0.5"})


async def test_get_retries_transient_failures_with_capped_backoff(
    fake: Any, rclock: SleepRecorder
) -> None:
    """503, 502 and a timeout are retried; delays grow exponentially within the jitter band."""
    fake.clock = rclock

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake.on(RISK, fake.fail("40015", status=503), httpx.Response(502), timeout, _risk_ok(fake))
    policy = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=3.0, jitter=0.5)
    async with fake.client(clock=rclock, retry=policy) as client:
        result = await client.cross_risk_rate(coin="USDT")
    assert result.risk_rate == Decimal("0.5")
    assert len(fake.calls(RISK)) == 4
    assert len(rclock.sleeps) == 3
    for n, slept in enumerate(rclock.sleeps):
        cap = min(3.0, 1.0 * 2**n)
        assert cap * 0.5 <= slept <= cap, (n, slept)


async def test_get_gives_up_after_max_attempts(fake: Any, rclock: SleepRecorder) -> None:
    """A failure that persists is raised after ``max_attempts`` tries."""
    fake.on(RISK, httpx.Response(503))
    async with fake.client(clock=rclock, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(ExchangeUnavailableError):
            await client.cross_risk_rate(coin="USDT")
    assert len(fake.calls(RISK)) == 3 and len(rclock.sleeps) == 2


async def test_rate_limit_waits_at_least_retry_after(fake: Any, rclock: SleepRecorder) -> None:
    """A 429 with Retry-After is retried no sooner than the server asked."""
    fake.on(RISK, httpx.Response(429, headers={"Retry-After": "4"}), _risk_ok(fake))
    async with fake.client(clock=rclock) as client:
        await client.cross_risk_rate(coin="USDT")
    assert rclock.sleeps == [4.0]


async def test_rate_limit_with_a_long_retry_after_is_raised(
    fake: Any, rclock: SleepRecorder
) -> None:
    """A Retry-After beyond the policy's limit is not waited for."""
    fake.on(RISK, fake.fail("429", status=429, **{"Retry-After": "120"}))
    async with fake.client(clock=rclock) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.cross_risk_rate(coin="USDT")
    assert info.value.retry_after == 120.0
    assert len(fake.calls(RISK)) == 1 and rclock.sleeps == []


async def test_refusals_are_not_retried(fake: Any, rclock: SleepRecorder) -> None:
    """A parameter refusal is final even for a GET."""
    fake.on(RISK, fake.fail("40017", "Parameter verification failed"))
    async with fake.client(clock=rclock) as client:
        with pytest.raises(InvalidRequestError):
            await client.cross_risk_rate(coin="USDT")
    assert len(fake.calls(RISK)) == 1


@pytest.mark.parametrize("failure", ["503", "timeout", "429", "connect"])
async def test_mutating_post_is_never_retried(
    fake: Any, rclock: SleepRecorder, failure: str
) -> None:
    """A repay that fails transiently is sent once and the error raised to the caller."""

    def answer(request: httpx.Request) -> httpx.Response:
        if failure == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if failure == "connect":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(int(failure))

    fake.on(REPAY, answer, fake.ok({"coin": "USDT", "repayAmount": "1", "remainDebtAmount": "0"}))
    async with fake.client(clock=rclock) as client:
        with pytest.raises((ExchangeUnavailableError, RateLimitedError)) as info:
            await client.cross_repay(coin="USDT", repay_amount=Decimal("1"))
    assert len(fake.calls(REPAY)) == 1 and rclock.sleeps == []
    assert info.value.outcome_unknown == (failure in ("503", "timeout"))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("isolated_risk_rate", {"symbol": "BTCUSDT"}),
        ("cross_max_borrowable", {"coin": "USDT"}),
        ("isolated_flash_repay_status", {"id_list": ["1"]}),
    ],
)
async def test_post_reads_are_retried(
    fake: Any, rclock: SleepRecorder, name: str, kwargs: dict[str, Any]
) -> None:
    """The POSTs that only read (not ``mutating``) retry like GETs."""
    ep = BY_NAME[name]
    assert ep.method == "POST" and not ep.mutating
    data: Any = {"coin": "USDT", "maxBorrowableAmount": "1"} if "max" in name else []
    fake.on(ep.path, httpx.Response(503), fake.ok(data))
    async with fake.client(clock=rclock) as client:
        await getattr(client, name)(**kwargs)
    assert len(fake.calls(ep.path)) == 2


def _clock_checked(fake: Any, answer: httpx.Response) -> Any:
    """An endpoint that refuses timestamps more than 30 s from the fake's server time."""

    def handler(request: httpx.Request) -> httpx.Response:
        server_now = fake.clock.now_ms() + fake.server_offset_ms
        if abs(int(request.headers["ACCESS-TIMESTAMP"]) - server_now) > 30_000:
            return fake.fail("40004", "Request timestamp expired")
        return answer

    return handler


async def test_clock_error_resyncs_and_retries_a_get_once(fake: Any) -> None:
    """After the server's clock moves, a 40004 triggers one resync and one successful retry."""
    fake.on(RISK, _clock_checked(fake, fake.ok({"riskRate": "0.1"})))
    async with fake.client(retry=NO_RETRY) as client:
        assert client.server_clock.offset_ms == 0
        fake.server_offset_ms = 90_000
        result = await client.cross_risk_rate(coin="USDT")
        assert client.server_clock.offset_ms == 90_000
    assert result.risk_rate == Decimal("0.1")
    assert len(fake.calls(RISK)) == 2
    assert len(fake.calls(SERVER_TIME_PATH)) == 2  # start + resync


async def test_clock_error_resends_a_mutating_post_exactly_once(fake: Any) -> None:
    """A repay refused for its timestamp is sent again once, with a fresh timestamp."""
    done = fake.ok({"coin": "USDT", "repayAmount": "5", "remainDebtAmount": "0"})
    fake.on(REPAY, _clock_checked(fake, done))
    async with fake.client() as client:
        await client.start()
        fake.server_offset_ms = -45_000
        result = await client.cross_repay(coin="USDT", repay_amount=Decimal("5"))
    assert result.repay_amount == Decimal("5")
    first, second = fake.calls(REPAY)
    assert (
        int(second.headers["ACCESS-TIMESTAMP"]) - int(first.headers["ACCESS-TIMESTAMP"]) == -45_000
    )
    assert first.content == second.content


async def test_second_clock_error_is_raised(fake: Any) -> None:
    """If the resent request is refused for its clock again, the error is raised."""
    fake.on(REPAY, fake.fail("40008", "Request timestamp expired"))
    async with fake.client() as client:
        with pytest.raises(ClockSkewError):
            await client.cross_repay(coin="USDT", repay_amount=Decimal("5"))
    assert len(fake.calls(REPAY)) == 2


async def test_failed_resync_raises_the_clock_error(fake: Any) -> None:
    """If the server time cannot be read after a clock error, the clock error is raised."""
    fake.on(RISK, fake.fail("40005", "Invalid ACCESS_TIMESTAMP"))
    async with fake.client(retry=NO_RETRY) as client:
        fake.on(SERVER_TIME_PATH, httpx.Response(503))
        with pytest.raises(ClockSkewError) as info:
            await client.cross_risk_rate(coin="USDT")
    assert isinstance(info.value.__cause__, ExchangeUnavailableError)
    assert len(fake.calls(RISK)) == 1


async def test_gate_sees_every_attempt_with_its_status_and_priority(
    fake: Any, rclock: SleepRecorder
) -> None:
    """Every attempt is gated with the context's priority and released with its status."""

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.on(RISK, refused, httpx.Response(429, headers={"Retry-After": "1"}), _risk_ok(fake))
    fake.on(BY_NAME["cross_tier_data"].path, fake.ok([]))
    gate = RecordingGate()
    async with fake.client(clock=rclock, gate=gate, sync_clock=False) as client:
        with request_priority(Priority.PROTECTIVE):
            await client.cross_risk_rate(coin="USDT")
        await client.cross_tier_data(coin="USDT")
    risk = [e for e in gate.events if e[1] == "cross_risk_rate"]
    assert risk == [
        ("acquire", "cross_risk_rate", Priority.PROTECTIVE),
        ("release", "cross_risk_rate", (None, None)),
        ("acquire", "cross_risk_rate", Priority.PROTECTIVE),
        ("release", "cross_risk_rate", (429, 1.0)),
        ("acquire", "cross_risk_rate", Priority.PROTECTIVE),
        ("release", "cross_risk_rate", (200, None)),
    ]
    assert ("acquire", "cross_tier_data", Priority.POLL) in gate.events


async def test_signed_call_without_credentials_fails_before_sending(fake: Any) -> None:
    """A client without credentials refuses signed endpoints locally and serves public ones."""
    fake.on(BY_NAME["cross_tier_data"].path, fake.ok([]))
    async with fake.client(signed=False) as client:
        with pytest.raises(AuthenticationError):
            await client.cross_risk_rate(coin="USDT")
        assert await client.cross_tier_data(coin="USDT") == ()
    assert [r.url.path for r in fake.requests] == [BY_NAME["cross_tier_data"].path]


async def test_malformed_typed_answer_is_reported_not_guessed(fake: Any) -> None:
    """A risk answer without riskRate raises MalformedResponseError instead of a default."""
    fake.on(RISK, httpx.Response(200, content=json.dumps({"code": "00000", "data": {}}).encode()))
    async with fake.client() as client:
        with pytest.raises(MalformedResponseError, match=r"risk_rate|riskRate"):
            await client.cross_risk_rate(coin="USDT")
