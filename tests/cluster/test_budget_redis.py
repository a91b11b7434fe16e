"""One rate budget across nodes on a real redis-server: shared windows per UID and per IP, a
local share when Redis is stopped or hangs, shared again when it is back, no password shown.

Real wall time throughout: ``limits``' Redis storage counts in wall time (``WallClock``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import httpx
import pytest

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoints import endpoint
from riskd.bitget.errors import RiskdExchangeError
from riskd.bitget.gate import Priority, request_priority
from riskd.budget import (
    BudgetConfig,
    BudgetExhausted,
    BudgetStorageUnreachable,
    RateBudget,
    StorageEvent,
)
from riskd.budget.usage import usage
from riskd.clock import WallClock
from riskd.sim import Simulator
from tests.realservers import Redis

REPAY = endpoint("cross_repay")  # UID 10/s → capacity 9 (margin 10 %)
ASSETS = endpoint("cross_assets")  # IP 10/s
PASSWORD = "s3cret"


def make_budget(url: str, account: str = "main", **overrides: object) -> RateBudget:
    values: dict[str, object] = {
        "storage_uri": url,
        "fallback_share": 1 / 3,
        "storage_probe_s": 0.2,
        "max_wait_protective_s": 0.05,
        "max_wait_poll_s": 0.05,
        **overrides,
    }
    return RateBudget(WallClock(), BudgetConfig(**values), default_account=account)  # type: ignore[arg-type]


async def granted(budget: RateBudget, n: int, priority: Priority = Priority.PROTECTIVE) -> int:
    """Try ``n`` acquires at once; how many got through."""
    got = 0
    for _ in range(n):
        with contextlib.suppress(BudgetExhausted):
            await budget.acquire(REPAY, priority)
            got += 1
    return got


async def until(check: Callable[[], Awaitable[bool]], within_s: float = 5.0) -> None:
    """Poll ``check`` every 50 ms until it holds (a failed test, not a hang, past the bound)."""
    async with asyncio.timeout(within_s):
        while not await check():
            await asyncio.sleep(0.05)


def max_in_window(stamps: list[float], window_s: float = 1.0) -> int:
    """Largest number of ``stamps`` inside any window of ``window_s`` seconds."""
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while stamps[lo] <= t - window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@contextlib.asynccontextmanager
async def budgets(*made: RateBudget) -> AsyncIterator[tuple[RateBudget, ...]]:
    try:
        yield made
    finally:
        for b in made:
            await b.aclose()


async def test_two_nodes_share_one_window(redis_server: Redis) -> None:
    """When node A has used the capacity of a UID limit, node B waits for the window."""
    async with budgets(make_budget(redis_server.url), make_budget(redis_server.url)) as (a, b):
        await a.check_storage()
        assert await granted(a, 9) == 9
        with pytest.raises(BudgetExhausted, match="is full"):
            await b.acquire(REPAY, Priority.PROTECTIVE)
        key = (await b.status()).key("cross_repay")
        assert key is not None and key.used == 9 and not b.storage_degraded


async def test_usage_lists_each_uid_and_ip_window(redis_server: Redis) -> None:
    """usage() reads every node's calls per UID and per IP group from Redis."""
    async with budgets(make_budget(redis_server.url), make_budget(redis_server.url)) as (a, b):
        await a.for_account("alice").acquire(REPAY, Priority.PROTECTIVE)
        await b.for_account("alice").acquire(REPAY, Priority.PROTECTIVE)
        await b.for_account("bob").acquire(ASSETS, Priority.POLL)
        rows = {r.label: r for r in await usage(redis_server.url)}
    assert rows["cross_repay/UID/alice"].used == 2
    assert rows["cross_repay/UID/alice"].used_by_polls == 0
    assert rows["cross_assets/IP/local"].used_by_polls == 1
    assert rows["cross_assets/IP/local"].limit == 10
    assert "cross_assets/UID/bob" not in rows


async def test_redis_stopped_counts_locally_at_the_share_then_shared_again(
    redis_server: Redis,
) -> None:
    """Redis stopped: the next protective call is granted within the deadline, no window
    holds more than the local share; Redis back: counting is shared again."""
    async with budgets(make_budget(redis_server.url), make_budget(redis_server.url)) as (a, b):
        events: list[StorageEvent] = []
        a.add_storage_listener(events.append)
        assert await granted(a, 2) == 2
        redis_server.stop()
        async with asyncio.timeout(1.0):  # the deadline is 0.25 s; bench/budget_redis.py times it
            await a.acquire(REPAY, Priority.PROTECTIVE)
        assert a.storage_degraded and [e.degraded for e in events] == [True]
        stamps: list[float] = []
        end = time.monotonic() + 1.3
        while time.monotonic() < end:
            if await granted(a, 1):
                stamps.append(time.monotonic())
            await asyncio.sleep(0.02)
        assert 1 <= max_in_window(stamps) <= 3  # ⌊9 × 1/3⌋
        redis_server.start_again()

        async def shared_again() -> bool:
            await granted(a, 1)
            return not a.storage_degraded

        await until(shared_again)
        assert [e.degraded for e in events] == [True, False]
        await asyncio.sleep(1.0)  # let the window empty
        assert await granted(a, 4) == 4
        assert await granted(b, 9) == 5  # B sees A's 4 calls in the shared window


