"""API calls per poll cycle of the daemon, and 429s during a max-rate run of 50 symbols.

Part 1 — calls per cycle: an account with 1, 10 and 50 leveraged isolated positions (plus a
cross position) on the in-process simulator; one forced poll of every scope, counted by
endpoint from the simulator's request counters, on API v2 beside API v1 (v1 asks the isolated
risk rate one symbol at a time; v2 lists every symbol in one paged GET, so its count stays flat
as symbols are added). The first cycle also loads reference data (currencies, tier data); the
steady-state cycle is the second. Baseline in the same run: the naive count — assets and risk
rate per scope, one call each (2 × scopes).

Part 2 — max-rate run: the daemon polls 50 indebted isolated symbols back to back for
``--seconds`` of market time (virtual time: one LoopClock shared by daemon, budget and
simulator, so the simulator's rate windows and the budget's agree), with ``fast_interval``
below what the limits allow, so the rate budget is what paces it. Printed: requests, 429s
from the simulator's real limits (goal 0), and the use of ``isolated_risk_rate``'s
documented limit (10/s per UID) and of the budget's poll share (goal ≥ 90 %), with the
default budget and with a max-rate budget (safety margin 5 %, no reserve). Part 2 speaks
``--api`` (default: ``$RISKD_BENCH_API``, else v2; ``bench/run --api v1`` sets it).

    .venv/bin/python bench/calls_per_cycle.py [--seconds 30] [--api v1|v2]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from riskd.budget import BudgetConfig, RateBudget
from riskd.clock import Clock, LoopClock, ManualClock
from riskd.daemon.alerts import LoggingSink
from riskd.daemon.prices import SimPriceSource
from riskd.daemon.wiring import build_daemon
from riskd.ops.logging import configure_logging
from riskd.settings import Settings
from riskd.sim import Simulator, load_scenario
from riskd.virtual_time import run_virtual

RULES = '[[rule]]\nname = "watch"\nwhen = "riskRate >= 0.95"\nthen = ["notify"]\n'


def scenario_text(n: int) -> str:
    symbols = [f"C{i:02d}USDT" for i in range(n)]
    markets = "\n".join(f'{s} = "100"' for s in symbols)
    funding = ", ".join(f'isolated.{s} = {{ USDT = "1000" }}' for s in symbols)
    positions = ",\n".join(
        f'  {{ scope = "isolated:{s}", side = "long", leverage = "3" }}' for s in symbols
    )
    return f"""
