"""Reaction latency: the price crosses a rule's threshold → the protective call is accepted.

One process, the simulator in-process over ASGI (no network), wall time. Per trial: the
BTC price drops across the threshold of a rule ``riskRate >= 0.45 → repay 1 USDT``; the
clock starts when the daemon's next cycle begins and stops when the simulator sends its 200
answer to the repay. The cycle polls the scope, evaluates the rules, journals the decision
and the intent (SQLite, fsync) and sends the repay. The price then goes back up so that the
rule resolves, and the next trial starts. The scheduler's wait until the next tick (at most
``poll.fast_interval``, 2 s by default) comes on top and is not measured here.

Baseline in the same run: one bare signed ``isolated_repay`` call through the same client
stack (``BitgetClient`` → rate budget → ASGI simulator), and the ratio p50(reaction) /
p50(bare call).

    .venv/bin/python bench/reaction_latency.py [--trials 200] [--api v1|v2]

The API version defaults to ``$RISKD_BENCH_API``, else v2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.budget import RateBudget
from riskd.clock import ManualClock
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.wiring import build_daemon
from riskd.ops.logging import configure_logging
from riskd.settings import Settings
from riskd.sim import Simulator, load_scenario

SCENARIO = """
name = "latency"
[markets]
BTCUSDT = "30000"
[[accounts]]
name = "alice"
funding = { cross = { USDT = "100" }, isolated.BTCUSDT = { USDT = "3000" } }
positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "4" }]
"""
RULES = """
[[rule]]
name = "repay-at-045"
scope = "isolated:BTCUSDT"
when = "riskRate >= 0.45"
cooldown = "0s"
severity = "critical"
then = [{ action = "repay", coin = "USDT", amount = "1" }]
"""
SAFE, CRASH = Decimal(30000), Decimal(22800)
Scope = MutableMapping[str, Any]
ASGI = Callable[
    [Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]


class Stopwatch:
    """ASGI middleware: notes the wall time of the first 200 answer to a repay."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self.accepted_at: float | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        is_repay = scope.get("type") == "http" and scope.get("path", "").endswith("/repay")

        async def timed_send(message: Any) -> None:
            if (
                is_repay
                and message.get("type") == "http.response.start"
                and message.get("status") == 200
                and self.accepted_at is None
            ):
                self.accepted_at = time.perf_counter()
            await send(message)

        await self.app(scope, receive, timed_send)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument(
        "--api", choices=("v1", "v2"), default=os.environ.get("RISKD_BENCH_API", "v2")
    )
    args = parser.parse_args()
    configure_logging(level="CRITICAL")
    logging.disable(logging.CRITICAL)
    tmp = Path(tempfile.mkdtemp(prefix="riskd-latency-"))
    (tmp / "s.toml").write_text(SCENARIO)
    (tmp / "rules").mkdir()
    (tmp / "rules" / "r.toml").write_text(RULES)
    clock = ManualClock()
    sim = Simulator(
        clock=clock,
        scenario=load_scenario(tmp / "s.toml"),
        protocol_clock=clock,
        monotonic=clock.now,
    )
    keys = sim.add_account("alice")
    watch = Stopwatch(sim.app)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=watch), base_url="http://sim")
    settings = Settings(
        live=True,
        base_url="http://sim",
        journal_path=tmp / "journal.sqlite3",
        rules_dir=tmp / "rules",
        metrics={"enabled": False},  # type: ignore[arg-type]
        accounts={  # type: ignore[dict-item]
            "alice": {
                "api_key": keys.api_key,
                "api_secret": keys.secret,
                "api_passphrase": keys.passphrase,
                "api": args.api,
            }
        },
    )
    prices = SimPriceSource(sim.index_price, lambda: sim.scenario.markets, clock)
    built = await build_daemon(settings, clock=clock, http=http, prices=prices, sink=LoggingSink())
    daemon = built.daemon
    await daemon.start()
    reactions: list[float] = []
    cycles: list[float] = []
    misses = 0
    try:
        for _ in range(args.trials):
            sim.control.set_price("BTCUSDT", SAFE)
            clock.advance(5)
            await daemon.run_cycle(force_poll=True)
            sim.control.set_price("BTCUSDT", CRASH)
            clock.advance(5)
            watch.accepted_at = None
            t0 = time.perf_counter()
            await daemon.run_cycle(force_poll=True)
            t_end = time.perf_counter()
            if watch.accepted_at is None:
                misses += 1
                continue
            reactions.append(watch.accepted_at - t0)
            cycles.append(t_end - t0)
        # Baseline: bare signed repay calls through the same client stack.
        client = BitgetClient(
            Credentials.hmac(keys.api_key, keys.secret, keys.passphrase),
            http=http,
            base_url="http://sim",
            gate=RateBudget(clock).for_account("alice"),
            clock=clock,
            api=args.api,
        )
        bare: list[float] = []
        for _ in range(args.trials):
            clock.advance(1)
            t0 = time.perf_counter()
            await client.isolated_repay(symbol="BTCUSDT", coin="USDT", repay_amount=Decimal("0.01"))
            bare.append(time.perf_counter() - t0)
    finally:
        await built.aclose()
        await http.aclose()
    ms = 1000.0
    print(f"reaction latency over {len(reactions)} trials ({misses} without a repay)")
    print(
        f"  price crossed → repay accepted: p50 {pct(reactions, 0.5) * ms:.2f} ms, "
        f"p99 {pct(reactions, 0.99) * ms:.2f} ms, mean {statistics.fmean(reactions) * ms:.2f} ms"
    )
    print(
        f"  whole cycle (incl. verifying re-poll): p50 {pct(cycles, 0.5) * ms:.2f} ms, "
        f"p99 {pct(cycles, 0.99) * ms:.2f} ms"
    )
    print(
        f"  baseline, one bare signed repay call: p50 {pct(bare, 0.5) * ms:.2f} ms, "
        f"p99 {pct(bare, 0.99) * ms:.2f} ms"
    )
    print(f"  ratio p50 reaction / p50 bare call: {pct(reactions, 0.5) / pct(bare, 0.5):.1f}x")
    print("  (add up to poll.fast_interval of scheduler wait in production)")


if __name__ == "__main__":
    asyncio.run(main())
