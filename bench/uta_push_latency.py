"""UTA reaction latency: a crossing push → the protective call accepted, push path beside the
poll-only path, in one run, for both triggers of a Unified Trading Account (issue 18).

The simulator runs under uvicorn on 127.0.0.1 (real HTTP and WebSockets on loopback, wall
clock); riskd runs as ``riskd run`` does (:func:`riskd.daemon.service.create_service`: the
scheduler tick every second, the v2 index-price feed on ``/v2/ws/public`` and, on the push
path, the v3 private ``account`` topic on ``/v3/ws/private``) over one UTA account (USDT
1000, a 2x BTC long on borrowed USDT, USDT maintenance rate 0.2: mgnRatio 0.2) with one rule
``riskRate >= 0.25 → repay USDT`` on scope ``uta`` (riskRate = mgnRatio ÷ level 1). Every
scope is polled each second (``poll.interval`` = 1 s) on both paths: the poll-only baseline is
riskd's fastest polling. Two triggers, each timed from the simulator **sending** the push to
it sending its 200 answer to the repay (an ASGI wrapper in the server notes both):

- **mgnRatio push**: at a steady price the owner borrows 400 USDT (mgnRatio 0.2 → 0.28, an
  account event): the v3 topic pushes the crossing mgnRatio. Push path: the pushed figure
  crosses 0.25 → the scope is polled at once and the cycle repays. Poll-only: the next 1 s
  poll sees it. (On the poll-only path riskd has no v3 socket: the bench keeps one open only to
  note when the simulator pushes.)
- **index-price push**: BTC 30000 → 22000 (mgnRatio 0.2 → 0.27), no account event: the
  index-price push makes the local mgnRatio estimate (:mod:`riskd.daemon.push_uta`) cross.
  Poll-only: the price move makes the scope due at the next tick.

Between trials the state is restored (price back, the loan taken again) and riskd must have
polled it calm; each trial waits a random phase (0–1 s) against the tick. Goal: push path
p99 ≤ 50 ms on loopback.

    .venv/bin/python bench/uta_push_latency.py [--trials 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from riskd.amounts import fmt8
from riskd.bitget.credentials import Credentials
from riskd.clock import WallClock
from riskd.daemon.push_uta import UtaAccountPushClient
from riskd.daemon.service import Service, create_service
from riskd.ops.logging import configure_logging
from riskd.risk.snapshot import UTA, ScopeSnapshot
from riskd.settings import Settings
from riskd.sim import Simulator, load_scenario
from riskd.sim.uta import uta_book

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reaction_latency import ASGI, line, pct, serve, until
from reaction_latency import Stopwatch as BaseStopwatch

SCENARIO = """
name = "uta_latency"
[markets]
BTCUSDT = "30000"
[tiers.cross.USDT]
mmr = "0.2"
[[accounts]]
name = "uta"
unified = true
uta_liquidation_level = "1"
funding = { cross = { USDT = "1000" } }
positions = [{ scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "2" }]
"""
RULES = """
[[rule]]
name = "repay-at-025"
scope = "uta"
when = "riskRate >= 0.25"
cooldown = "0s"
severity = "critical"
then = [{ action = "repay", coin = "USDT", amount = "1" }]
"""
SAFE, CRASH = Decimal(30000), Decimal(22000)
LINE = Decimal("0.25")
LOAN, EXTRA = Decimal(1000), Decimal(400)
PUSH_INTERVAL_S = 0.05
ACCOUNT = "uta"


class Stopwatch(BaseStopwatch):
    """ASGI wrapper: the wall time of the first push of the trial's kind (an index price at
    ``CRASH``, or an mgnRatio at or above ``LINE``) and of the first 200 answer to a repay."""

    sockets = ("/v2/ws/public", "/v3/ws/private")

    def __init__(self, app: ASGI) -> None:
        super().__init__(app)
        self.kind = "index"
        self.mark = f'"indexPrice": "{fmt8(CRASH)}"'

    def reset(self, kind: str = "index") -> None:
        with self.lock:
            self.kind = kind
            self.pushed_at = self.accepted_at = None

    def _crossing(self, text: str) -> bool:
        if self.kind == "index":
            return self.mark in text
        if '"mgnRatio"' not in text:
            return False
        data = json.loads(text).get("data") or []
        return any(Decimal(i.get("mgnRatio", "0")) >= LINE for i in data)


def _usdt(snap: ScopeSnapshot) -> Decimal:
    row = snap.balances.get("USDT")
    return row.total_amount if row is not None else Decimal(0)


def restore(sim: Simulator) -> None:
    """Back to the calm state: BTC at SAFE, USDT owed ≈ LOAN (held: LOAN less the interest
    dust each repay leaves owed)."""
    sim.control.set_price("BTCUSDT", SAFE)
    borrow_to(sim, LOAN)


def borrow_to(sim: Simulator, target: Decimal) -> None:
    """The owner borrows USDT until about ``target`` is owed (an account event)."""
    ex = sim.exchange
    with sim.lock:
        ex.catch_up()
        account = ex.account(ACCOUNT)
        book = uta_book(account)
        owed = book.balance("USDT", 0).liability
        if target - owed >= 1:
            ex.ledger.borrow(account, book, "USDT", target - owed, ex.now())
        ex.catch_up_now()


async def run_mode(
    sim: Simulator,
    watch: Stopwatch,
    url: str,
    tmp: Path,
    push: bool,
    trials: int,
    verbose: bool = False,
) -> dict[str, tuple[list[float], int]]:
    keys = sim.keys(ACCOUNT)
    name = "push" if push else "poll"
    settings = Settings(
        live=True,
        base_url=url,
        journal_path=tmp / f"journal-{name}.sqlite3",
        rules_dir=tmp / "rules",
        metrics={"enabled": False},
        push={"enabled": push, "near": "0"},
        poll={"interval": "1s", "fast_interval": "1s", "slow_interval": "1s"},
        accounts={
            ACCOUNT: {
                "api_key": keys.api_key,
                "api_secret": keys.secret,
                "api_passphrase": keys.passphrase,
                "mode": "uta",
                "uta_liquidation_level": "1",
            }
        },
    )
    restore(sim)
    service: Service = await create_service(settings, clock=WallClock(), env={})
    task = asyncio.create_task(service.run())
    poller = service.daemon.accounts[ACCOUNT].poller
    observer: UtaAccountPushClient | None = None
    if not push:  # riskd has no v3 socket: one that only lets the simulator push
        observer = UtaAccountPushClient(
            "observer",
            Credentials.hmac(keys.api_key, keys.secret, keys.passphrase),
            url=url.replace("http://", "ws://") + "/v3/ws/private",
            timestamp_s=lambda: int(time.time()),
            on_push=lambda account, ratio: None,
        )
        await observer.start()

    def calm() -> bool:
        snap = poller.snapshots.get(UTA)
        return (
            snap is not None
            and snap.prices_usdt.get("BTC") == SAFE
            and snap.risk_rate < LINE
            and _usdt(snap) >= LOAN / 2
        )

    out: dict[str, tuple[list[float], int]] = {}
    try:
        await until(lambda: service.health.last_tick is not None, 30)
        for kind in ("mgnRatio", "index"):
            reactions: list[float] = []
            misses = 0
            for _ in range(trials):
                restore(sim)
                if not await until(calm):
                    misses += 1
                    continue
                await asyncio.sleep(random.uniform(0.0, 1.0))
                watch.reset(kind)
                if kind == "index":
                    sim.control.set_price("BTCUSDT", CRASH)
                else:
                    borrow_to(sim, LOAN + EXTRA)
                ok = await until(lambda: None not in (watch.accepted_at, watch.pushed_at))
                if not ok or watch.pushed_at is None or watch.accepted_at is None:
                    misses += 1
                    continue
                reactions.append(watch.accepted_at - watch.pushed_at)
                if verbose:
                    trig = service.built.push.triggers[-1] if service.built.push else None
                    print(
                        f"    {name} {kind}: {reactions[-1] * 1000:.1f} ms"
                        + (f" ({trig.reason})" if trig is not None else ""),
                        file=sys.stderr,
                    )
            out[kind] = (reactions, misses)
    finally:
        restore(sim)
        if observer is not None:
            await observer.stop()
        service.stop_event.set()
        await asyncio.wait_for(task, 10)
    return out


def _line(name: str, values: list[float]) -> str:
    return line(name, values) if values else f"{name}: no trial reacted"


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--verbose", action="store_true", help="each trial on stderr")
    args = parser.parse_args()
    configure_logging(level="CRITICAL")
    logging.disable(logging.CRITICAL)
    tmp = Path(tempfile.mkdtemp(prefix="riskd-uta-latency-"))
    (tmp / "s.toml").write_text(SCENARIO)
    (tmp / "rules").mkdir()
    (tmp / "rules" / "r.toml").write_text(RULES)
    sim = Simulator(clock=WallClock(), scenario=load_scenario(tmp / "s.toml"))
    sim.ws_push_interval_s = PUSH_INTERVAL_S
    sim.add_scenario_accounts()
    watch = Stopwatch(sim.app)
    url, server, thread = serve(watch)
    try:
        push = await run_mode(sim, watch, url, tmp, True, args.trials, args.verbose)
        poll = await run_mode(sim, watch, url, tmp, False, args.trials, args.verbose)
    finally:
        server.should_exit = True
        thread.join(10)
    print(
        "UTA reaction latency, the simulator's push → repay accepted, API v3 over loopback "
        f"(uvicorn, real WebSockets), {args.trials} trials per trigger and path"
    )
    met = True
    for kind, what in (
        ("mgnRatio", "mgnRatio push (v3 account topic)"),
        ("index", "index-price push (estimate)"),
    ):
        p, pm = push[kind]
        q, qm = poll[kind]
        print(f"  {what}: {pm} push / {qm} poll-only trials without a repay")
        print("    " + _line("push path (poll at once, cycle, repay)", p))
        print("    " + _line("poll-only baseline (next 1 s poll)", q))
        if p and q:
            print(
                f"    ratio p99 poll-only / push: {pct(q, 0.99) / pct(p, 0.99):.1f}x; "
                f"ratio p50 poll-only / push: {pct(q, 0.5) / pct(p, 0.5):.1f}x"
            )
        met = met and bool(p) and pct(p, 0.99) <= 0.050
    print(f"  goal push p99 <= 50 ms on loopback (both triggers): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
