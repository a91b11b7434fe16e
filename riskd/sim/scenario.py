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
    orders = [                        # resting limit orders placed after the positions
      { scope = "cross", symbol = "BTCUSDT", side = "sell", price = "31000", size = "0.01" },
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

    [[feed_stops]]                    # the index-price WebSocket feed stops (market moves on)
    start_s = 60
    end_s = 75
    symbols = ["BTCUSDT"]             # optional: every symbol

    [settlement]                      # market seconds from acceptance to effect
    flash_repay_s = 2                 # REPAYING after half, FINISH after all (default 2)
    repay_s = 0                       # a repay reduces the debt this much later (default 0)
    order_s = 0                       # market / crossing orders fill this much later (default 0)

    [tiers.cross.BTC]                 # replaces the catalog's cross tier of a coin
    mmr = "0.15"
    leverage = "3"
    max_borrowable = "20"
    [tiers.isolated.BTCUSDT]          # ... and the isolated tier of a symbol
    mmr = "0.08"
    leverage = "5"

    [symbols.BTCUSDT]                 # the largest order the symbol takes (base coin;
    max_trade_amount = "2"            # default: about a million USDT at the start price)

    [expect]                          # kept as is for the scenario suite / demo
    no_liquidation = true

A long position at leverage ``L`` borrows ``E × (L − 1)`` of the quote coin (``E`` = the
scope's net assets in USDT) and buys the base with it; a short borrows that value of the base
and sells it. ``leverage`` is the resulting assets / net assets. docs/scenarios.md documents
every key with an example.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from riskd.risk.snapshot import CROSS, isolated_scope
from riskd.sim.catalog import base_of
from riskd.sim.scenario_accounts import read_accounts, read_funding, read_markets
from riskd.sim.scenario_market import (
    read_faults,
    read_feed_stops,
    read_paths,
    read_settlement,
    read_symbol_limits,
    read_tiers,
)
from riskd.sim.scenario_reader import Reader, known_symbols
from riskd.sim.scenario_types import (
    RISK_RATE_READINGS,
    AccountSetup,
    CoinTier,
    Funding,
    OrderSpec,
    PositionSpec,
    RiskRateReading,
    Scenario,
    ScenarioError,
    Settlement,
    Side,
    SymbolTier,
    Tiers,
)

__all__ = [
    "RISK_RATE_READINGS",
    "AccountSetup",
    "CoinTier",
    "Funding",
    "OrderSpec",
    "PositionSpec",
    "RiskRateReading",
    "Scenario",
    "ScenarioError",
    "Settlement",
    "Side",
    "SymbolTier",
    "Tiers",
    "calm_scenario",
    "default_funding",
    "family_scenario_names",
    "flat_scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_names",
]

REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BUILTIN_PACKAGE = "riskd.sim.scenarios_builtin"
#: Sub-folder of the scenarios that show a loss family of issue 15 (not in the suite yet).
FAMILIES = "families"


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


def calm_scenario() -> Scenario:
    """``riskd sim serve`` without ``--scenario``: the default scenario's accounts (funded and
    leveraged alike) with every price held; a crash starts only on request (``/_sim/crash``)."""
    base = load_scenario("default")
    return replace(
        base,
        name="calm",
        description="the default accounts, prices held until a crash is requested",
        paths=MappingProxyType({}),
        duration_s=0.0,
        source=f"{base.source} (calm: paths removed)",
    )


# ---------------------------------------------------------------------------- parsing
_TOP = {"name", "description", "seed", "duration_s", "markets", "funding", "accounts"}
_TOP |= {"paths", "faults", "expect", "risk_rate_reading", "feed_stops", "settlement", "tiers"}
_TOP |= {"symbols"}


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse scenario TOML; every problem is reported at once in a :class:`ScenarioError`."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"not valid TOML: {exc}"]) from None
    r = Reader(source)
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
    markets = read_markets(r, doc.get("markets"))
    known = known_symbols(doc.get("markets"))
    funding = read_funding(r, "funding", doc.get("funding"), known) if "funding" in doc else None
    accounts = read_accounts(r, doc.get("accounts", []), known, markets)
    paths = read_paths(r, doc.get("paths"), known)
    faults = read_faults(r, doc.get("faults", []))
    feed_stops = read_feed_stops(r, doc.get("feed_stops", []), known)
    settlement = read_settlement(r, doc.get("settlement"))
    tiers = read_tiers(r, doc.get("tiers"), markets)
    max_trade = read_symbol_limits(r, doc.get("symbols"), markets)
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
        feed_stops=tuple(feed_stops),
        settlement=settlement,
        tiers=tiers,
        max_trade_amounts=max_trade,
    )


# ---------------------------------------------------------------------------- loading
def scenario_names() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/`` and in the package (the suite runs each
    of them; the loss families in ``scenarios/families/`` are not listed here)."""
    names = {p.stem for p in REPO_SCENARIOS.glob("*.toml")} if REPO_SCENARIOS.is_dir() else set()
    builtin = resources.files(BUILTIN_PACKAGE)
    names |= {p.name[:-5] for p in builtin.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def family_scenario_names() -> list[str]:
    """Names of the loss-family scenarios of issue 15 (``scenarios/families/``): each one
    liquidates its accounts when nobody acts."""
    folder = REPO_SCENARIOS / FAMILIES
    names = {p.stem for p in folder.glob("*.toml")} if folder.is_dir() else set()
    builtin = resources.files(BUILTIN_PACKAGE) / FAMILIES
    if builtin.is_dir():
        names |= {p.name[:-5] for p in builtin.iterdir() if p.name.endswith(".toml")}
    return sorted(names)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by file path, or by bare name from ``./scenarios``, the repository's
    ``scenarios/`` (and its ``families/``) or the copies packaged with riskd."""
    text_path = str(name_or_path)
    path = Path(text_path)
    looks_like_path = (
        isinstance(name_or_path, Path) or "/" in text_path or text_path.endswith(".toml")
    )
    if looks_like_path:
        if not path.is_file():
            raise ScenarioError(text_path, ["file not found"])
        return parse_scenario(path.read_text(encoding="utf-8"), str(path))
    for folder in (Path.cwd() / "scenarios", REPO_SCENARIOS, REPO_SCENARIOS / FAMILIES):
        candidate = folder / f"{text_path}.toml"
        if candidate.is_file():
            return parse_scenario(candidate.read_text(encoding="utf-8"), str(candidate))
    package = resources.files(BUILTIN_PACKAGE)
    for builtin in (package / f"{text_path}.toml", package / FAMILIES / f"{text_path}.toml"):
        if builtin.is_file():
            return parse_scenario(builtin.read_text(encoding="utf-8"), f"builtin:{text_path}")
    known = ", ".join(scenario_names() + family_scenario_names()) or "none"
    raise ScenarioError(text_path, [f"no scenario of that name (known: {known})"])
