"""Scenario keys about the market and the exchange's behaviour: ``[paths]``, ``[[faults]]``,
``[[feed_stops]]``, ``[settlement]`` and ``[tiers]``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from types import MappingProxyType

from riskd.sim.catalog import USDT, base_of
from riskd.sim.faults import FaultSpec, fault_from_mapping
from riskd.sim.market import SEGMENT_KINDS, FeedStop, Segment
from riskd.sim.scenario_reader import Reader
from riskd.sim.scenario_types import CoinTier, Settlement, SymbolTier, Tiers

#: Longest settlement delay a scenario may ask for (market seconds).
MAX_SETTLEMENT_S = 3600.0


def read_paths(
    r: Reader, value: object, markets: Collection[str]
) -> dict[str, tuple[Segment, ...]]:
    out: dict[str, tuple[Segment, ...]] = {}
    for symbol, segs in r.table("paths", value).items():
        key = f"paths.{symbol}"
        if symbol not in markets:
            r.bad(key, "symbol is not in [markets]")
            continue
        if not isinstance(segs, list):
            r.bad(key, "expected an array of segment tables")
            continue
        out[symbol] = read_segments(r, key, segs)
    return out


def read_segments(r: Reader, key: str, segs: list[object]) -> tuple[Segment, ...]:
    return tuple(
        seg for i, s in enumerate(segs) if (seg := _segment(r, f"{key}[{i}]", s)) is not None
    )


def _segment(r: Reader, key: str, value: object) -> Segment | None:
    table = r.table(key, value)
    r.unknown(key, table, {"kind", "duration", "to", "change", "volatility", "drift", "step"})
    kind = table.get("kind")
    if kind not in SEGMENT_KINDS:
        r.bad(f"{key}.kind", f"expected one of {', '.join(SEGMENT_KINDS)}, got {kind!r}")
        return None
    duration = r.number(f"{key}.duration", table.get("duration"), 0.0)
    to = r.decimal(f"{key}.to", table["to"]) if "to" in table else None
    change = r.decimal(f"{key}.change", table["change"], False) if "change" in table else None
    if change is not None and change <= -1:
        r.bad(f"{key}.change", "a relative change must be > -1 (−100 %)")
    if kind in ("step", "linear") and (to is None) == (change is None):
        r.bad(key, f"a {kind} segment needs exactly one of 'to' or 'change'")
    if kind in ("linear", "random_walk", "hold") and duration <= 0:
        r.bad(f"{key}.duration", f"a {kind} segment needs a duration > 0 (seconds)")
    vol = Decimal(0)
    drift = Decimal(0)
    step = 1.0
    if kind == "random_walk":
        vol = r.decimal(f"{key}.volatility", table.get("volatility", "0.001"), False) or vol
        drift = r.decimal(f"{key}.drift", table.get("drift", "0"), False) or drift
        step = r.number(f"{key}.step", table.get("step"), 1.0)
        if step <= 0:
            r.bad(f"{key}.step", "must be > 0 seconds")
            step = 1.0
    kind_lit = next(k for k in SEGMENT_KINDS if k == kind)
    return Segment(kind_lit, duration, to, change, vol, drift, step)


def read_faults(r: Reader, value: object) -> list[FaultSpec]:
    if not isinstance(value, list):
        r.bad("faults", "expected an array of tables ([[faults]])")
        return []
    out: list[FaultSpec] = []
    for i, item in enumerate(value):
        try:
            out.append(fault_from_mapping(r.table(f"faults[{i}]", item)))
        except ValueError as exc:
            r.bad(f"faults[{i}]", str(exc))
    return out


def read_feed_stops(r: Reader, value: object, markets: Collection[str]) -> list[FeedStop]:
    """``[[feed_stops]]``: ``start_s``, ``end_s`` (scenario seconds), optional ``symbols``."""
    if not isinstance(value, list):
        r.bad("feed_stops", "expected an array of tables ([[feed_stops]])")
        return []
    out: list[FeedStop] = []
    for i, item in enumerate(value):
        key = f"feed_stops[{i}]"
        table = r.table(key, item)
        r.unknown(key, table, {"start_s", "end_s", "symbols"})
        for needed in ("start_s", "end_s"):
            if needed not in table:
                r.bad(f"{key}.{needed}", "missing (seconds from the scenario start)")
        if "start_s" not in table or "end_s" not in table:
            continue
        start = r.number(f"{key}.start_s", table["start_s"], 0.0)
        end = r.number(f"{key}.end_s", table["end_s"], 0.0)
        symbols = r.symbols(f"{key}.symbols", table.get("symbols"), markets)
        if end <= start:
            r.bad(f"{key}.end_s", f"{table['end_s']!r} must be after start_s ({start:g})")
            continue
        if start >= 0:
            out.append(FeedStop(start, end, symbols))
    return out


def read_settlement(r: Reader, value: object) -> Settlement:
    """``[settlement]``: ``flash_repay_s``, ``repay_s``, ``order_s`` (market seconds)."""
    table = r.table("settlement", value)
    r.unknown("settlement", table, {"flash_repay_s", "repay_s", "order_s"})
    default = Settlement()
    values: dict[str, float] = {}
    for name in ("flash_repay_s", "repay_s", "order_s"):
        seconds = r.number(f"settlement.{name}", table.get(name), getattr(default, name))
        if seconds > MAX_SETTLEMENT_S:
            r.bad(f"settlement.{name}", f"{seconds:g} s is longer than {MAX_SETTLEMENT_S:g} s")
        values[name] = min(max(seconds, 0.0), MAX_SETTLEMENT_S)
    return Settlement(**values)


_COIN_TIER = {"mmr", "leverage", "max_borrowable"}
_SYMBOL_TIER = {"mmr", "leverage", "base_max_borrowable", "quote_max_borrowable"}


def _tier_values(
    r: Reader, key: str, value: object, allowed: set[str]
) -> dict[str, Decimal | None]:
    table = r.table(key, value)
    r.unknown(key, table, allowed)
    if not table:
        r.bad(key, f"an empty tier changes nothing (give some of {sorted(allowed)})")
    out: dict[str, Decimal | None] = dict.fromkeys(allowed)
    for name in allowed & set(table):
        out[name] = r.decimal(f"{key}.{name}", table[name])
    mmr = out["mmr"]
    if mmr is not None and mmr >= 1:
        r.bad(f"{key}.mmr", f"{mmr} must be below 1 (a maintenance margin rate)")
    leverage = out["leverage"]
    if leverage is not None and leverage <= 1:
        r.bad(f"{key}.leverage", f"{leverage} must be > 1")
    return out


def read_tiers(r: Reader, value: object, markets: Mapping[str, Decimal]) -> Tiers:
    """``[tiers.cross.COIN]`` and ``[tiers.isolated.SYMBOL]``: figures replacing the catalog's."""
    table = r.table("tiers", value)
    r.unknown("tiers", table, {"cross", "isolated"})
    coins = {USDT, *map(base_of, markets)}
    cross: dict[str, CoinTier] = {}
    for coin, inner in r.table("tiers.cross", table.get("cross")).items():
        key = f"tiers.cross.{coin}"
        if coin not in coins:
            r.bad(key, f"coin not in [markets] (known: {sorted(coins)})")
            continue
        v = _tier_values(r, key, inner, _COIN_TIER)
        cross[coin] = CoinTier(v["mmr"], v["leverage"], v["max_borrowable"])
    isolated: dict[str, SymbolTier] = {}
    for symbol, inner in r.table("tiers.isolated", table.get("isolated")).items():
        key = f"tiers.isolated.{symbol}"
        if symbol not in markets:
            r.bad(key, "symbol is not in [markets]")
            continue
        v = _tier_values(r, key, inner, _SYMBOL_TIER)
        isolated[symbol] = SymbolTier(
            v["mmr"], v["leverage"], v["base_max_borrowable"], v["quote_max_borrowable"]
        )
    return Tiers(MappingProxyType(cross), MappingProxyType(isolated))


def read_symbol_limits(
    r: Reader, value: object, markets: Mapping[str, Decimal]
) -> Mapping[str, Decimal]:
    """``[symbols.SYMBOL]``: ``max_trade_amount`` (base coin), the largest order the symbol
    takes, replacing the catalog's (about a million USDT at the start price)."""
    out: dict[str, Decimal] = {}
    for symbol, inner in r.table("symbols", value).items():
        key = f"symbols.{symbol}"
        if symbol not in markets:
            r.bad(key, "symbol is not in [markets]")
            continue
        table = r.table(key, inner)
        r.unknown(key, table, {"max_trade_amount"})
        if "max_trade_amount" not in table:
            r.bad(key, "give max_trade_amount (the largest order, in the base coin)")
            continue
        amount = r.decimal(f"{key}.max_trade_amount", table["max_trade_amount"])
        if amount is not None:
            out[symbol] = amount
    return MappingProxyType(out)
