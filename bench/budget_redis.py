"""Acquire latency of the rate budget on a shared Redis, against the in-memory budget, and
during a Redis outage (stopped, then hung).

Starts its own redis-server on a free loopback port (the logic of tests/realservers.py).
Each figure is the latency of ``RateBudget.acquire`` for a protective call (one window read
and one hit), each call for a fresh account so that no limit binds:

- baseline: ``memory://`` (one process);
- Redis: ``redis://127.0.0.1:<port>/0`` (every call two round trips to Redis);
- Redis stopped: the first call after the stop (the failure that opens the circuit), then
  the calls counted locally at the fallback share;
- Redis hung (a TCP server that accepts and never answers): the first call (bounded by
  ``storage_deadline_s``), then the calls counted locally.

    .venv/bin/python bench/budget_redis.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator

from riskd.bitget.endpoints import endpoint
from riskd.bitget.gate import Priority
from riskd.budget import BudgetConfig, RateBudget
from riskd.clock import WallClock

REPAY = endpoint("cross_repay")
DEADLINE_S = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="riskd-bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def budget(uri: str) -> RateBudget:
    config = BudgetConfig(storage_uri=uri, storage_deadline_s=DEADLINE_S, storage_probe_s=60.0)
    return RateBudget(WallClock(), config)


async def latencies(b: RateBudget, calls: int, tag: str) -> list[float]:
    out: list[float] = []
    for i in range(calls):
        gate = b.for_account(f"{tag}{i}")
        t0 = time.perf_counter()
        await gate.acquire(REPAY, Priority.PROTECTIVE)
        out.append(time.perf_counter() - t0)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def line(name: str, values: list[float], base: list[float] | None) -> str:
    p50, p99 = pct(values, 50), pct(values, 99)
    text = f"{name:<34} p50 {p50 * 1e6:8.1f} µs  p99 {p99 * 1e6:8.1f} µs"
    if base is not None:
        r50, r99 = p50 / pct(base, 50), p99 / pct(base, 99)
        text += f"  (ratio to memory: p50 {r50:.1f}×, p99 {r99:.1f}×)"
    return text


async def hung_server() -> tuple[asyncio.Server, int]:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def main(calls: int) -> None:
    memory = budget("memory://")
    base = await latencies(memory, calls, "m")
    print(f"acquire latency, protective, {calls} calls each (fresh account per call)")
    print(line("baseline memory://", base, None))
    with redis_server() as (uri, proc):
        shared = budget(uri)
        await shared.check_storage()
        print(line("Redis (shared, healthy)", await latencies(shared, calls, "r"), base))
        proc.terminate()
        proc.wait(10)
        t0 = time.perf_counter()
        await shared.acquire(REPAY, Priority.PROTECTIVE)
        first = time.perf_counter() - t0
        print(f"{'Redis stopped: first acquire':<34} {first * 1e3:8.2f} ms (connection lost)")
        print(line("Redis stopped: counting locally", await latencies(shared, calls, "s"), base))
        await shared.aclose()
    server, port = await hung_server()
    try:
        hung = budget(f"redis://127.0.0.1:{port}/0")
        t0 = time.perf_counter()
        await hung.acquire(REPAY, Priority.PROTECTIVE)
        first = time.perf_counter() - t0
        print(
            f"{'Redis hung: first acquire':<34} {first * 1e3:8.2f} ms "
            f"(goal <= deadline {DEADLINE_S * 1e3:.0f} ms + one local count)"
        )
        print(line("Redis hung: counting locally", await latencies(hung, calls, "h"), base))
        await hung.aclose()
    finally:
        server.close()
        await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.calls))
