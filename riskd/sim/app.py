"""The ASGI app: one route per endpoint of :mod:`riskd.bitget.endpoints` (v1 and v2 side by
side, over one ledger), the control surface under ``/_sim/``, the WebSocket streams (v1
``/spot/v1/stream``, v2 ``/v2/ws/public`` and ``/v2/ws/private``), and 40404 for everything else.

v2 answers with the same envelope; its handlers live in ``handlers_v2_*``. Rate windows are
counted per version (``Endpoint.key``); a Unified Trading Account gets 40085 from every signed
classic endpoint of either version.

A request goes through: route (unknown path → 40404, wrong method → 40404 naming the right
one) → catch-up of market time → faults (latency; 5xx, 429 storm and maintenance refuse before
execution) → IP rate windows → authentication (signed endpoints) → body / query → UID rate
windows (batch orders weigh one per ten orders) → parameters → handler → envelope (timeouts and
malformed bodies happen after execution).

Unknown paths answer HTTP 400 with ``40404 Request URL NOT FOUND``: the document lists 40404,
like every error code, with HTTP status 400, and the document is the contract we simulate.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from riskd.bitget.codes import SUCCESS
from riskd.bitget.endpoints import ALL_ENDPOINTS, ENDPOINTS, ENDPOINTS_V2, ENDPOINTS_V3, Endpoint
from riskd.sim.errors import SimError
from riskd.sim.handlers_account import HANDLERS as ACCOUNT
from riskd.sim.handlers_common import Ctx, Handler, TopLevel
from riskd.sim.handlers_orders import HANDLERS as ORDERS
from riskd.sim.handlers_public import HANDLERS as PUBLIC
from riskd.sim.handlers_records import HANDLERS as RECORDS
from riskd.sim.handlers_v2_account import HANDLERS as V2_ACCOUNT
from riskd.sim.handlers_v2_orders import HANDLERS as V2_ORDERS
from riskd.sim.handlers_v2_public import HANDLERS as V2_PUBLIC
from riskd.sim.handlers_v2_records import HANDLERS as V2_RECORDS
from riskd.sim.handlers_v3 import HANDLERS as HANDLERS_V3
from riskd.sim.handlers_v3 import account_mode_error
from riskd.sim.host import SimHost
from riskd.sim.params import Params, parse_body, parse_query
from riskd.sim.ratelimit import batch_weight, ip_buckets, uid_buckets

log = logging.getLogger(__name__)

HANDLERS: dict[str, Handler] = {**PUBLIC, **ACCOUNT, **ORDERS, **RECORDS}
HANDLERS_V2: dict[str, Handler] = {**V2_PUBLIC, **V2_ACCOUNT, **V2_ORDERS, **V2_RECORDS}
_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

missing = [e.name for e in ENDPOINTS if e.name not in HANDLERS]
missing += [e.key for e in ENDPOINTS_V2 if e.name not in HANDLERS_V2]
missing += [e.key for e in ENDPOINTS_V3 if e.name not in HANDLERS_V3]
if missing:  # pragma: no cover - guarded by a test as well
    raise RuntimeError(f"simulator has no handler for {missing}")


def handler_for(endpoint: Endpoint) -> Handler:
    """The handler of ``endpoint`` in its API version."""
    if endpoint.api == "v3":
        return HANDLERS_V3[endpoint.name]
    return (HANDLERS if endpoint.api == "v1" else HANDLERS_V2)[endpoint.name]


def _dumps(payload: Mapping[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def envelope(data: object, request_ms: int) -> bytes:
    payload: dict[str, object] = {"code": SUCCESS, "msg": "success", "requestTime": request_ms}
    if isinstance(data, TopLevel):
        payload["data"] = data.data
        payload.update(data.extra)
    else:
        payload["data"] = data
    return _dumps(payload)


def error_response(exc: SimError, request_ms: int) -> Response:
    body = _dumps({"code": exc.code, "msg": exc.msg, "requestTime": request_ms, "data": None})
    return Response(body, status_code=exc.status, media_type="application/json")


def too_many(request_ms: int) -> Response:
    body = _dumps(
        {"code": "429", "msg": "Too Many Requests", "requestTime": request_ms, "data": None}
    )
    return Response(body, status_code=429, media_type="application/json")


class Pipeline:
    """Runs one request through faults, limits, auth, parameters and the handler."""

    def __init__(self, sim: SimHost) -> None:
        self.sim = sim

    async def __call__(self, endpoint: Endpoint, request: Request) -> Response:
        sim = self.sim
        with sim.lock:
            sim.counters.requests[endpoint.name] += 1
            sim.exchange.catch_up()
            decision = sim.faults.decide(endpoint.name, sim.exchange.elapsed())
        if decision.latency_s > 0:
            await self._market_sleep(decision.latency_s)
        server_ms = sim.server_time_ms()
        if decision.rejects:
            sim.counters.faults += 1
            if decision.error_status is not None:
                return PlainTextResponse("Service Unavailable", decision.error_status)
            if decision.rate_limited:
                sim.counters.rate_limited += 1
                return too_many(server_ms)
            return self._error(SimError("40200"), server_ms)
        if request.method != endpoint.method:
            detail = f"{endpoint.path} takes {endpoint.method}, not {request.method}"
            return self._error(SimError("40404", detail=detail), server_ms)
        body = await request.body()
        try:
            response = self._run(endpoint, request, body, server_ms)
        except SimError as exc:
            return self._error(exc, server_ms)
        if response.status_code == 200 and decision.timeout_s is not None:
            sim.counters.faults += 1
            await self._market_sleep(decision.timeout_s)
            return PlainTextResponse("Gateway Time-out", 504)
        if response.status_code == 200 and decision.malformed:
            sim.counters.faults += 1
            text = bytes(response.body)
            return Response(text[: len(text) // 2], 200, media_type="application/json")
        return response

    async def _market_sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the event loop's time: virtual in the demo (the same market-time
        latency at any speed), real with a manual clock (so tests can time out on it)."""
        await asyncio.sleep(max(0.0, seconds))

    def _error(self, exc: SimError, server_ms: int) -> Response:
        self.sim.counters.errors += 1
        return error_response(exc, server_ms)

    def _run(self, endpoint: Endpoint, request: Request, body: bytes, server_ms: int) -> Response:
        sim = self.sim
        ip = request.client.host if request.client else "unknown"
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
        query = request.scope.get("query_string", b"").decode("latin-1")
        with sim.lock:
            if not sim.limiter.allow(ip_buckets(endpoint, ip)):
                sim.counters.rate_limited += 1
                return too_many(server_ms)
            account = None
            if endpoint.signed:
                cred = sim.auth.verify(
                    request.headers, request.method, path, query, body, server_ms
                )
                account = sim.exchange.account(cred.account)
                mode_error = account_mode_error(endpoint, account)
                if mode_error is not None:
                    raise mode_error
            if endpoint.method == "POST":
                content_type = request.headers.get("content-type", "")
                if "application/json" not in content_type.lower():
                    raise SimError("40007", detail="POST bodies are application/json")
                raw = parse_body(body)
            else:
                raw = parse_query(query)
            if account is not None and not sim.limiter.allow(
                uid_buckets(endpoint, account.uid), batch_weight(endpoint, raw)
            ):
                sim.counters.rate_limited += 1
                return too_many(server_ms)
            params = Params(endpoint, raw)
            ctx = Ctx(sim.exchange, endpoint, params, account, sim.exchange.now(), server_ms)
            try:
                data = handler_for(endpoint)(ctx)
            except SimError:
                raise
            except Exception:
                log.exception("simulator bug while answering %s", endpoint.name)
                raise SimError("40015", status=500) from None
        return Response(envelope(data, server_ms), 200, media_type="application/json")


def _route(pipeline: Pipeline, endpoint: Endpoint) -> Route:
    async def handle(request: Request) -> Response:
        return await pipeline(endpoint, request)

    return Route(endpoint.path, handle, methods=_ALL_METHODS, name=endpoint.key)


def build_app(
    sim: SimHost,
    extra_routes: list[BaseRoute],
    websocket: Callable[..., Awaitable[None]] | None = None,
    websockets_v2: Mapping[str, Callable[..., Awaitable[None]]] | None = None,
) -> Starlette:
    pipeline = Pipeline(sim)

    async def not_found(request: Request) -> Response:
        sim.counters.requests["unknown"] += 1
        return pipeline._error(SimError("40404", detail=request.url.path), sim.server_time_ms())

    routes: list[BaseRoute] = [_route(pipeline, e) for e in ALL_ENDPOINTS]
    routes.extend(extra_routes)
    if websocket is not None:
        routes.append(WebSocketRoute("/spot/v1/stream", websocket))
    for path, ws_endpoint in (websockets_v2 or {}).items():
        routes.append(WebSocketRoute(path, ws_endpoint))
    routes.append(Route("/{path:path}", not_found, methods=_ALL_METHODS))
    return Starlette(routes=routes)
