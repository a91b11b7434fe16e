"""Accounts per riskd node at a 1 s poll: where polling starts to lag (issue 19).

For each N (default 10, 20, 40, 80, 120, 160) this runs, as real processes on loopback, ``riskd sim
serve`` with N leveraged accounts (prices held; tests/cluster/harness.py) and ONE ``riskd run``
node watching all N with every poll interval at 1 s (live, shipped rules). After every account
has been polled once ("start s") and the start-up's reference-data calls (per-IP limits)
have stopped ("steady s", both from the node's start), it measures a window of ``--window``
seconds:

- polls per account per second (``riskd_poll_duration_seconds_count`` deltas; 1.0 = on time),
  and the ratio to the smallest N's figure (the baseline measured in the same run);
- the mean time to poll one account (``riskd_poll_duration_seconds`` sum / count);
- API requests per account per second the simulator received (``/_sim/stats``);
- 429s from the simulator, ``riskd_missed_ticks``, the highest ``riskd_budget_used_ratio``
  (the client-side budget's use of a limit: near 1 − safety margin = waiting for budget);
- the node's and the simulator's CPU use (share of one core, from /proc).

A point LAGS when polls per account per second fall below 0.9, or any 429 or missed tick is
seen. Each account has its own API key (UID), so the per-UID limits (10/s per endpoint) bind
only past ~10 polls per account per second; what binds first on one host is the per-IP limits
shared by every account (reference data) and CPU. The simulator shares the machine's cores.

    .venv/bin/python bench/cluster_capacity.py [--accounts 10,20,40,80,120,160] [--window 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.cluster.harness import Harness, metric_values  # noqa: E402

LAG_RATIO = 0.9
#: Reference data and clock calls (simulator endpoint names), limited per IP.
REFERENCE = (
    "server_time",
    "currencies",
    "cross_tier_data",
    "cross_interest_rate_and_limit",
    "isolated_tier_data",
    "isolated_interest_rate_and_limit",
)


@dataclass(frozen=True)
class Sample:
    at: float
    polls: float
    poll_sum: float
    missed: float
    requests: int
    limited: int
    node_cpu: float
    sim_cpu: float
    budget_max: float


@dataclass(frozen=True)
class Point:
    accounts: int
    startup_s: float
    settle_s: float
    polls_per_account_s: float
    poll_ms: float
    requests_per_account_s: float
    limited: int
    missed: float
    budget_max: float
    node_cpu: float
    sim_cpu: float

    @property
    def lags(self) -> bool:
        return self.polls_per_account_s < LAG_RATIO or self.limited > 0 or self.missed > 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def sample(h: Harness) -> Sample:
    text = h.metrics("node1")
    node = h.nodes["node1"].proc
    assert node is not None and h.sim_proc is not None
    stats = h.sim_stats()
    budget = metric_values(text, "riskd_budget_used_ratio", "endpoint", agg="max")
    return Sample(
        at=time.monotonic(),
        polls=sum(metric_values(text, "riskd_poll_duration_seconds_count", "account").values()),
        poll_sum=sum(metric_values(text, "riskd_poll_duration_seconds_sum", "account").values()),
        missed=sum(metric_values(text, "riskd_missed_ticks_total", "job").values()),
        requests=int(stats["totalRequests"]),
        limited=int(stats["rateLimited"]),
        node_cpu=cpu_seconds(node.pid),
        sim_cpu=cpu_seconds(h.sim_proc.pid),
        budget_max=max(budget.values(), default=0.0),
    )


def reference_calls(h: Harness) -> int:
    requests = h.sim_stats()["requests"]
    return sum(int(requests.get(name, 0)) for name in REFERENCE)


def settle_reference(h: Harness, quiet_s: float = 3.0, cap_s: float = 180.0) -> float:
    """Seconds until no reference-data call (currencies, tiers, interest rates, server time:
    per-IP limits) has been made for ``quiet_s``: the start-up load is over."""
    t0 = time.monotonic()
    last, quiet_since = reference_calls(h), time.monotonic()
    while time.monotonic() - t0 < cap_s:
        time.sleep(1.0)
        now = reference_calls(h)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            break
    return time.monotonic() - t0 - quiet_s


def measure(n: int, window: float) -> Point:
    with tempfile.TemporaryDirectory(prefix=f"riskd-cap-{n}-") as tmp:
        h = Harness(Path(tmp), nodes=1, accounts=n)
        try:
            startup = h.start(ready_timeout_s=max(60.0, n * 1.5))
            settle = settle_reference(h)
            a = sample(h)
            time.sleep(window)
            b = sample(h)
        finally:
            h.stop_all()
    dt = b.at - a.at
    polls = b.polls - a.polls
    return Point(
        accounts=n,
        startup_s=startup,
        settle_s=startup + settle,
        polls_per_account_s=polls / dt / n,
        poll_ms=1000 * (b.poll_sum - a.poll_sum) / polls if polls else float("nan"),
        requests_per_account_s=(b.requests - a.requests) / dt / n,
        limited=b.limited - a.limited,
        missed=b.missed - a.missed,
        budget_max=b.budget_max,
        node_cpu=(b.node_cpu - a.node_cpu) / dt,
        sim_cpu=(b.sim_cpu - a.sim_cpu) / dt,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="10,20,40,80,120,160")
    parser.add_argument("--window", type=float, default=15.0)
    args = parser.parse_args()
    sizes = [int(x) for x in args.accounts.split(",") if x.strip()]
    print(f"cluster capacity: one node, every poll interval 1 s, window {args.window:g} s")
    print(f"machine: {os.cpu_count()} cores; the simulator runs on the same cores")
    header = (
        f"{'accounts':>8} {'start s':>7} {'steady s':>8} {'polls/acc/s':>11} {'vs base':>7} "
        f"{'poll ms':>8} {'req/acc/s':>9} {'429':>4} {'missed':>6} {'budget':>6} "
        f"{'node cpu':>8} {'sim cpu':>7}"
    )
    print(header)
    base: float | None = None
    first_lag: int | None = None
    last_ok: int | None = None
    for n in sizes:
        p = measure(n, args.window)
        base = base if base is not None else p.polls_per_account_s
        ratio = p.polls_per_account_s / base if base else float("nan")
        flag = "  LAGS" if p.lags else ""
        print(
            f"{p.accounts:>8} {p.startup_s:>7.1f} {p.settle_s:>8.1f} "
            f"{p.polls_per_account_s:>11.2f} {ratio:>7.2f} {p.poll_ms:>8.0f} "
            f"{p.requests_per_account_s:>9.2f} {p.limited:>4} "
            f"{p.missed:>6.0f} {p.budget_max:>6.2f} {p.node_cpu:>8.0%} {p.sim_cpu:>7.0%}{flag}",
            flush=True,
        )
        if p.lags and first_lag is None:
            first_lag = n
        if not p.lags and first_lag is None:
            last_ok = n
    print(f"baseline: {sizes[0]} accounts = {base:.2f} polls per account per second")
    if first_lag is None:
        print(f"result: no lag up to {sizes[-1]} accounts per node at a 1 s poll")
    elif last_ok is None:
        print(f"result: lags already at {first_lag} accounts per node")
    else:
        print(f"result: on time up to {last_ok} accounts; lags from {first_lag} accounts")


if __name__ == "__main__":
    main()
