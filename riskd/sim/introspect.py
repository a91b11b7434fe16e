"""What a served simulator can tell a test afterwards: every protective call it answered, every
429 it sent, and every liquidation (``riskd sim serve``; the multi-node acceptance harness in
``tests/cluster/`` reads it).

:class:`CallRecorder` is an ASGI wrapper around the simulator's app; it changes no answer. It
watches:

- each POST to a *protective* endpoint of the endpoint table (repay, flash repay, place order,
  batch place, cancel, batch cancel — v1, v2 and v3): the account (by its API key), the
  endpoint, the ``clientOid`` sent (or answered, for batches), the exchange's id (order,
  repay or flash-repay id), the symbol / coin / side / amount sent, the answer's code, the wall
  time and the market time (a cancel has neither ids nor ref: the ids it names are the
  cancelled orders');
- every HTTP 429 answer (any path): the time, the endpoint and the account when known.

Test-only routes (JSON, no authentication, like the rest of ``/_sim/``):

- ``GET /_sim/calls``: ``{"calls": [...], "rateLimited": [...]}``; ``?since=SEQ`` returns the
  records after that sequence number only;
- ``GET /_sim/liquidations``: ``{"accounts": {name: [{liqId, scope, timeMs, riskRate}]}}`` for
  every account (liquidated or not: an empty list).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from riskd.bitget.codes import SUCCESS
from riskd.bitget.endpoints import ALL_ENDPOINTS, Endpoint

if TYPE_CHECKING:
    from riskd.sim.simulator import SimKeys, Simulator

ASGIApp = Callable[..., Any]

#: POST path → endpoint, for the protective endpoints of every API version.
PROTECTIVE_BY_PATH: dict[str, Endpoint] = {
    e.path: e for e in ALL_ENDPOINTS if e.protective and e.method == "POST"
}
#: Path → endpoint for everything (naming the endpoint of a 429).
ENDPOINT_BY_PATH: dict[str, Endpoint] = {e.path: e for e in ALL_ENDPOINTS}
#: Body fields copied into a record (what was asked for).
COPIED = ("symbol", "coin", "side", "orderType", "baseSize", "quoteSize", "size", "repayAmount")
CALLS_PATH = "/_sim/calls"
LIQUIDATIONS_PATH = "/_sim/liquidations"


@dataclass(frozen=True, slots=True)
class ProtectiveCall:
    """One protective call the simulator answered. ``accepted``: code ``00000``."""

    seq: int
    at: float
    market_ms: int
    account: str | None
    endpoint: str
    accepted: bool
    code: str
    client_oids: tuple[str, ...]
    ref: str | None
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RateLimitedAnswer:
    """One HTTP 429 the simulator sent."""

    seq: int
    at: float
    endpoint: str | None
    account: str | None


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _oids(body: object, data: object) -> tuple[str, ...]:
    """The clientOids of a call: the body's, its order list's, and the answer's."""
    found: list[str] = []

    def take(obj: object) -> None:
        if isinstance(obj, dict):
            oid = obj.get("clientOid")
            if isinstance(oid, str) and oid and oid not in found:
                found.append(oid)
            for key in ("orderList", "successList", "orderIdList"):
                items = obj.get(key)
                if isinstance(items, list):
                    for item in items:
                        take(item)
        elif isinstance(obj, list):
            for item in obj:
                take(item)

    take(body)
    take(data)
    return tuple(found)


