"""Scenarios: TOML files describing markets, accounts, price paths, faults and expectations.

Format (every key but ``markets`` is optional; amounts and prices are strings or integers —
TOML floats are read as exact decimals, never as binary floats)::

    name = "default"
    description = "A leveraged long in a crash"
    seed = 7                          # mixed with Simulator(seed=...) for random walks/faults
    risk_rate_reading = "liabilities_over_assets"   # how v2 serves riskRateRatio (or
                                      # "assets_over_liabilities"; docs/scenarios.md)
    duration_s = 180                  # how long the scenario runs (default: its longest path)

    [markets]                         # symbol → start index price (XYZUSDT symbols)
    BTCUSDT = "30000"
    ETHUSDT = "2000"

    [funding]                         # what every account is funded with (transfer_in)
    cross = { USDT = "10000", BTC = "0.1" }
    isolated.BTCUSDT = { USDT = "5000", BTC = "0.05" }

    [[accounts]]                      # accounts the scenario sets up (by name)
    name = "main"
    unified = false                   # true: a Unified Trading Account (classic API → 40085)
    funding = { cross = { USDT = "2000" } }          # optional, replaces [funding]
    positions = [                     # borrow and trade at start to reach a leverage
      { scope = "isolated:BTCUSDT", side = "long", leverage = "5" },
      { scope = "cross", symbol = "ETHUSDT", side = "long", leverage = "2.9" },
    ]

    [paths]                           # per symbol: segments one after another
    BTCUSDT = [
      { kind = "hold", duration = 60 },
      { kind = "linear", change = "-0.25", duration = 60 },   # or to = "22500"
      { kind = "step", to = "23000" },                        # instant jump
      { kind = "random_walk", duration = 600, volatility = "0.001", step = 1, drift = "0" },
    ]

    [[faults]]                        # FaultSpec fields (riskd.sim.faults)
    start_s = 70
    end_s = 90
    error_rate = 0.2
    endpoints = ["cross_assets"]

    [expect]                          # kept as is for the scenario suite / demo
    no_liquidation = true

A long position at leverage ``L`` borrows ``E × (L − 1)`` of the quote coin (``E`` = the
scope's net assets in USDT) and buys the base with it; a short borrows that value of the base
and sells it. ``leverage`` is the resulting assets / net assets.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from riskd.risk.snapshot import CROSS, isolated_scope, parse_scope
from riskd.sim.catalog import base_of
from riskd.sim.faults import FaultSpec, fault_from_mapping
from riskd.sim.market import SEGMENT_KINDS, Segment

Funding = Mapping[str, Mapping[str, Decimal]]
Side = Literal["long", "short"]
#: How the v2 ``riskRateRatio`` is served (ENDPOINTS-v2.md §2.1: the sources disagree):
#: ``liabilities_over_assets`` = the risk rate itself (higher = riskier, 1 = liquidation);
#: ``assets_over_liabilities`` = its reciprocal (lower = riskier).
RiskRateReading = Literal["liabilities_over_assets", "assets_over_liabilities"]
RISK_RATE_READINGS: tuple[RiskRateReading, ...] = (
    "liabilities_over_assets",
    "assets_over_liabilities",
)
REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BUILTIN_PACKAGE = "riskd.sim.scenarios_builtin"


class ScenarioError(ValueError):
    """A scenario file that cannot be used: says which file, which key, and what is wrong."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"scenario {source}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True, slots=True)
class PositionSpec:
    scope: str
    symbol: str
    side: Side
    leverage: Decimal


@dataclass(frozen=True, slots=True)
class AccountSetup:
    name: str
    funding: Funding | None = None
    positions: tuple[PositionSpec, ...] = ()
    #: A Unified Trading Account: every classic (v1/v2 margin) signed endpoint answers 40085.
    unified: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    markets: Mapping[str, Decimal]
    description: str = ""
    seed: int = 0
    funding: Funding = field(default_factory=lambda: MappingProxyType({}))
    accounts: tuple[AccountSetup, ...] = ()
    paths: Mapping[str, tuple[Segment, ...]] = field(default_factory=lambda: MappingProxyType({}))
    faults: tuple[FaultSpec, ...] = ()
    expect: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    duration_s: float = 0.0
    source: str = "<built-in>"
    risk_rate_reading: RiskRateReading = "liabilities_over_assets"

    def account(self, name: str) -> AccountSetup | None:
        return next((a for a in self.accounts if a.name == name), None)


