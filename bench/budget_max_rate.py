"""Max-rate polling of 50 isolated symbols through the rate budget, against a strict server.

The server is a minimal in-process ASGI app that enforces the endpoint table's limits exactly
(moving windows per endpoint × IP or × account, plus the public global rule) and answers 429
past them. Each of 50 "symbols" polls ``isolated_risk_rate`` (UID, 10/s) and
``isolated_assets`` (IP, 10/s) in a loop, as fast as the budget lets it; a protective re-poll
of ``isolated_risk_rate`` runs every 0.5 s to show the reserve at work.

Printed per run: requests, 429s (goal 0), utilisation of the documented limit and of the
budget's poll share (goal ≥ 90 %), protective acquire latency. The baseline is the same 50
symbols polling naively every second with no budget, in the same process.

    .venv/bin/python bench/budget_max_rate.py [--seconds 6]
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

from riskd.bitget.endpoints import BY_ROUTE, LimitScope, endpoint
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
        ep = BY_ROUTE.get((scope["method"], scope["path"]))
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
            self.ok.setdefault(ep.name, []).append(now)
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
    requests: int = 0
    http_429: int = 0
    exhausted: int = 0
    protective_waits: list[float] = field(default_factory=list)


async def _call(http: httpx.AsyncClient, gate: RequestGate, name: str, run: Run) -> None:
    ep = endpoint(name)
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
    name: str, gate: RequestGate, seconds: float, naive_interval: float | None
) -> tuple[Run, StrictExchange, float]:
    app = StrictExchange()
    run = Run(name)
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
    per_s = sum(endpoint(n).limit / endpoint(n).window_s for n in POLLED)
    line = (
        f"{run.name:<34} requests {run.requests:5d}  429s {run.http_429:4d}  "
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
            f"{'':<34} protective re-polls {len(waits)}: wait+call p50 "
            f"{statistics.median(waits) * 1000:.1f} ms, max {waits[-1] * 1000:.1f} ms; "
            f"BudgetExhausted {run.exhausted}"
        )


async def main(seconds: float) -> None:
    print(f"{SYMBOLS} symbols x {POLLED}, {seconds:.0f} s per run, strict in-process exchange")
    run, app, elapsed = await run_load("baseline: no budget, every 1 s", OpenGate(), seconds, 1.0)
    report(run, app, elapsed, None)
    base_429 = run.http_429
    for margin, reserve in ((0.1, 0.3), (0.1, 0.0), (0.0, 0.0)):
        cfg = BudgetConfig(safety_margin=margin, reserved_share=reserve, max_wait_poll_s=60.0)
        budget = RateBudget(WallClock(), cfg, default_account=ACCOUNT)
        share = budget.share(rules_for(endpoint("isolated_risk_rate"))[0])
        name = f"budget: margin {margin:.0%}, reserve {reserve:.0%}"
        run, app, elapsed = await run_load(name, budget, seconds, None)
        report(run, app, elapsed, share)
        ratio = "n/a" if base_429 == 0 else f"{run.http_429 / base_429:.3f}"
        print(f"{'':<34} 429s vs baseline: {run.http_429}/{base_429} = {ratio}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    asyncio.run(main(parser.parse_args().seconds))
