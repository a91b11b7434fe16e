"""Every response example in the reference document parses, through the client method of its
endpoint, into a model that carries every documented field with the documented value."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import AliasChoices, BaseModel

from riskd.bitget.endpoints import BY_NAME, ENDPOINTS
from riskd.bitget.models import Envelope, Page
from riskd.bitget.models_orders import OrderRequest

#: The document's sections in order; one response example each.
DOC_ORDER = (
    "cross_interest_rate_and_limit",
    "isolated_interest_rate_and_limit",
    "cross_tier_data",
    "isolated_tier_data",
    "currencies",
    "cross_assets",
    "isolated_assets",
    "cross_borrow",
    "isolated_borrow",
    "cross_repay",
    "isolated_repay",
    "cross_risk_rate",
    "isolated_risk_rate",
    "cross_max_borrowable",
    "isolated_max_borrowable",
    "cross_max_transfer_out",
    "isolated_max_transfer_out",
    "isolated_flash_repay",
    "isolated_flash_repay_status",
    "cross_flash_repay",
    "cross_flash_repay_status",
    *(f"isolated_{n}" for n in ("place_order", "batch_place_order", "cancel_order")),
    *(f"isolated_{n}" for n in ("batch_cancel_order", "open_orders", "order_history", "fills")),
    *(f"isolated_{n}" for n in ("loans", "repays", "interests", "liquidations", "fin_flows")),
    *(f"cross_{n}" for n in ("place_order", "batch_place_order", "cancel_order")),
    *(f"cross_{n}" for n in ("batch_cancel_order", "open_orders", "order_history", "fills")),
    *(f"cross_{n}" for n in ("loans", "repays", "interests", "liquidations", "fin_flows")),
)
HEADING = re.compile(r"^Response(:| Data|\s*```Json)?\s*$")
CURL_PATH = re.compile(r"curl[^\n]*?(/api/margin/v1/[A-Za-z/]+)")


def _json_object(text: str, start: int) -> tuple[str, int]:
    """The balanced ``{...}`` beginning at the first brace at or after ``start``."""
    begin = text.index("{", start)
    depth = 0
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[begin : i + 1], i + 1
    raise ValueError("unbalanced example")


def extract_examples(doc: str) -> list[tuple[str, dict[str, Any]]]:
    """(curl path, parsed response) for every REST response example, in document order."""
    rest = doc[: doc.index("\nWebSocketAPI\n")]
    examples: list[tuple[str, dict[str, Any]]] = []
    offset = 0
    curl_path = ""
    for line in rest.splitlines(keepends=True):
        if m := CURL_PATH.search(line):
            curl_path = m.group(1)
        if HEADING.match(line.strip()):
            raw, _ = _json_object(rest, offset)
            examples.append((curl_path, json.loads(raw)))
        offset += len(line)
    return examples


@pytest.fixture(scope="module")
def examples() -> dict[str, tuple[str, dict[str, Any]]]:
    doc = (Path(__file__).parents[1] / "reference" / "bitget-margin-api-v1.txt").read_text()
    found = extract_examples(doc)
    assert len(found) == len(DOC_ORDER) == len(ENDPOINTS) - 1  # all but the server time
    return dict(zip(DOC_ORDER, found, strict=True))


def test_examples_follow_the_documented_paths(
    examples: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    """Each example sits under the curl of its endpoint (errata 1 and 2 aside)."""
    for name, (curl_path, _) in examples.items():
        if name == "cross_repay":
            assert curl_path == BY_NAME["isolated_repay"].path  # erratum 1: wrong path
            continue
        if name == "cross_fin_flows":
            assert curl_path == BY_NAME[name].path + "startTime"  # erratum 2: no "?"
            continue
        assert curl_path == BY_NAME[name].path, name


def _kwargs(name: str) -> dict[str, Any]:
    ep = BY_NAME[name]
    values = {"str": "BTCUSDT", "decimal": Decimal("1"), "int": 10, "ms": 1659403328000}
    out: dict[str, Any] = {}
    for p in ep.params:
        if not p.required:
            continue
        snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), p.name)
        if p.kind == "orders":
            out["orders"] = [_order()]
        elif p.kind == "list":
            out[snake] = ["1"]
        elif p.name in ("orderType", "side", "loanType", "timeInForce"):
            out["order"] = _order()
        else:
            out[snake] = values[p.kind]
    if name.endswith("_cancel_order"):
        key = "order_ids" if "batch" in name else "order_id"
        out[key] = ["1"] if "batch" in name else "1"
    return out


def _order() -> OrderRequest:
    return OrderRequest(
        side="buy", order_type="limit", price=Decimal("15100"), base_quantity=Decimal("0.1")
    )


def _field_for(model: BaseModel, key: str) -> str | None:
    for field_name, info in type(model).model_fields.items():
        names = {info.alias, field_name}
        if isinstance(info.validation_alias, AliasChoices):
            names.update(str(c) for c in info.validation_alias.choices)
        elif isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
        if key in names:
            return field_name
    return None


def assert_same(got: Any, want: Any, where: str) -> None:
    """``got`` (parsed) holds the same value as ``want`` (the document's JSON)."""
    if isinstance(want, dict):
        assert isinstance(got, BaseModel), where
        for key, value in want.items():
            field = _field_for(got, key)
            assert field is not None, f"{where}: {type(got).__name__} lacks {key!r}"
            assert_same(getattr(got, field), value, f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif want is None or isinstance(want, bool):
        assert got is want, where
    elif isinstance(got, Decimal):
        assert got == Decimal(str(want)), where
        assert not isinstance(want, float), f"{where}: the example sends a float"
    elif isinstance(got, int) and not isinstance(got, bool):
        assert got == int(want), where
    else:
        assert got == str(want), where


def _list_of(data: Any) -> tuple[list[Any], Any, Any]:
    if isinstance(data, list):
        return data, None, None
    key = "resultList" if "resultList" in data else "orderList"
    return data[key], data.get("maxId"), data.get("minId")


@pytest.mark.parametrize("name", DOC_ORDER)
async def test_example_parses_through_its_method(
    name: str, examples: dict[str, tuple[str, dict[str, Any]]], fake: Any
) -> None:
    """The method of this endpoint turns the document's example into a faithful model."""
    _, example = examples[name]
    ep = BY_NAME[name]
    fake.on(ep.path, httpx.Response(200, content=json.dumps(example).encode()))
    async with fake.client() as client:
        result = await getattr(client, name)(**_kwargs(name))
    data = example["data"]
    if isinstance(result, Page):
        items, max_id, min_id = _list_of(data)
        assert_same(list(result.items), items, name)
        assert result.max_id == (max_id or example.get("maxId"))
        assert result.min_id == (min_id or example.get("minId"))
        assert result.min_id is not None
    elif isinstance(result, tuple):
        assert_same(list(result), data, name)
    else:
        assert_same(result, data, name)


def test_every_endpoint_has_an_example_or_is_the_server_time() -> None:
    """The document covers every table entry but the server time (which is not margin v1)."""
    assert set(BY_NAME) - set(DOC_ORDER) == {"server_time"}


def test_every_example_envelope_parses(examples: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Envelopes take ``msg`` or ``message`` and a numeric, string or missing requestTime."""
    kinds = set()
    for _, example in examples.values():
        env = Envelope.model_validate(example)
        assert env.code == "00000" and env.msg == "success"
        assert env.request_time is None or isinstance(env.request_time, int)
        kinds.add(type(example.get("requestTime")).__name__)
        kinds.add("message" if "message" in example else "msg")
    assert kinds == {"int", "str", "NoneType", "msg", "message"}
