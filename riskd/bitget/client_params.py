"""One set of method parameters, two API versions: what the typed methods send where.

The typed methods of :class:`~riskd.bitget.client.BitgetClient` take the same keyword
arguments whatever the version (v1's names: ``page_size``, ``page_id`` / ``min_id`` /
``last_fill_id``, ``symbols``, ``order_ids``...). :func:`for_endpoint` turns their wire-named
parameters into the ones the chosen endpoint declares:

v2
    ``pageSize`` → ``limit`` (the isolated risk rate keeps ``pageSize``); the cursors
    ``pageId`` / ``minId`` / ``lastFillId`` → ``idLessThan`` (the previous page's ``minId``,
    as before); ``symbols`` → ``symbolList``; ``source`` → ``enterPointSource``; batch cancel's
    ``orderIds`` / ``clientOids`` → ``orderIdList`` of ``{orderId}`` / ``{clientOid}`` objects;
    a required ``startTime`` not given (open orders) → 90 days back, the longest window the
    history endpoints accept; a borrow, isolated repay or order without ``clientOid`` gets one
    (:func:`new_client_oid`), so that every money move riskd sends can be found again.
v1
    ``clientOid`` is not sent where v1 has none (borrow, repay); the cross risk rate, which v1
    asks per coin although it is the account's, is asked for ``USDT``.

Both: a ``coin`` the endpoint does not declare (v2 risk rate, v2 isolated max amounts, which
answer for the whole pair) is dropped. Any other unknown name is left for
:mod:`riskd.bitget.wire` to refuse, naming it. The raw :meth:`ClientCore.call` (``riskd api``)
sends its parameters exactly as given.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from riskd.bitget.endpoint_types import Endpoint

#: v1 wire name → v2 wire name (when the v2 endpoint does not declare the v1 name).
RENAMES_V2 = {
    "pageSize": "limit",
    "pageId": "idLessThan",
    "minId": "idLessThan",
    "lastFillId": "idLessThan",
    "symbols": "symbolList",
    "source": "enterPointSource",
}
#: Parameters dropped, not refused, where an endpoint of the chosen version has no such field.
SOFT = frozenset({"coin", "clientOid"})
#: Endpoints whose v2 calls always carry a clientOid (money moves and orders).
WITH_CLIENT_OID = frozenset(
    {
        "cross_borrow",
        "isolated_borrow",
        "isolated_repay",
        "cross_place_order",
        "isolated_place_order",
    }
)
#: Longest window of the v2 history endpoints (ENDPOINTS-v2.md §2.4), less a minute of slack.
WINDOW_MS = 90 * 86_400_000 - 60_000
#: v1's cross risk rate needs a coin; the rate is the account's whatever the coin.
V1_RISK_COIN = "USDT"
CLIENT_OID_PREFIX = "riskd-"


def new_client_oid() -> str:
    """A fresh clientOid: ``riskd-`` and 32 hex digits (38 characters, ``[a-z0-9-]``)."""
    return f"{CLIENT_OID_PREFIX}{uuid.uuid4().hex}"


def _id_objects(order_ids: object, client_oids: object) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for key, values in (("orderId", order_ids), ("clientOid", client_oids)):
        if isinstance(values, Sequence) and not isinstance(values, str):
            out.extend({key: str(v)} for v in values)
    return out


def for_endpoint(ep: Endpoint, params: Mapping[str, object], *, now_ms: int) -> dict[str, object]:
    """``params`` (wire names, ``None`` = not given) as ``ep`` takes them."""
    declared = {p.name for p in ep.params}
    out = {k: v for k, v in params.items() if v is not None}
    if ep.api == "v2":
        if "orderIds" in out or "clientOids" in out:
            out["orderIdList"] = _id_objects(out.pop("orderIds", None), out.pop("clientOids", None))
        for old, new in RENAMES_V2.items():
            if old in out and old not in declared:
                out[new] = out.pop(old)
        start = ep.param("startTime")
        if start is not None and start.required and "startTime" not in out:
            out["startTime"] = now_ms - WINDOW_MS
        if ep.name in WITH_CLIENT_OID and not out.get("clientOid"):
            out["clientOid"] = new_client_oid()
    elif ep.name == "cross_risk_rate" and "coin" not in out:
        out["coin"] = V1_RISK_COIN
    for name in SOFT:
        if name in out and name not in declared:
            del out[name]
    return out