async def test_hung_redis_does_not_delay_a_protective_call() -> None:
    """A server that accepts and never answers: the start-up check fails within its timeout,
    a protective acquire is granted after at most the deadline, and later ones never wait."""
    connections = 0

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(ConnectionError):
            await reader.read()  # never answers; returns when the client goes away
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    try:
        async with budgets(make_budget(url, storage_probe_s=60.0)) as (budget,):
            async with asyncio.timeout(2.0):
                with pytest.raises(BudgetStorageUnreachable) as info:
                    await budget.check_storage(timeout_s=0.5)
            assert f"redis://127.0.0.1:{port}/0" in str(info.value)
            assert PASSWORD not in str(info.value)
            async with asyncio.timeout(1.0):
                assert await granted(budget, 3) == 3
            assert budget.storage_degraded
            seen = connections
            async with asyncio.timeout(0.5):
                await granted(budget, 2)
            assert connections == seen  # circuit open: Redis not even tried
    finally:
        server.close()
        await server.wait_closed()


def _set_password(redis_server: Redis) -> None:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed")
    subprocess.run(
        [cli, "-p", str(redis_server.port), "CONFIG", "SET", "requirepass", PASSWORD],
        check=True,
        capture_output=True,
        timeout=10,
    )


async def test_password_never_in_logs_errors_or_repr(
    redis_server: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """With redis://:s3cret@…: works; a wrong password is one line naming the URL; after a
    stop, the log, event, repr and status show host:port only."""
    _set_password(redis_server)
    good = f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0"
    wrong = f"redis://:wr0ngpass@127.0.0.1:{redis_server.port}/0"
    events: list[StorageEvent] = []
    async with budgets(make_budget(good), make_budget(wrong)) as (budget, bad):
        budget.add_storage_listener(events.append)
        with caplog.at_level(logging.DEBUG):
            await budget.check_storage()
            with pytest.raises(BudgetStorageUnreachable) as info:
                await bad.check_storage()
            await budget.acquire(REPAY, Priority.PROTECTIVE)
            assert not budget.storage_degraded
            redis_server.stop()
            await budget.acquire(REPAY, Priority.PROTECTIVE)
        assert budget.storage_degraded and len(events) == 1
        status = await budget.status()
        shown = [str(info.value), caplog.text, repr(budget), events[0].message()]
        shown += [*status.lines(), str(status.to_json())]
    assert f"redis://127.0.0.1:{redis_server.port}/0" in str(info.value)
    assert "\n" not in str(info.value)
    assert f"Redis at 127.0.0.1:{redis_server.port} unreachable" in caplog.text
    assert not [s for s in shown if PASSWORD in s or "wr0ngpass" in s]


@pytest.mark.slow
async def test_two_nodes_against_the_simulator_survive_a_redis_outage(
    redis_server: Redis,
) -> None:
    """Two nodes poll one account as fast as the shared budget allows and each repays every
    0.3 s; Redis is stopped mid-run: no 429 from the simulator, every repay is still sent."""
    sim = Simulator()
    keys = sim.add_account("alice")
    creds = Credentials.hmac(keys.api_key, keys.secret, keys.passphrase)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app))
    nodes = [
        make_budget(
            redis_server.url,
            fallback_share=0.5,
            max_wait_poll_s=1.0,
            max_wait_protective_s=2.0,
        )
        for _ in range(2)
    ]
    repays_sent: list[float] = []
    refused: list[BaseException] = []
    stop_at = time.monotonic() + 2.4

    async def poll(client: BitgetClient) -> None:
        while time.monotonic() < stop_at:
            try:
                await client.cross_assets()
                await client.isolated_risk_rate(symbol="BTCUSDT")
            except BudgetExhausted:
                await asyncio.sleep(0.01)

    async def protect(client: BitgetClient) -> None:
        while time.monotonic() < stop_at:
            with request_priority(Priority.PROTECTIVE):
                try:
                    await client.cross_repay(coin="USDT", repay_amount=Decimal("1"))
                except RiskdExchangeError:
                    pass  # nothing to repay: the call still reached the exchange
                except BudgetExhausted as exc:
                    refused.append(exc)
                repays_sent.append(time.monotonic())
            await asyncio.sleep(0.3)

    stopped_at: list[float] = []

    async def outage() -> None:
        await asyncio.sleep(0.8)
        await asyncio.to_thread(redis_server.stop)
        stopped_at.append(time.monotonic())

    async with budgets(*nodes):
        clients = [
            BitgetClient(
                creds,
                http=http,
                base_url="http://sim",
                gate=node.for_account("alice"),
                sync_clock=False,
            )
            for node in nodes
        ]
        try:
            await asyncio.gather(
                outage(), *(poll(c) for c in clients), *(protect(c) for c in clients)
            )
        finally:
            await http.aclose()
        degraded = [node.storage_degraded for node in nodes]
    stats = sim.stats
    assert degraded == [True, True]
    assert stats.rate_limited == 0
    assert not refused
    assert stats.requests["cross_repay"] == len(repays_sent) >= 8
    assert sum(1 for t in repays_sent if t > stopped_at[0]) >= 4
    assert stats.requests["cross_assets"] > 6  # more than one window of the poll share
