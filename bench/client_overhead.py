"""Client overhead: signed requests per second through BitgetClient against the in-process
simulator, beside a bare httpx loop sending the same request to the same app in the same run.

    .venv/bin/python bench/client_overhead.py [requests]

The bare loop sends one pre-signed GET (headers computed once with the standard library; the
simulator accepts the signature for 30 s) and only decodes the JSON. The client does
everything a real call does: parameter checks and encoding, a fresh timestamp and signature
per request, the gate, error mapping, and (for the typed call) the pydantic model. Both hit
``cross_risk_rate`` with the simulator's rate limits off, so the server side is identical and
the ratio is the client's own cost. The API version is ``$RISKD_BENCH_API`` (default v2;
``bench/run --api v1`` sets it): v2's cross risk rate takes no coin.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoint_types import Api
from riskd.bitget.endpoints import endpoint
from riskd.clock import ManualClock
from riskd.sim import Simulator

BASE = "http://sim"
API: Api = "v1" if os.environ.get("RISKD_BENCH_API") == "v1" else "v2"
PARAMS: dict[str, object] = {"coin": "USDT"} if API == "v1" else {}
PATH = endpoint("cross_risk_rate", API).path + ("?coin=USDT" if API == "v1" else "")


async def _loop(n: int, one: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await one()
    return time.perf_counter() - start


async def _rates(
    n: int, rounds: int, loops: dict[str, Callable[[], Awaitable[object]]]
) -> dict[str, float]:
    """Best of ``rounds`` for each loop, the loops interleaved so that noise hits all alike."""
    for one in loops.values():  # warm-up
        for _ in range(min(50, n)):
            await one()
    best = dict.fromkeys(loops, float("inf"))
    for _ in range(rounds):
        for label, one in loops.items():
            best[label] = min(best[label], await _loop(n, one))
    for label, elapsed in best.items():
        print(f"{label:<44} {n / elapsed:>9.0f} req/s  ({elapsed * 1e6 / n:7.1f} µs/req)")
    return {label: n / elapsed for label, elapsed in best.items()}


async def main(n: int, rounds: int = 3) -> None:
    sim = Simulator(clock=ManualClock(), rate_limits=False)
    keys = sim.add_account("bench")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE)

    ts = str(sim.server_time_ms())
    prehash = f"{ts}GET{PATH}".encode()
    sign = base64.b64encode(hmac.new(keys.secret.encode(), prehash, hashlib.sha256).digest())
    headers = {
        "ACCESS-KEY": keys.api_key,
        "ACCESS-SIGN": sign.decode(),
        "ACCESS-TIMESTAMP": ts,
        "ACCESS-PASSPHRASE": keys.passphrase,
        "locale": "en-US",
        "Content-Type": "application/json",
    }

    async def bare() -> object:
        response = await http.get(PATH, headers=headers)
        body = json.loads(response.content)
        if body["code"] != "00000":
            raise SystemExit(f"bare request refused: {body}")
        return body["data"]

    creds = Credentials.hmac(keys.api_key, keys.secret, keys.passphrase)
    async with BitgetClient(creds, http=http, base_url=BASE, api=API) as client:

        async def raw() -> object:
            return await client.call("cross_risk_rate", PARAMS)

        async def typed() -> object:
            return await client.cross_risk_rate()

        print(
            f"{n} signed GET cross_risk_rate (API {API}) per loop, best of {rounds} rounds,"
            " in-process"
        )
        print("simulator over httpx.ASGITransport, rate limits off")
        rates = await _rates(
            n,
            rounds,
            {
                "bare httpx loop (pre-signed, json.loads)": bare,
                "BitgetClient.call (sign, gate, map errors)": raw,
                "BitgetClient.cross_risk_rate (+ model)": typed,
            },
        )
    await http.aclose()
    base, call, method = rates.values()
    print(f"ratio client.call / bare:           {call / base:.2f}")
    print(f"ratio typed method / bare:          {method / base:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
