"""Scenario keys about money: ``[markets]``, ``[funding]``, ``[[accounts]]`` with their positions
and open orders.

A Unified Trading Account (``unified = true``) has one account-wide book, the cross scope: its
funding, positions and orders must be cross, and ``uta_liquidation_level`` (a decimal > 0,
default 1) sets the mgnRatio at which the simulator liquidates it (:mod:`riskd.sim.uta`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from types import MappingProxyType

from riskd.risk.snapshot import CROSS, isolated_scope, parse_scope
from riskd.sim.catalog import Catalog, base_of, build_catalog
from riskd.sim.scenario_reader import Reader
from riskd.sim.scenario_types import AccountSetup, Funding, OrderSpec, PositionSpec


def read_markets(r: Reader, value: object) -> dict[str, Decimal]:
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


def _coins(r: Reader, key: str, value: object) -> Mapping[str, Decimal]:
    out: dict[str, Decimal] = {}
    for coin, amount in r.table(key, value).items():
        d = r.decimal(f"{key}.{coin}", amount)
        if d is not None:
            out[coin] = d
    return MappingProxyType(out)


def read_funding(r: Reader, key: str, value: object, markets: Collection[str]) -> Funding:
    out: dict[str, Mapping[str, Decimal]] = {}
    for scope, coins in r.table(key, value).items():
        if scope == "isolated":
            for symbol, inner in r.table(f"{key}.isolated", coins).items():
                sk = r.scope(f"{key}.isolated.{symbol}", isolated_scope(symbol), markets)
                if sk is not None:
                    out[sk] = _coins(r, f"{key}.isolated.{symbol}", inner)
            continue
        sk = r.scope(f"{key}.{scope}", scope, markets)
        if sk is not None:
            out[sk] = _coins(r, f"{key}.{scope}", coins)
    for sk, scope_coins in out.items():
        sym = parse_scope(sk)[1]
        allowed = {"USDT", base_of(sym)} if sym else {"USDT", *map(base_of, markets)}
        for coin in scope_coins:
            if coin not in allowed:
                r.bad(f"{key}.{sk}.{coin}", f"coin not tradable here (allowed: {sorted(allowed)})")
    return MappingProxyType(out)


def read_accounts(
    r: Reader, value: object, markets: Collection[str], prices: Mapping[str, Decimal]
) -> list[AccountSetup]:
    """``[[accounts]]``; ``markets`` are the symbols named in [markets], ``prices`` those with
    a valid start price."""
    if not isinstance(value, list):
        r.bad("accounts", "expected an array of tables ([[accounts]])")
        return []
    catalog = build_catalog(prices)
    out: list[AccountSetup] = []
    for i, item in enumerate(value):
        key = f"accounts[{i}]"
        table = r.table(key, item)
        r.unknown(
            key,
            table,
            {"name", "funding", "positions", "unified", "orders", "uta_liquidation_level"},
        )
        name = table.get("name")
        if not isinstance(name, str) or not name:
            r.bad(f"{key}.name", "expected a non-empty string")
            continue
        if any(a.name == name for a in out):
            r.bad(f"{key}.name", f"duplicate account name {name!r}")
        funding = (
            read_funding(r, f"{key}.funding", table["funding"], markets)
            if "funding" in table
            else None
        )
        positions = _positions(r, f"{key}.positions", table.get("positions", []), markets)
        orders = _orders(r, f"{key}.orders", table.get("orders", []), prices, catalog)
        unified = table.get("unified", False)
        if not isinstance(unified, bool):
            r.bad(f"{key}.unified", f"expected true or false, got {unified!r}")
        level = _uta_level(r, key, table, unified is True)
        if unified is True:
            _only_cross(r, key, funding, positions, orders)
        out.append(
            AccountSetup(name, funding, tuple(positions), unified is True, tuple(orders), level)
        )
    return out


def _uta_level(r: Reader, key: str, table: Mapping[str, object], unified: bool) -> Decimal | None:
    if "uta_liquidation_level" not in table:
        return None
    k = f"{key}.uta_liquidation_level"
    if not unified:
        r.bad(k, "only a Unified Trading Account (unified = true) has a UTA liquidation level")
        return None
    return r.decimal(k, table["uta_liquidation_level"])


def _only_cross(
    r: Reader,
    key: str,
    funding: Funding | None,
    positions: list[PositionSpec],
    orders: list[OrderSpec],
) -> None:
    """A UTA account has one book: refuse isolated scopes, naming where they are."""
    why = "a Unified Trading Account has no isolated accounts (use the cross scope)"
    for scope in funding or {}:
        if scope != CROSS:
            r.bad(f"{key}.funding.{scope}", why)
    for i, p in enumerate(positions):
        if p.scope != CROSS:
            r.bad(f"{key}.positions[{i}].scope", why)
    for i, o in enumerate(orders):
        if o.scope != CROSS:
            r.bad(f"{key}.orders[{i}].scope", why)


def _scope_and_symbol(
    r: Reader, key: str, table: Mapping[str, object], markets: Collection[str]
) -> tuple[str, str] | None:
    scope_value = table.get("scope", CROSS)
    if not isinstance(scope_value, str):
        r.bad(f"{key}.scope", f"expected 'cross' or 'isolated:SYMBOL', got {scope_value!r}")
        return None
    scope = r.scope(f"{key}.scope", scope_value, markets)
    if scope is None:
        return None
    symbol = table.get("symbol")
    if scope != CROSS:
        scope_symbol = parse_scope(scope)[1]
        if symbol is not None and symbol != scope_symbol:
            r.bad(f"{key}.symbol", f"{symbol!r} is not the symbol of scope {scope}")
            return None
        symbol = scope_symbol
    if not isinstance(symbol, str) or symbol not in markets:
        r.bad(f"{key}.symbol", f"expected a symbol of [markets], got {symbol!r}")
        return None
    return scope, symbol


def _positions(r: Reader, key: str, value: object, markets: Collection[str]) -> list[PositionSpec]:
    if not isinstance(value, list):
        r.bad(key, "expected an array of tables")
        return []
    out: list[PositionSpec] = []
    for i, item in enumerate(value):
        k = f"{key}[{i}]"
        table = r.table(k, item)
        r.unknown(k, table, {"scope", "symbol", "side", "leverage"})
        where = _scope_and_symbol(r, k, table, markets)
        if where is None:
            continue
        side = table.get("side", "long")
        if side not in ("long", "short"):
            r.bad(f"{k}.side", f"expected 'long' or 'short', got {side!r}")
            continue
        lev = r.decimal(f"{k}.leverage", table.get("leverage"))
        if lev is not None and lev <= 1:
            r.bad(f"{k}.leverage", f"{lev} must be > 1 (1 means no borrowing)")
            continue
        if lev is not None:
            out.append(PositionSpec(*where, "long" if side == "long" else "short", lev))
    return out


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _orders(
    r: Reader, key: str, value: object, markets: Mapping[str, Decimal], catalog: Catalog
) -> list[OrderSpec]:
    """Resting limit orders: each must rest at the start price (not fill at once)."""
    if not isinstance(value, list):
        r.bad(key, "expected an array of tables")
        return []
    out: list[OrderSpec] = []
    for i, item in enumerate(value):
        k = f"{key}[{i}]"
        table = r.table(k, item)
        r.unknown(k, table, {"scope", "symbol", "side", "price", "size"})
        where = _scope_and_symbol(r, k, table, markets)
        side = table.get("side")
        if side not in ("buy", "sell"):
            r.bad(f"{k}.side", f"expected 'buy' or 'sell', got {side!r}")
        price = r.decimal(f"{k}.price", table.get("price"))
        size = r.decimal(f"{k}.size", table.get("size"))
        if where is None or price is None or size is None or side not in ("buy", "sell"):
            continue
        spec = catalog.symbol(where[1])
        start = markets[where[1]]
        if _decimals(price) > spec.price_scale:
            r.bad(
                f"{k}.price", f"{price} has more than {spec.price_scale} decimals ({spec.symbol})"
            )
            continue
        if _decimals(size) > spec.quantity_scale:
            r.bad(f"{k}.size", f"{size} has more than {spec.quantity_scale} decimals")
            continue
        if size < spec.min_trade_amount:
            r.bad(f"{k}.size", f"{size} is below the minimum {spec.min_trade_amount} {spec.base}")
            continue
        if (side == "buy" and price >= start) or (side == "sell" and price <= start):
            r.bad(
                f"{k}.price",
                f"a {side} at {price} would fill at once (start price {start}); "
                "an open order must rest",
            )
            continue
        out.append(OrderSpec(*where, "buy" if side == "buy" else "sell", price, size))
    return out
