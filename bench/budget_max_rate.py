"""Max-rate polling of 50 isolated symbols through the rate budget, against a strict server.

The server is a minimal in-process ASGI app that enforces the endpoint table's limits exactly
(moving windows per endpoint × IP or × account, plus the public global rule) and answers 429
past them. Each of 50 "symbols" polls ``isolated_risk_rate`` (UID, 10/s) and
``isolated_assets`` (IP, 10/s) in a loop, as fast as the budget lets it; a protective re-poll
of ``isolated_risk_rate`` runs every 0.5 s to show the reserve at work.

Printed per run: requests, 429s (goal 0), utilisation of the documented limit and of the
budget's poll share (goal ≥ 90 %), protective acquire latency. The baseline is the same 50
symbols polling naively every second with no budget, in the same process.

Both API versions run, v2 first and v1 beside it: the budget counts each call against its own
version's limit (``Endpoint.key``: ``v2:isolated_risk_rate`` is not ``isolated_risk_rate``),
and the strict server keys its windows the same way. v2's ``isolated_assets`` is counted per
UID where v1's is per IP (ENDPOINTS-v2.md §1b).

    .venv/bin/python bench/budget_max_rate.py [--seconds 4] [--api v2 v1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from riskd.bitget.endpoints import ALL_BY_ROUTE, Api, LimitScope, endpoint
from riskd.bitget.gate import (
    OpenGate,
    Priority,
    RequestGate,
    current_priority,
    request_priority,
)
from riskd.budget import BudgetConfig, BudgetExhausted, RateBudget, Share
from riskd.budget.limit_table import rules_for
from riskd.clock import WallClock

SYMBOLS = 50
ACCOUNT = "main"
POLLED = ("isolated_risk_rate", "isolated_assets")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class StrictExchange:
    """ASGI app: every route of the endpoint table, limits enforced exactly, 429 past them."""

    def __init__(self) -> None:
        self.windows: dict[str, deque[float]] = {}
        self.ok: dict[str, list[float]] = {}
        self.rejected = 0

    def _admit(self, keys: list[tuple[str, int, int]], now: float) -> bool:
        for key, limit, window in keys:
            events = self.windows.setdefault(key, deque())
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= limit:
                return False
        for key, _, _ in keys:
            self.windows[key].append(now)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        ep = ALL_BY_ROUTE.get((scope["method"], scope["path"]))
        if ep is None:
            await _respond(send, 404, {"code": "40404", "msg": "not found"})
            return
        headers = dict(scope["headers"])
        who = headers.get(b"x-account", b"?").decode()
        keys = [
            (f"{r.name}/{'ip' if r.scope is LimitScope.IP else who}", r.limit, r.window_s)
            for r in rules_for(ep)
        ]
        now = time.monotonic()
        if self._admit(keys, now):
            self.ok.setdefault(ep.key, []).append(now)
            await _respond(send, 200, {"code": "00000", "msg": "success", "data": []})
        else:
            self.rejected += 1
            await _respond(send, 429, {"code": "429", "msg": "Too Many Requests"})


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": raw})


@dataclass
class Run:
    name: str
    api: Api = "v2"
    requests: int = 0
    http_429: int = 0
    exhausted: int = 0
    protective_waits: list[float] = field(default_factory=list)


async def _call(http: httpx.AsyncClient, gate: RequestGate, name: str, run: Run) -> None:
    ep = endpoint(name, run.api)
    try:
        await gate.acquire(ep, current_priority())
    except BudgetExhausted:
        run.exhausted += 1
        return
    resp = await http.request(ep.method, ep.path, headers={"X-Account": ACCOUNT})
    run.requests += 1
    if resp.status_code == 429:
        run.http_429 += 1
    retry = resp.headers.get("Retry-After")
    gate.release(ep, resp.status_code, float(retry) if retry else None)


async def _protective_probe(http: httpx.AsyncClient, gate: RequestGate, run: Run) -> None:
    while True:
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        with request_priority(Priority.PROTECTIVE):
            await _call(http, gate, "isolated_risk_rate", run)
        run.protective_waits.append(time.monotonic() - t0)


async def run_load(
    name: str, gate: RequestGate, seconds: float, naive_interval: float | None, api: Api
) -> tuple[Run, StrictExchange, float]:
    app = StrictExchange()
    run = Run(name, api)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://exchange") as http:

        async def symbol() -> None:
            while True:
                for ep_name in POLLED:
                    await _call(http, gate, ep_name, run)
                if naive_interval is not None:
                    await asyncio.sleep(naive_interval)

        start = time.monotonic()
        tasks = [asyncio.create_task(symbol()) for _ in range(SYMBOLS)]
        if naive_interval is None:
            tasks.append(asyncio.create_task(_protective_probe(http, gate, run)))
        await asyncio.sleep(seconds)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = time.monotonic() - start
    return run, app, elapsed


def report(run: Run, app: StrictExchange, elapsed: float, share: Share | None) -> None:
    accepted = sum(len(v) for v in app.ok.values())
    per_s = sum(endpoint(n, run.api).limit / endpoint(n, run.api).window_s for n in POLLED)
    line = (
        f"{run.name:<36} requests {run.requests:5d}  429s {run.http_429:4d}  "
        f"of documented limit {accepted / (per_s * elapsed):6.1%}"
    )
    if share is not None:
        polls = accepted - len(run.protective_waits)
        keys = len(POLLED)
        line += (
            f"  of budget capacity {accepted / (share.capacity * keys * elapsed):6.1%}"
            f"  polls of poll share {polls / (share.poll_capacity * keys * elapsed):6.1%}"
        )
    print(line)
    if run.protective_waits:
        waits = sorted(run.protective_waits)
        print(
            f"{'':<36} protective re-polls {len(waits)}: wait+call p50 "
            f"{statistics.median(waits) * 1000:.1f} ms, max {waits[-1] * 1000:.1f} ms; "
            f"BudgetExhausted {run.exhausted}"
        )


async def main(seconds: float, apis: list[Api]) -> None:
    print(f"{SYMBOLS} symbols x {POLLED}, {seconds:.0f} s per run, strict in-process exchange")
    summary: list[str] = []
    for api in apis:
        print(f"API {api}:")
        name = f"baseline {api}: no budget, every 1 s"
        run, app, elapsed = await run_load(name, OpenGate(), seconds, 1.0, api)
        report(run, app, elapsed, None)
        base_429 = run.http_429
        for margin, reserve in ((0.1, 0.3), (0.1, 0.0), (0.0, 0.0)):
            cfg = BudgetConfig(safety_margin=margin, reserved_share=reserve, max_wait_poll_s=60.0)
            budget = RateBudget(WallClock(), cfg, default_account=ACCOUNT)
            share = budget.share(rules_for(endpoint("isolated_risk_rate", api))[0])
            name = f"budget {api}: margin {margin:.0%}, reserve {reserve:.0%}"
            run, app, elapsed = await run_load(name, budget, seconds, None, api)
            report(run, app, elapsed, share)
            ratio = "n/a" if base_429 == 0 else f"{run.http_429 / base_429:.3f}"
            print(f"{'':<36} 429s vs baseline: {run.http_429}/{base_429} = {ratio}")
            if (margin, reserve) == (0.1, 0.3):
                accepted = sum(len(v) for v in app.ok.values())
                summary.append(
                    f"{api}: {accepted / elapsed:.1f} accepted calls/s, {run.http_429} 429s"
                )
    print("max rate through the default budget (margin 10%, reserve 30%): " + "; ".join(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--api", nargs="+", choices=("v2", "v1"), default=["v2", "v1"])
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.api))
