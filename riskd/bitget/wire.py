"""Turning a call's parameters into the exact query string or JSON body that is sent.

Parameters are checked against the endpoint table (unknown names, missing required ones and
values of the wrong kind are refused with :class:`~riskd.bitget.errors.RequestParamError`
before anything is sent) and converted by their declared kind:

- ``str``: text (an int is accepted and written in decimal);
- ``decimal``: a Decimal, int or decimal string, written plain with at most 8 decimals
  (rounded toward zero, :func:`riskd.amounts.to_wire`); floats are refused;
- ``int`` / ``ms``: an integer (or a string of digits), written in decimal;
- ``list``: a list of strings;
- ``orders``: a list of :class:`~riskd.bitget.models_orders.OrderRequest` (or mappings with
  the document's field names), written with the field names of the endpoint's API version;
- ``objects``: a list of JSON objects of text (v2 batch cancel's ``orderIdList``).

A GET sends them as a query string with the keys in sorted order and every byte outside
``A-Z a-z 0-9 - . _ ~`` percent-encoded (UTF-8), so the same parameters always give the same
bytes. A POST sends compact JSON (``{"coin":"USDT","borrowAmount":"1"}``) in the document's
parameter order, UTF-8. The signer signs whatever bytes come out of here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from urllib.parse import quote

from pydantic import ValidationError

from riskd.amounts import AmountError, to_decimal, to_wire
from riskd.bitget.endpoints import Endpoint, Param
from riskd.bitget.errors import RequestParamError
from riskd.bitget.models_orders import OrderRequest

WireValue = str | list[str] | list[dict[str, str]]
_ORDER_KEYS_V2 = {"force": "timeInForce", "baseSize": "baseQuantity", "quoteSize": "quoteAmount"}


def _where(ep: Endpoint, p: Param) -> str:
    return f"{ep.name} ({ep.method} {ep.path}) parameter {p.name!r}"


def _integer(ep: Endpoint, p: Param, value: object) -> str:
    if isinstance(value, bool):
        raise RequestParamError(f"{_where(ep, p)}: expected an integer, got a bool")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise RequestParamError(f"{_where(ep, p)}: expected an integer, got {value!r}")
    if number < 0:
        raise RequestParamError(f"{_where(ep, p)}: must not be negative, got {number}")
    return str(number)


def _order(ep: Endpoint, p: Param, index: int, value: object) -> dict[str, str]:
    if isinstance(value, Mapping) and ep.api == "v2":
        value = {_ORDER_KEYS_V2.get(str(k), str(k)): v for k, v in value.items()}
    try:
        order = value if isinstance(value, OrderRequest) else OrderRequest.model_validate(value)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'order'}: {e['msg']}" for e in exc.errors()
        )
        raise RequestParamError(f"{_where(ep, p)}[{index}]: {details}") from None
    return {k: _text(v) for k, v in order.wire_params(ep.api).items()}


def _objects(ep: Endpoint, p: Param, value: object) -> list[dict[str, str]]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise RequestParamError(f"{_where(ep, p)}: expected a list of objects")
    out: list[dict[str, str]] = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not item:
            raise RequestParamError(f"{_where(ep, p)}[{i}]: expected a non-empty object")
        entry: dict[str, str] = {}
        for k, v in item.items():
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                raise RequestParamError(f"{_where(ep, p)}[{i}].{k}: expected text")
            entry[str(k)] = str(v)
        out.append(entry)
    return out


def _text(value: object) -> str:
    return to_wire(value) if isinstance(value, Decimal) else str(value)


def convert(ep: Endpoint, p: Param, value: object) -> WireValue:
    """One parameter's wire value, or :class:`RequestParamError` naming it."""
    if p.kind == "decimal":
        try:
            return to_wire(to_decimal(value, field=p.name))
        except AmountError as exc:
            raise RequestParamError(f"{_where(ep, p)}: {exc}") from None
    if p.kind in ("int", "ms"):
        return _integer(ep, p, value)
    if p.kind == "list":
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise RequestParamError(f"{_where(ep, p)}: expected a list, got {value!r}")
        items: list[str] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise RequestParamError(f"{_where(ep, p)}: list items must be strings")
            items.append(str(item))
        return items
    if p.kind == "orders":
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise RequestParamError(f"{_where(ep, p)}: expected a list of orders")
        if not value:
            raise RequestParamError(f"{_where(ep, p)}: the order list is empty")
        return [_order(ep, p, i, v) for i, v in enumerate(value)]
    if p.kind == "objects":
        return _objects(ep, p, value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestParamError(f"{_where(ep, p)}: expected text, got {type(value).__name__}")
    return str(value)


def wire_params(ep: Endpoint, params: Mapping[str, object]) -> dict[str, WireValue]:
    """Check ``params`` (wire names; ``None`` values are dropped) and convert them.

    The result is in the endpoint's declared parameter order.
    """
    declared = {p.name: p for p in ep.params}
    unknown = sorted(k for k in params if k not in declared)
    if unknown:
        known = ", ".join(declared) or "none"
        raise RequestParamError(
            f"{ep.name} ({ep.method} {ep.path}): unknown parameter(s) {', '.join(unknown)}; "
            f"known: {known}"
        )
    out: dict[str, WireValue] = {}
    for p in ep.params:
        value = params.get(p.name)
        if value is None:
            if p.required:
                raise RequestParamError(f"{_where(ep, p)} is required")
            continue
        out[p.name] = convert(ep, p, value)
    return out


def query_string(params: Mapping[str, WireValue]) -> str:
    """``k=v&...`` with sorted keys and every reserved or non-ASCII byte percent-encoded."""
    parts = []
    for key in sorted(params):
        value = params[key]
        text = ",".join(str(v) for v in value) if isinstance(value, list) else value
        parts.append(f"{quote(key, safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def json_body(params: Mapping[str, WireValue]) -> bytes:
    """Compact UTF-8 JSON of ``params`` in their given order."""
    return json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode(ep: Endpoint, params: Mapping[str, object]) -> tuple[str, bytes]:
    """``(query, body)`` for a call: a GET has only a query, a POST only a JSON body."""
    converted = wire_params(ep, params)
    if ep.method == "GET":
        return query_string(converted), b""
    return "", json_body(converted)