name = "n{n}"
[markets]
BTCUSDT = "30000"
{markets}
[[accounts]]
name = "alice"
funding = {{ cross = {{ USDT = "3000" }}, {funding} }}
positions = [
  {{ scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "2" }},
{positions}
]
"""


def make_sim(tmp: Path, n: int, clock: Clock) -> Simulator:
    path = tmp / f"n{n}.toml"
    path.write_text(scenario_text(n))
    return Simulator(
        clock=clock, scenario=load_scenario(path), protocol_clock=clock, monotonic=clock.now
    )


def settings_for(tmp: Path, sim: Simulator, api: str = "v2", **poll: object) -> Settings:
    keys = sim.add_account("alice")
    rules = tmp / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "watch.toml").write_text(RULES)
    return Settings(
        base_url="http://sim",
        journal_path=tmp / f"journal-{time.monotonic_ns()}.sqlite3",
        rules_dir=rules,
        metrics={"enabled": False},  # type: ignore[arg-type]
        poll=poll,  # type: ignore[arg-type]
        accounts={  # type: ignore[dict-item]
            "alice": {
                "api_key": keys.api_key,
                "api_secret": keys.secret,
                "api_passphrase": keys.passphrase,
                "api": api,
            }
        },
    )


async def calls_per_cycle(tmp: Path, n: int, api: str) -> tuple[Counter[str], Counter[str], int]:
    clock = ManualClock()
    sim = make_sim(tmp, n, clock)
    settings = settings_for(tmp, sim, api)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    prices = SimPriceSource(sim.index_price, lambda: sim.scenario.markets, clock)
    built = await build_daemon(settings, clock=clock, http=http, prices=prices, sink=LoggingSink())
    try:
        await built.daemon.start()
        counts: list[Counter[str]] = []
        for _ in range(2):
            before = Counter(sim.stats.requests)
            clock.advance(60)
            await built.daemon.run_cycle(force_poll=True)
            counts.append(Counter(sim.stats.requests) - before)
        scopes = len(built.daemon.accounts["alice"].poller.snapshots)
        return counts[0], counts[1], scopes
    finally:
        await built.aclose()
        await http.aclose()


async def max_rate(tmp: Path, seconds: float, config: BudgetConfig, api: str) -> dict[str, float]:
    clock = LoopClock(1_700_000_000)
    sim = make_sim(tmp, 50, clock)
    settings = settings_for(
        tmp,
        sim,
        api,
        fast_interval="100ms",
        interval="100ms",
        slow_interval="100ms",
        stale_after="10m",
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    prices = SimPriceSource(sim.index_price, lambda: sim.scenario.markets, clock)
    budget = RateBudget(clock, config)
    built = await build_daemon(
        settings, clock=clock, http=http, prices=prices, sink=LoggingSink(), budget=budget
    )
    try:
        await built.daemon.start()
        await built.daemon.run_cycle(force_poll=True)  # reference data, discovery
        before = Counter(sim.stats.requests)
        refused_before = sim.limiter.refused
        start = clock.now()
        cycles = 0
        while clock.now() - start < seconds:
            await built.daemon.run_cycle(force_poll=True)
            cycles += 1
        elapsed = clock.now() - start
        done = Counter(sim.stats.requests) - before
        share = config.safety_margin, config.reserved_share
        poll_cap = int(10 * (1 - share[0])) - round(int(10 * (1 - share[0])) * share[1])
        rr = done["isolated_risk_rate"] / elapsed
        return {
            "cycles": cycles,
            "elapsed_s": elapsed,
            "requests": sum(done.values()),
            "risk_rate_per_s": rr,
            "use_of_limit": rr / 10,
            "use_of_poll_share": rr / poll_cap if poll_cap else 0.0,
            "sim_429": sim.limiter.refused - refused_before,
        }
    finally:
        await built.aclose()
        await http.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="market seconds per run")
    parser.add_argument(
        "--api",
        choices=("v1", "v2"),
        default=os.environ.get("RISKD_BENCH_API", "v2"),
        help="API version of the max-rate run (part 1 prints both)",
    )
    args = parser.parse_args()
    configure_logging(level="CRITICAL")
    logging.disable(logging.CRITICAL)
    tmp = Path(tempfile.mkdtemp(prefix="riskd-bench-"))
    print("calls per poll cycle (1 cross + N isolated scopes, all with debt), v2 beside v1")
    print(
        f"{'N':>4} {'scopes':>6} {'v2 first':>8} {'v2 steady':>9} {'v1 first':>8} "
        f"{'v1 steady':>9} {'naive':>6} {'v1/v2':>6}  v2 steady by endpoint"
    )
    summary: list[str] = []
    for n in (1, 10, 50):
        counts = {api: await calls_per_cycle(tmp, n, api) for api in ("v2", "v1")}
        (f2, s2, scopes), (f1, s1, _) = counts["v2"], counts["v1"]
        naive = 2 * scopes
        detail = ", ".join(f"{k} {v}" for k, v in sorted(s2.items()))
        ratio = sum(s1.values()) / max(1, sum(s2.values()))
        print(
            f"{n:>4} {scopes:>6} {sum(f2.values()):>8} {sum(s2.values()):>9} "
            f"{sum(f1.values()):>8} {sum(s1.values()):>9} {naive:>6} {ratio:>5.1f}x  {detail}"
        )
        summary.append(f"N={n}: v2 {sum(s2.values())}, v1 {sum(s1.values())} ({ratio:.1f}x)")
    print("steady calls per cycle, ratio v1/v2: " + "; ".join(summary))
    print(
        f"\nmax-rate run (API {args.api}): 50 symbols, {args.seconds:g} market seconds on "
        "virtual time"
    )
    for label, config in (
        ("default budget (margin 10 %, reserve 30 %)", BudgetConfig()),
        (
            "max-rate budget (margin 5 %, reserve 0 %)",
            BudgetConfig(safety_margin=0.05, reserved_share=0.0),
        ),
    ):
        r = await max_rate(tmp, args.seconds, config, args.api)
        print(
            f"  {label}: {r['cycles']:.0f} cycles in {r['elapsed_s']:.1f}s, "
            f"{r['requests']:.0f} requests, isolated_risk_rate {r['risk_rate_per_s']:.2f}/s = "
            f"{r['use_of_limit']:.0%} of the 10/s limit, {r['use_of_poll_share']:.0%} of the "
            f"poll share; simulator 429s: {r['sim_429']:.0f}"
        )
    if args.api == "v2":
        print(
            "  (v2: one isolated_risk_rate call per cycle covers all 50 symbols, so that limit no"
            " longer paces the cycle: the use of it stays well under the goal v1 needed)"
        )


if __name__ == "__main__":
    run_virtual(main())