def default_funding(markets: Mapping[str, Decimal]) -> Funding:
    """USDT and some of every base coin in cross and in each isolated symbol."""
    cross: dict[str, Decimal] = {"USDT": Decimal(10000)}
    out: dict[str, Mapping[str, Decimal]] = {}
    for symbol, price in markets.items():
        base = base_of(symbol)
        cross[base] = (Decimal(3000) / price).quantize(Decimal("0.0001"))
        out[isolated_scope(symbol)] = MappingProxyType(
            {"USDT": Decimal(5000), base: (Decimal(1500) / price).quantize(Decimal("0.0001"))}
        )
    return MappingProxyType({CROSS: MappingProxyType(cross), **out})


def flat_scenario() -> Scenario:
    """No scenario given: BTCUSDT and ETHUSDT at constant prices, default funding."""
    markets = MappingProxyType({"BTCUSDT": Decimal(30000), "ETHUSDT": Decimal(2000)})
    return Scenario("flat", markets, "constant prices", funding=default_funding(markets))


# ---------------------------------------------------------------------------- parsing
class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def bad(self, key: str, what: str) -> None:
        self.problems.append(f"{key}: {what}")

    def decimal(self, key: str, value: object, positive: bool = True) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            self.bad(key, f"expected a decimal string or number, got {value!r}")
            return None
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            self.bad(key, f"{value!r} is not a decimal number")
            return None
        if not result.is_finite() or (positive and result <= 0):
            self.bad(key, f"{value!r} must be a number > 0")
            return None
        return result

    def number(self, key: str, value: object, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            self.bad(key, f"expected a number of seconds, got {value!r}")
            return default
        try:
            result = float(Decimal(str(value)))
        except InvalidOperation:
            self.bad(key, f"{value!r} is not a number")
            return default
        if result < 0:
            self.bad(key, "must be >= 0")
        return result

    def table(self, key: str, value: object) -> Mapping[str, object]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(key, f"expected a table, got {type(value).__name__}")
            return {}
        return value

    def unknown(self, key: str, table: Mapping[str, object], allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                self.bad(f"{key}.{k}" if key else k, f"unknown key (allowed: {sorted(allowed)})")


_TOP = {"name", "description", "seed", "duration_s", "markets", "funding", "accounts"}
_TOP |= {"paths", "faults", "expect", "risk_rate_reading"}


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse scenario TOML; every problem is reported at once in a :class:`ScenarioError`."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"not valid TOML: {exc}"]) from None
    r = _Reader(source)
    r.unknown("", doc, _TOP)
    name = doc.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        r.bad("name", "expected a non-empty string")
        name = "scenario"
    description = doc.get("description", "")
    if not isinstance(description, str):
        r.bad("description", "expected a string")
        description = ""
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        r.bad("seed", "expected an integer")
        seed = 0
    markets = _markets(r, doc.get("markets"))
    known = _known_symbols(doc.get("markets"))
    funding = _funding(r, "funding", doc.get("funding"), known) if "funding" in doc else None
    accounts = _accounts(r, doc.get("accounts", []), known)
    paths = _paths(r, doc.get("paths"), known)
    faults = _faults(r, doc.get("faults", []))
    expect = r.table("expect", doc.get("expect"))
    reading = doc.get("risk_rate_reading", RISK_RATE_READINGS[0])
    if reading not in RISK_RATE_READINGS:
        r.bad(
            "risk_rate_reading", f"expected one of {', '.join(RISK_RATE_READINGS)}, got {reading!r}"
        )
        reading = RISK_RATE_READINGS[0]
    longest = max((sum(s.duration_s for s in segs) for segs in paths.values()), default=0.0)
    duration = r.number("duration_s", doc.get("duration_s"), longest)
    if r.problems:
        raise ScenarioError(source, r.problems)
    return Scenario(
        name=name,
        markets=MappingProxyType(markets),
        description=description,
        seed=seed,
        funding=funding if funding is not None else default_funding(markets),
        accounts=tuple(accounts),
        paths=MappingProxyType(paths),
        faults=tuple(faults),
        expect=MappingProxyType(dict(expect)),
        duration_s=duration,
        source=source,
        risk_rate_reading=next(x for x in RISK_RATE_READINGS if x == reading),
    )


def _known_symbols(value: object) -> frozenset[str]:
    """Symbols declared in [markets] with a valid name (even if their price is wrong), so that
    references to them are not reported a second time."""
    if not isinstance(value, dict):
        return frozenset()
    known = set()
    for symbol in value:
        try:
            base_of(symbol)
        except ValueError:
            continue
        known.add(symbol)
    return frozenset(known)


def _markets(r: _Reader, value: object) -> dict[str, Decimal]:
    if value is None:
        r.bad("markets", "missing: give at least one symbol and its start price")
        return {}
    out: dict[str, Decimal] = {}
    for symbol, price in r.table("markets", value).items():
        try:
            base_of(symbol)
        except ValueError as exc:
            r.bad(f"markets.{symbol}", str(exc))
            continue
        p = r.decimal(f"markets.{symbol}", price)
        if p is not None:
            out[symbol] = p
    return out


def _scope_key(r: _Reader, key: str, scope: str, markets: Collection[str]) -> str | None:
    try:
        kind, symbol = parse_scope(scope)
    except ValueError as exc:
        r.bad(key, str(exc))
        return None
    if symbol is not None and symbol not in markets:
        r.bad(key, f"symbol {symbol} is not in [markets]")
        return None
    return scope if kind == "isolated" else CROSS


def _coins(r: _Reader, key: str, value: object) -> Mapping[str, Decimal]:
    out: dict[str, Decimal] = {}
    for coin, amount in r.table(key, value).items():
        d = r.decimal(f"{key}.{coin}", amount)
        if d is not None:
            out[coin] = d
    return MappingProxyType(out)


def _funding(r: _Reader, key: str, value: object, markets: Collection[str]) -> Funding:
    out: dict[str, Mapping[str, Decimal]] = {}
    for scope, coins in r.table(key, value).items():
        if scope == "isolated":
            for symbol, inner in r.table(f"{key}.isolated", coins).items():
                sk = _scope_key(r, f"{key}.isolated.{symbol}", isolated_scope(symbol), markets)
                if sk is not None:
                    out[sk] = _coins(r, f"{key}.isolated.{symbol}", inner)
            continue
        sk = _scope_key(r, f"{key}.{scope}", scope, markets)
        if sk is not None:
            out[sk] = _coins(r, f"{key}.{scope}", coins)
    for sk, scope_coins in out.items():
        sym = parse_scope(sk)[1]
        allowed = {"USDT", base_of(sym)} if sym else {"USDT", *map(base_of, markets)}
        for coin in scope_coins:
            if coin not in allowed:
                r.bad(f"{key}.{sk}.{coin}", f"coin not tradable here (allowed: {sorted(allowed)})")
    return MappingProxyType(out)


def _accounts(r: _Reader, value: object, markets: Collection[str]) -> list[AccountSetup]:
    if not isinstance(value, list):
        r.bad("accounts", "expected an array of tables ([[accounts]])")
        return []
    out: list[AccountSetup] = []
    for i, item in enumerate(value):
        key = f"accounts[{i}]"
        table = r.table(key, item)
        r.unknown(key, table, {"name", "funding", "positions", "unified"})
        name = table.get("name")
        if not isinstance(name, str) or not name:
            r.bad(f"{key}.name", "expected a non-empty string")
            continue
        if any(a.name == name for a in out):
            r.bad(f"{key}.name", f"duplicate account name {name!r}")
        funding = (
            _funding(r, f"{key}.funding", table["funding"], markets) if "funding" in table else None
        )
        positions = _positions(r, f"{key}.positions", table.get("positions", []), markets)
        unified = table.get("unified", False)
        if not isinstance(unified, bool):
            r.bad(f"{key}.unified", f"expected true or false, got {unified!r}")
        out.append(AccountSetup(name, funding, tuple(positions), unified is True))
    return out


def _positions(r: _Reader, key: str, value: object, markets: Collection[str]) -> list[PositionSpec]:
    if not isinstance(value, list):
        r.bad(key, "expected an array of tables")
        return []
    out: list[PositionSpec] = []
    for i, item in enumerate(value):
        k = f"{key}[{i}]"
        table = r.table(k, item)
        r.unknown(k, table, {"scope", "symbol", "side", "leverage"})
        scope = _scope_key(r, f"{k}.scope", str(table.get("scope", CROSS)), markets)
        if scope is None:
            continue
        symbol = table.get("symbol")
        if scope != CROSS:
            symbol = parse_scope(scope)[1]
        if not isinstance(symbol, str) or symbol not in markets:
            r.bad(f"{k}.symbol", f"expected a symbol of [markets], got {symbol!r}")
            continue
        side = table.get("side", "long")
        if side not in ("long", "short"):
            r.bad(f"{k}.side", f"expected 'long' or 'short', got {side!r}")
            continue
        lev = r.decimal(f"{k}.leverage", table.get("leverage"))
        if lev is not None and lev <= 1:
            r.bad(f"{k}.leverage", "must be > 1 (1 means no borrowing)")
            continue
        if lev is not None:
            out.append(PositionSpec(scope, symbol, "long" if side == "long" else "short", lev))
    return out


def _paths(r: _Reader, value: object, markets: Collection[str]) -> dict[str, tuple[Segment, ...]]:
    out: dict[str, tuple[Segment, ...]] = {}
    for symbol, segs in r.table("paths", value).items():
        key = f"paths.{symbol}"
        if symbol not in markets:
            r.bad(key, "symbol is not in [markets]")
            continue
        if not isinstance(segs, list):
            r.bad(key, "expected an array of segment tables")
            continue
        out[symbol] = tuple(
            seg for i, s in enumerate(segs) if (seg := _segment(r, f"{key}[{i}]", s)) is not None
        )
    return out


def _segment(r: _Reader, key: str, value: object) -> Segment | None:
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


def _faults(r: _Reader, value: object) -> list[FaultSpec]:
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


# ---------------------------------------------------------------------------- loading
def scenario_names() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/`` and in the package."""
    names = {p.stem for p in REPO_SCENARIOS.glob("*.toml")} if REPO_SCENARIOS.is_dir() else set()
    builtin = resources.files(BUILTIN_PACKAGE)
    names |= {p.name[:-5] for p in builtin.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by file path, or by bare name from ``./scenarios``, the repository's
    ``scenarios/`` or the copies packaged with riskd."""
    text_path = str(name_or_path)
    path = Path(text_path)
    looks_like_path = (
        isinstance(name_or_path, Path) or "/" in text_path or text_path.endswith(".toml")
    )
    if looks_like_path:
        if not path.is_file():
            raise ScenarioError(text_path, ["file not found"])
        return parse_scenario(path.read_text(encoding="utf-8"), str(path))
    for folder in (Path.cwd() / "scenarios", REPO_SCENARIOS):
        candidate = folder / f"{text_path}.toml"
        if candidate.is_file():
            return parse_scenario(candidate.read_text(encoding="utf-8"), str(candidate))
    builtin = resources.files(BUILTIN_PACKAGE) / f"{text_path}.toml"
    if builtin.is_file():
        return parse_scenario(builtin.read_text(encoding="utf-8"), f"builtin:{text_path}")
    known = ", ".join(scenario_names()) or "none"
    raise ScenarioError(text_path, [f"no scenario of that name (known: {known})"])
