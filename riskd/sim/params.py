"""Request parameters: read from the query (GET) or the JSON body (POST), checked against the
endpoint table's declarations with the document's codes.

- a required parameter missing or empty → 40019 ``Parameter {name} cannot be empty``;
- a value of the wrong form (not a decimal string, not an integer, not a list) → 40020
  ``Parameter {name} error``; JSON numbers with a fraction are refused for amounts (amounts are
  decimal strings on the wire, never floats);
- an amount with more than 8 decimals → 50063.
Parameters the table does not declare are ignored, as the real service does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

from riskd.bitget.endpoints import Endpoint
from riskd.sim.errors import SimError, param_empty, param_error


class JsonFloat(str):
    """A JSON number with a fraction or exponent, kept as its text to be refused as amount."""

    __slots__ = ()


def parse_body(body: bytes) -> dict[str, object]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_float=JsonFloat)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SimError("40017", f"body is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SimError("40017", "body must be a JSON object")
    return value


def parse_query(query: str) -> dict[str, object]:
    parsed = parse_qs(query, keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, JsonFloat):
        raise param_error(name, "amounts are decimal strings, not JSON numbers")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise param_error(name)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise param_error(name) from None
    if not result.is_finite():
        raise param_error(name)
    exponent = result.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        raise SimError("50063", detail=name)
    return result


class Params:
    """The parameters of one request, typed by the endpoint's declarations."""

    def __init__(self, endpoint: Endpoint, raw: Mapping[str, object]) -> None:
        self.endpoint = endpoint
        self.raw = raw
        self._kinds = {p.name: p.kind for p in endpoint.params}
        for p in endpoint.params:
            if p.required and self._empty(raw.get(p.name)):
                raise param_empty(p.name)
        for name, kind in self._kinds.items():
            value = raw.get(name)
            if self._empty(value):
                continue
            if kind == "decimal":
                _decimal(name, value)
            elif kind in ("int", "ms"):
                self._integer(name, value)
            elif kind in ("list", "orders", "objects"):
                self._list(name, value)
            elif not isinstance(value, str):
                raise param_error(name, "expected a string")

    @staticmethod
    def _empty(value: object) -> bool:
        return value is None or (isinstance(value, str) and value.strip() == "")

    @staticmethod
    def _integer(name: str, value: object) -> int:
        if isinstance(value, bool):
            raise param_error(name)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise param_error(name, "expected an integer")

    @staticmethod
    def _list(name: str, value: object) -> list[object]:
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
        raise param_error(name, "expected a list")

    # --- accessors (validated above; these only convert)
    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if self._empty(value):
            return None
        return value.strip() if isinstance(value, str) else str(value)

    def req(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise param_empty(name)
        return value

    def amount(self, name: str) -> Decimal | None:
        value = self.raw.get(name)
        return None if self._empty(value) else _decimal(name, value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        return default if self._empty(value) else self._integer(name, value)

    def items(self, name: str) -> list[object]:
        value = self.raw.get(name)
        return [] if self._empty(value) else self._list(name, value)

    def texts(self, name: str, max_len: int = 100) -> list[str]:
        items = self.items(name)
        if not all(isinstance(i, str) for i in items):
            raise param_error(name, "expected a list of strings")
        if len(items) > max_len:
            raise SimError("40058", name, max_len)
        return [str(i) for i in items]