def _ref(data: object) -> str | None:
    """The exchange's id in an answer: order id, repay id, flash repay id."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, dict):
        for key in ("orderId", "repayId", "id", "loanId"):
            value = data.get(key)
            if value not in (None, ""):
                return str(value)
    return None


class CallLog:
    """The records, shared by the recorder and its routes (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self.calls: list[ProtectiveCall] = []
        self.rate_limited: list[RateLimitedAnswer] = []

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def add_call(self, call: ProtectiveCall) -> None:
        with self._lock:
            self.calls.append(call)

    def add_429(self, answer: RateLimitedAnswer) -> None:
        with self._lock:
            self.rate_limited.append(answer)

    def to_json(self, since: int = 0) -> dict[str, object]:
        with self._lock:
            calls = [c for c in self.calls if c.seq > since]
            limited = [r for r in self.rate_limited if r.seq > since]
        out_calls = []
        for c in calls:
            row = asdict(c)
            row["client_oids"] = list(c.client_oids)
            row["params"] = dict(c.params)
            out_calls.append(row)
        return {"calls": out_calls, "rateLimited": [asdict(r) for r in limited]}


class CallRecorder:
    """An ASGI app that serves ``app`` unchanged and records into ``log`` (module doc).

    ``account_of`` maps an API key to its account name; ``market_ms`` gives the market clock
    in ms; ``liquidations`` the per-account liquidation list for ``GET /_sim/liquidations``.
    """

    def __init__(
        self,
        app: ASGIApp,
        log: CallLog,
        account_of: Mapping[str, str],
        market_ms: Callable[[], int],
        liquidations: Callable[[], dict[str, list[dict[str, object]]]],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.log = log
        self._account_of = account_of
        self._market_ms = market_ms
        self._liquidations = liquidations
        self._wall = wall

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        method = str(scope.get("method", ""))
        if method == "GET" and path in (CALLS_PATH, LIQUIDATIONS_PATH):
            await self._serve_json(scope, send, path)
            return
        endpoint = PROTECTIVE_BY_PATH.get(path) if method == "POST" else None
        account = self._account(scope)
        body_parts: list[bytes] = []
        answer_parts: list[bytes] = []
        status: list[int] = []

        async def recv() -> Any:
            message = await receive()
            if endpoint is not None and message.get("type") == "http.request":
                body_parts.append(bytes(message.get("body", b"")))
            return message

        async def snd(message: Any) -> None:
            if message.get("type") == "http.response.start":
                status.append(int(message.get("status", 0)))
            elif endpoint is not None and message.get("type") == "http.response.body":
                answer_parts.append(bytes(message.get("body", b"")))
            await send(message)

        await self.app(scope, recv, snd)
        code_status = status[0] if status else 0
        if code_status == 429:
            named = ENDPOINT_BY_PATH.get(path)
            self.log.add_429(
                RateLimitedAnswer(
                    self.log.next_seq(), self._wall(), named.key if named else None, account
                )
            )
        if endpoint is not None:
            self._record(endpoint, account, b"".join(body_parts), b"".join(answer_parts))

    def _account(self, scope: Mapping[str, Any]) -> str | None:
        for name, value in scope.get("headers", []):
            if bytes(name).lower() == b"access-key":
                return self._account_of.get(bytes(value).decode("latin-1").strip())
        return None

    def _record(self, endpoint: Endpoint, account: str | None, raw: bytes, answer: bytes) -> None:
        body = _json(raw)
        reply = _json(answer)
        # A cancel names other orders (theirs are not the call's own ids).
        cancel = "cancel" in endpoint.name
        code = str(reply.get("code")) if isinstance(reply, dict) else "?"
        data = reply.get("data") if isinstance(reply, dict) else None
        params = (
            {k: str(body[k]) for k in COPIED if k in body and body[k] is not None}
            if isinstance(body, dict)
            else {}
        )
        self.log.add_call(
            ProtectiveCall(
                seq=self.log.next_seq(),
                at=self._wall(),
                market_ms=self._market_ms(),
                account=account,
                endpoint=endpoint.key,
                accepted=code == SUCCESS,
                code=code,
                client_oids=() if cancel else _oids(body, data),
                ref=_ref(data) if code == SUCCESS and not cancel else None,
                params=params,
            )
        )

    async def _serve_json(self, scope: Mapping[str, Any], send: Any, path: str) -> None:
        if path == CALLS_PATH:
            since = 0
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            for part in query.split("&"):
                if part.startswith("since="):
                    try:
                        since = int(part[len("since=") :])
                    except ValueError:
                        since = 0
            payload: object = self.log.to_json(since)
        else:
            payload = {"accounts": self._liquidations()}
        body = json.dumps(payload, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def liquidations_of(sim: Simulator) -> dict[str, list[dict[str, object]]]:
    """Every account's liquidations (market time), for ``GET /_sim/liquidations``."""
    out: dict[str, list[dict[str, object]]] = {}
    for name in sim.control.accounts():
        state = sim.control.state(name)
        out[name] = [
            {
                "liqId": x.liq_id,
                "scope": x.scope,
                "timeMs": x.time_ms,
                "riskRate": str(x.risk_rate),
            }
            for x in state.liquidations
        ]
    return out


def recorded_app(sim: Simulator, keys: Mapping[str, SimKeys], log: CallLog) -> CallRecorder:
    """``sim.app`` wrapped in a :class:`CallRecorder` that knows the accounts of ``keys``."""
    return CallRecorder(
        sim.app,
        log,
        {k.api_key: name for name, k in keys.items()},
        lambda: sim.clock.now_ms(),
        lambda: liquidations_of(sim),
    )


__all__ = [
    "CALLS_PATH",
    "LIQUIDATIONS_PATH",
    "PROTECTIVE_BY_PATH",
    "CallLog",
    "CallRecorder",
    "ProtectiveCall",
    "RateLimitedAnswer",
    "liquidations_of",
    "recorded_app",
]
