"""Reading values out of a parsed scenario TOML document, collecting every problem with its key."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation

from riskd.risk.snapshot import CROSS, parse_scope
from riskd.sim.catalog import base_of


class Reader:
    """Collects problems (``key: what is wrong``) while reading one scenario file."""

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
            self.bad(key, f"{value!r} must be >= 0")
        return result

    def table(self, key: str, value: object) -> Mapping[str, object]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(key, f"expected a table, got {type(value).__name__}")
            return {}
        return value

    def array(self, key: str, value: object) -> list[object]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(key, f"expected an array, got {type(value).__name__}")
            return []
        return value

    def unknown(self, key: str, table: Mapping[str, object], allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                self.bad(f"{key}.{k}" if key else k, f"unknown key (allowed: {sorted(allowed)})")

    def symbols(self, key: str, value: object, markets: Collection[str]) -> tuple[str, ...]:
        """A list of symbols of ``[markets]``."""
        out: list[str] = []
        for i, item in enumerate(self.array(key, value)):
            if not isinstance(item, str) or item not in markets:
                self.bad(f"{key}[{i}]", f"expected a symbol of [markets], got {item!r}")
                continue
            out.append(item)
        return tuple(out)

    def scope(self, key: str, scope: str, markets: Collection[str]) -> str | None:
        """A scope id (``cross`` / ``isolated:SYMBOL`` with the symbol in ``[markets]``)."""
        try:
            kind, symbol = parse_scope(scope)
        except ValueError as exc:
            self.bad(key, str(exc))
            return None
        if symbol is not None and symbol not in markets:
            self.bad(key, f"symbol {symbol} is not in [markets]")
            return None
        return scope if kind == "isolated" else CROSS


def known_symbols(value: object) -> frozenset[str]:
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
