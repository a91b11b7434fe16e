#!/usr/bin/env python3
"""Random crash shapes in the scenario format, run with and without riskd: a loss finder.

    .venv/bin/python scripts/random_shapes.py [--seeds 1000:1060] [--out DIR] [--rules DIR]

Protection is judged on crash shapes nobody scripted. This writes one scenario per seed
(1–3 accounts; cross longs and shorts at 2–3x, 0–12 isolated longs and shorts at 2–8x over
up to seven coins; each coin on its own path — a straight fall, steps, a bleed that speeds
up, a saw-tooth, a fast slide, or a slide then steps — sized from the tightest scope's
distance to liquidation so that the move goes well past it; sometimes a 429 storm, 5xx
errors, a slow API, a feed stop or slow settlement), runs each on virtual time with the real
daemon and the given rules and again with riskd off, and prints one line per shape and the
losses: scopes liquidated with riskd that riskd was there to save.

Not every loss is a defect: a first jump larger than the distance left, with nothing before
it to learn from, liquidates whatever the rules (read the shape before tuning anything).
The shapes are files: replay one with ``riskd demo --scenario DIR/fzSEED.toml``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from riskd.demo.options import DemoOptions
from riskd.demo.runner import run_demo_virtual
from riskd.demo.settings import find_rules_dir
from riskd.ops.logging import configure_logging
from riskd.sim.scenario import ScenarioError, load_scenario

REPO = Path(__file__).resolve().parents[1]
COINS = {
    "BTCUSDT": "30000",
    "ETHUSDT": "2000",
    "SOLUSDT": "150",
    "XRPUSDT": "0.5",
    "LTCUSDT": "70",
    "LINKUSDT": "15",
    "DOGEUSDT": "0.2",
}
KINDS = ("linear", "steps", "bleed_accel", "sawtooth", "linear_fast", "mixed")


def _segment(kind: str, change: float, duration: int) -> str:
    return f'{{ kind = "{kind}", change = "{change:.4f}", duration = {duration} }}'


def path(rng: random.Random, direction: int, d0: float, hold: int) -> tuple[str, str]:
    """One coin's path: ``direction`` −1 falls, +1 rises; ``d0`` the tightest scope's
    distance to liquidation on that coin. Returns (kind, TOML array)."""
    kind = rng.choice(KINDS)
    segs = [f'{{ kind = "hold", duration = {hold} }}']
    target = min(0.7, d0 * rng.uniform(1.3, 2.6))  # well past liquidation
    total = 0.0
    if kind in ("linear", "linear_fast"):
        dur = rng.randint(2, 12) if kind == "linear_fast" else rng.randint(15, 200)
        segs.append(_segment("linear", direction * target, dur))
    elif kind == "steps":
        g = d0 * rng.uniform(0.2, 0.55)
        while total < target:
            segs.append(_segment("step", direction * g, rng.randint(4, 20)))
            total += g
            g = min(g * rng.uniform(0.8, 1.5), d0 * 0.9)
    elif kind == "bleed_accel":
        b = target * rng.uniform(0.2, 0.5)
        segs.append(_segment("linear", direction * b, rng.randint(60, 200)))
        segs.append(_segment("linear", direction * (target - b), rng.randint(5, 40)))
    elif kind == "sawtooth":
        while total < target:
            down = d0 * rng.uniform(0.2, 0.5)
            up = down * rng.uniform(0.2, 0.6)
            segs.append(_segment("linear", direction * down, rng.randint(2, 15)))
            segs.append(_segment("linear", -direction * up, rng.randint(2, 15)))
            total += down - up
    else:  # mixed: a slide, then steps
        a = target * rng.uniform(0.2, 0.5)
        segs.append(_segment("linear", direction * a, rng.randint(10, 60)))
        total = a
        g = d0 * rng.uniform(0.2, 0.45)
        while total < target:
            segs.append(_segment("step", direction * g, rng.randint(4, 15)))
            total += g
    segs.append('{ kind = "hold", duration = 40 }')
    return kind, "[ " + ", ".join(segs) + " ]"


def shape(seed: int, extras: bool = False) -> str:
    """The scenario TOML of one seed; ``extras`` adds the format's other keys (:func:`_extras`)
    from a second generator, so the base shape of a seed stays the same."""
    rng = random.Random(seed)
    n_accounts = rng.choice([1, 1, 1, 2, 2, 3])
    symbols = rng.sample(list(COINS), rng.randint(2, 6))
    if "BTCUSDT" not in symbols:
        symbols[0] = "BTCUSDT"
    direction = dict.fromkeys(symbols, -1)
    tightest = dict.fromkeys(symbols, 0.5)
    accounts = []
    held: list[tuple[int, str, str, float]] = []  # isolated: account, symbol, side, exposure
    for a in range(n_accounts):
        positions, iso_funding, cross_funding = [], [], None
        if rng.random() < 0.6:
            coin = rng.choice(symbols)
            side = rng.choice(["long", "long", "short"])
            lev = round(rng.uniform(2.0, 2.95), 2)
            if side == "short":
                rng.choice([s for s in symbols if s != coin] or [coin])  # kept: seeds stay put
            cross_funding = f'cross = {{ USDT = "{rng.choice([300, 1000, 3000])}" }}'
            positions.append(
                f'{{ scope = "cross", symbol = "{coin}", side = "{side}", leverage = "{lev}" }}'
            )
            near = (1 - (lev - 1) * 1.1 / lev) * rng.uniform(0.8, 1.0)
            tightest[coin] = min(tightest[coin], near)
            if side == "short":
                direction[coin] = 1
        choices = [0, 1, 1, 2, 3, 5, 8] if cross_funding else [1, 2, 3, 5, 8, 12]
        for sym in rng.sample(symbols, min(rng.choice(choices), len(symbols))):
            short = direction[sym] == 1 or rng.random() >= 0.85
            if short:
                direction[sym] = 1
            lev = round(rng.uniform(2.0, 8.0), 1)
            usdt = rng.choice([200, 500, 1000, 3000])
            iso_funding.append(f'{sym} = {{ USDT = "{usdt}" }}')
            side = "short" if short else "long"
            held.append((a, sym, side, usdt * lev))
            positions.append(f'{{ scope = "isolated:{sym}", side = "{side}", leverage = "{lev}" }}')
            tightest[sym] = min(tightest[sym], (1 - (lev - 1) * 1.05 / lev) * 0.9)
        accounts.append((f"acct{a}", cross_funding, iso_funding, positions))
    out = [f'name = "fz{seed}"', f'description = "random shape {seed}"', f"seed = {seed}"]
    out += ["duration_s = 400", "[markets]", *(f'{s} = "{COINS[s]}"' for s in symbols)]
    more = _extras(random.Random(seed * 7919 + 1), accounts, held) if extras else None
    for a, (name, cross, iso, positions) in enumerate(accounts):
        out += ["[[accounts]]", f'name = "{name}"', "positions = [ " + ", ".join(positions) + " ]"]
        if more is not None and more.orders.get(a):
            out.append("orders = [ " + ", ".join(more.orders[a]) + " ]")
        out.append("[accounts.funding]")
        out += [cross] if cross else []
        out += ["[accounts.funding.isolated]", *iso] if iso else []
    kinds = []
    out.append("[paths]")
    hold = rng.randint(5, 40)
    together = rng.random() < 0.7
    for sym in symbols:
        start = hold + (0 if together else rng.randint(0, 30))
        kind, text = path(rng, direction[sym], tightest[sym], start)
        kinds.append(kind)
        out.append(f"{sym} = {text}")
    r = rng.random()
    window = [f"start_s = {hold - 2}", f"end_s = {hold + 120}"]
    if r < 0.2:
        out += ["[[faults]]", *window, f"rate_limit_rate = {rng.choice([0.2, 0.4, 0.6])}"]
    elif r < 0.3:
        out += ["[[faults]]", *window, f"error_rate = {rng.choice([0.1, 0.3])}"]
    elif r < 0.4:
        out += ["[[faults]]", "start_s = 0", f"latency_s = {rng.choice([0.3, 0.8, 1.5])}"]
    if rng.random() < 0.2:
        out += ["[[feed_stops]]", f"start_s = {hold}", f"end_s = {hold + rng.randint(5, 20)}"]
    if rng.random() < 0.2:
        out += ["[settlement]", f"flash_repay_s = {rng.choice([2, 5])}"]
        out += [f"repay_s = {rng.choice([0, 1, 3])}", f"order_s = {rng.choice([0, 1])}"]
    out += more.tables if more is not None else []
    out += ["[expect]", "no_liquidation = true"]
    return "# paths: " + ", ".join(kinds) + "\n" + "\n".join(out) + "\n"


@dataclass
class Extras:
    orders: dict[int, list[str]] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)


def _decimals(price: float) -> int:
    return 2 if price >= 100 else 4 if price >= 1 else 6


def _extras(
    rng: random.Random,
    accounts: list[tuple[str, str | None, list[str], list[str]]],
    held: list[tuple[int, str, str, float]],
) -> Extras:
    """The format's other keys: resting orders that freeze part of an isolated scope (a sell
    above the price for a long, a buy below it for a short), a second cross position (a
    long and a short, or two debts), another maintenance rate for a symbol or a cross coin,
    and a largest order small enough that a protective sale needs several."""
    more = Extras()
    symbols = sorted({s for _, s, _, _ in held})
    largest: dict[str, float] = {}
    if symbols and rng.random() < 0.3:
        sym = rng.choice(symbols)
        biggest = max(e for _, s, _, e in held if s == sym) / float(COINS[sym])
        largest[sym] = round(biggest / 4, 4)
        more.tables += [f"[symbols.{sym}]", f'max_trade_amount = "{largest[sym]}"']
    for sym in symbols:
        if rng.random() < 0.3:
            mmr = round(rng.uniform(0.02, 0.1), 3)
            more.tables += [f"[tiers.isolated.{sym}]", f'mmr = "{mmr}"']
    for a, sym, side, exposure in held:
        if rng.random() < 0.4:
            price = float(COINS[sym])
            size = exposure * rng.uniform(0.1, 0.4) / price
            if side == "long":
                at, way = price * rng.uniform(1.02, 1.2), "sell"
            else:
                at, way = price * rng.uniform(0.8, 0.98), "buy"
                size *= 0.5
            size = round(min(size, largest.get(sym, size)), 4)
            if size < 0.001 or size * at < 10:
                continue
            at = round(at, _decimals(price))
            where = f'scope = "isolated:{sym}", side = "{way}"'
            order = f'{{ {where}, price = "{at}", size = "{size}" }}'
            more.orders.setdefault(a, []).append(order)
    for _, cross, _, positions in accounts:
        cross_positions = [p for p in positions if '"cross"' in p]
        if not (cross and cross_positions) or rng.random() >= 0.5:
            continue
        first = cross_positions[0]
        taken = first.split('symbol = "')[1].split('"')[0]
        first_lev = float(first.split('leverage = "')[1].split('"')[0])
        others = [s for s in symbols if s != taken]
        lev = round(1 + min(0.5, (2.9 - first_lev) * 0.8), 2)
        if others and lev >= 1.1:
            sym = rng.choice(others)
            side = rng.choice(["long", "short"])
            positions.append(
                f'{{ scope = "cross", symbol = "{sym}", side = "{side}", leverage = "{lev}" }}'
            )
    return more


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1000:1020", help="A:B, the seeds A to B−1")
    parser.add_argument("--out", type=Path, default=None, help="where the shapes are written")
    parser.add_argument("--rules", type=Path, default=None, help="rules directory")
    parser.add_argument(
        "--extras",
        action="store_true",
        help="add resting orders, second cross positions, tiers and order-size limits",
    )
    args = parser.parse_args()
    first, _, last = args.seeds.partition(":")
    seeds = range(int(first), int(last or int(first) + 1))
    configure_logging(fmt="console", level="CRITICAL", stream=sys.stderr, colors=False)
    rules = find_rules_dir(args.rules, cwd=REPO)
    out = args.out or Path(tempfile.mkdtemp(prefix="riskd-shapes-"))
    out.mkdir(parents=True, exist_ok=True)
    losses, defended, skipped = [], 0, 0
    for seed in seeds:
        file = out / f"fz{seed}.toml"
        file.write_text(shape(seed, args.extras))
        try:
            scenario = load_scenario(file)
            runs = [
                run_demo_virtual(
                    DemoOptions(scenario=scenario, rules_dir=rules, out_dir=None, daemon=d)
                )
                for d in (False, True)
            ]
        except (ScenarioError, ValueError, RuntimeError) as exc:
            skipped += 1
            print(f"fz{seed}: not a valid shape ({exc})")
            continue
        bare, guarded = runs
        lost = sorted({f"{x.account}/{x.scope}" for x in guarded.liquidations})
        defended += bare.liquidated
        mark = "LOST" if lost else "ok  "
        print(
            f"{mark} fz{seed}  without riskd: {'liquidated' if bare.liquidated else 'survives'}"
            f"  lowest distance {guarded.lowest_distance}  {' '.join(lost)}"
        )
        if lost:
            losses.append(f"fz{seed}")
    total = len(seeds) - skipped
    print(f"{total} shapes ({defended} liquidated without riskd), {len(losses)} lost: {losses}")
    print(f"shapes in {out}")


if __name__ == "__main__":
    main()
