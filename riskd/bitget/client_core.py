"""The transport core of :class:`riskd.bitget.client.BitgetClient`: one request, done right.

A client speaks one API version (``api="v1"`` or ``"v2"``, chosen per client). Endpoints are
named by their logical name, the same in both versions (``cross_risk_rate``); the table of
the client's version gives the path, method and limit. The typed methods' parameters go
through :func:`riskd.bitget.client_params.for_endpoint` first.

For every call: look the endpoint up in the table, encode its parameters
(:mod:`riskd.bitget.wire`), make sure the server clock offset is fresh (signed calls), pass
the rate gate, send (signing happens in :class:`~riskd.bitget.auth.BitgetAuth`), and map the
answer (:mod:`riskd.bitget.errors`). Around that sit two recovery rules:

Clock errors (40004 / 40005 / 40008)
    The offset is remeasured and the request is sent once more, with a fresh timestamp and
    signature. This holds for POSTs that move money too: Bitget checks the timestamp while
    authenticating the request, before any business logic runs, so a request refused for its
    timestamp did nothing at the exchange and sending it again cannot do the action twice.

Transient failures (unavailable, 5xx, timeouts, unreadable answers, 429)
    Retried with capped exponential backoff and jitter, waiting on the injected clock, but
    only for endpoints that change nothing (``not Endpoint.mutating``: GETs and the POST
    reads riskRate, maxBorrowableAmount, queryFlashRepayStatus). A mutating POST (borrow,
    repay, flash repay, orders) is never retried here: after a timeout it may have happened,
    and only the caller, after re-reading the account, can decide to send it again.
"""

from __future__ import annotations

import difflib
import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from riskd.bitget.auth import CONTENT_TYPE, BitgetAuth
from riskd.bitget.client_params import for_endpoint
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoint_types import Api
from riskd.bitget.endpoints import Endpoint, endpoints
from riskd.bitget.endpoints import server_time as server_time_endpoint
from riskd.bitget.errors import (
    AuthenticationError,
    ClockSkewError,
    ExchangeUnavailableError,
    MalformedResponseError,
    RateLimitedError,
    RequestParamError,
    RiskdExchangeError,
    check_response,
    retry_after_seconds,
    transport_error,
)
from riskd.bitget.gate import OpenGate, RequestGate, current_priority
from riskd.bitget.models import Page, page_payload
from riskd.bitget.server_clock import ServerClock
from riskd.bitget.wire import encode
from riskd.clock import Clock, WallClock

log = logging.getLogger("riskd.bitget.client")

DEFAULT_BASE_URL = "https://api.bitget.com"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How non-mutating calls retry transient failures.

    The n-th retry waits ``min(max_delay_s, base_delay_s * 2**n)`` minus up to ``jitter`` of
    it at random, and at least the server's ``Retry-After``. A ``Retry-After`` longer than
    ``max_retry_after_s`` is not waited for: the error is raised.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    jitter: float = 0.5
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be within [0, 1]")

    def delay(
        self, retry_index: int, rng: random.Random, retry_after: float | None = None
    ) -> float | None:
        """Seconds to wait before retry number ``retry_index`` (0-based), or None: give up."""
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return None
        raw = min(self.max_delay_s, self.base_delay_s * (2.0**retry_index))
        wait = raw * (1.0 - self.jitter * rng.random())
        return max(wait, retry_after or 0.0)


NO_RETRY = RetryPolicy(max_attempts=1)

_CAMEL = re.compile(r"_([a-z0-9])")


def wire_name(snake: str) -> str:
    """``repay_amount`` → ``repayAmount`` (the document's parameter names)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), snake)


def wire(**params: object) -> dict[str, object]:
    """Keyword arguments with snake_case names as a dict of wire names (None dropped later)."""
    return {wire_name(k): v for k, v in params.items()}


def resolve_endpoint(endpoint: Endpoint | str, api: Api = "v1") -> Endpoint:
    """The table entry for ``endpoint`` (an Endpoint, or its name in ``api``'s table), or a
    clear error."""
    if isinstance(endpoint, Endpoint):
        return endpoint
    table = {e.name: e for e in endpoints(api)}
    ep = table.get(endpoint)
    if ep is None:
        close = difflib.get_close_matches(endpoint, list(table), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise RequestParamError(f"no endpoint named {endpoint!r} in API {api}{hint}")
    return ep


def _validation_summary(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(x) for x in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors()[:3]
    ]
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


def _accepts_list(model: type[BaseModel], data: list[Any]) -> bool:
    """A one-element list is read as its object where the model allows it (``one_row``)."""
    return bool(getattr(model, "one_row", False)) and len(data) == 1


class ClientCore:
    """Requests, retries, clock offset and response parsing; no endpoint methods."""

    def __init__(
        self,
        credentials: Credentials | None,
        *,
        http: httpx.AsyncClient | None = None,
        base_url: str = DEFAULT_BASE_URL,
        gate: RequestGate | None = None,
        clock: Clock | None = None,
        locale: str = "en-US",
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        clock_refresh_s: float = 300.0,
        sync_clock: bool = True,
        rng: random.Random | None = None,
        api: Api = "v1",
        server_clock: ServerClock | None = None,
    ) -> None:
        if api not in ("v1", "v2"):
            raise ValueError(f"api must be 'v1' or 'v2', not {api!r}")
        self.api: Api = api
        self._table = {e.name: e for e in endpoints(api)}
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient()
        self._base_url = base_url.rstrip("/")
        self._gate: RequestGate = gate if gate is not None else OpenGate()
        self._clock: Clock = clock if clock is not None else WallClock()
        self._locale = locale
        self._retry = retry if retry is not None else RetryPolicy()
        self._timeout = httpx.Timeout(timeout_s)
        self._sync_clock = sync_clock
        self._rng = rng if rng is not None else random.Random()
        # The offset is between this host and the exchange, not per key: a daemon with many
        # accounts passes one ServerClock to all its clients (one time read a node, not one per
        # account, which would spend the 20/s IP limit at start and at every refresh).
        self._server_clock = (
            server_clock
            if server_clock is not None
            else ServerClock(self._clock, self._fetch_server_ms, refresh_interval_s=clock_refresh_s)
        )
        self._auth = (
            BitgetAuth(credentials, self._server_clock.now_ms, locale=locale)
            if credentials is not None
            else None
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def server_clock(self) -> ServerClock:
        return self._server_clock

    @property
    def base_url(self) -> str:
        return self._base_url

    async def start(self) -> None:
        """Measure the server clock offset (signed clients); a failure is logged, not raised."""
        if self._auth is not None and self._sync_clock:
            await self._server_clock.ensure_fresh()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it (a passed-in one is the caller's)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        auth = repr(self._auth) if self._auth is not None else "unsigned"
        return f"{type(self).__name__}(api={self.api}, base_url={self._base_url!r}, auth={auth})"

    # ------------------------------------------------------------------ generic calls

    async def call(
        self, endpoint: Endpoint | str, params: Mapping[str, object] | None = None
    ) -> Any:
        """Call ``endpoint`` with wire-named ``params``; return the answer's raw ``data``."""
        return (await self.request(endpoint, params)).get("data")

    async def request(
        self, endpoint: Endpoint | str, params: Mapping[str, object] | None = None
    ) -> dict[str, Any]:
        """Call ``endpoint``; return the whole decoded answer (``code``, ``msg``, ``data``...)."""
        ep = resolve_endpoint(endpoint, self.api)
        query, body = encode(ep, params or {})
        if ep.signed:
            if self._auth is None:
                raise AuthenticationError(
                    "no API credentials configured for a signed endpoint", endpoint=ep.name
                )
            if self._sync_clock:
                await self._server_clock.ensure_fresh()
        return await self._with_retries(ep, query, body)

    async def server_time(self) -> int:
        """The exchange's time in milliseconds: v1 ``GET /api/spot/v1/public/time`` (a bare
        number), v2 ``GET /api/v2/public/time`` (``{"serverTime": "<ms>"}``); either shape is
        read from either."""
        ep = server_time_endpoint(self.api)
        data = (await self.request(ep)).get("data")
        if isinstance(data, Mapping):
            data = data.get("serverTime")
        if isinstance(data, bool) or not isinstance(data, (int, str)) or not str(data).isdigit():
            raise MalformedResponseError(
                f"server time (field serverTime) is {data!r}, not milliseconds",
                endpoint=f"{ep.name} ({ep.method} {ep.path})",
            )
        return int(data)

    async def _fetch_server_ms(self) -> int:
        return await self.server_time()

    # ------------------------------------------------------------------ sending

    async def _with_retries(self, ep: Endpoint, query: str, body: bytes) -> dict[str, Any]:
        retries = 0
        resynced = False
        while True:
            try:
                return await self._attempt(ep, query, body)
            except ClockSkewError as exc:
                if resynced or not ep.signed or not self._sync_clock:
                    raise
                resynced = True
                log.warning("%s: clock error %s; resyncing and retrying once", ep.name, exc.code)
                try:
                    await self._server_clock.resync()
                except RiskdExchangeError as sync_exc:
                    raise exc from sync_exc
            except (ExchangeUnavailableError, RateLimitedError) as exc:
                if ep.mutating or retries + 1 >= self._retry.max_attempts:
                    raise
                retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
                delay = self._retry.delay(retries, self._rng, retry_after)
                if delay is None:
                    raise
                retries += 1
                log.info("%s; retry %d in %.2fs", exc, retries, delay)
                await self._clock.sleep(delay)

    async def _attempt(self, ep: Endpoint, query: str, body: bytes) -> dict[str, Any]:
        url = f"{self._base_url}{ep.path}?{query}" if query else f"{self._base_url}{ep.path}"
        request = self._http.build_request(
            ep.method,
            url,
            content=body if ep.method == "POST" else None,
            headers={"Content-Type": CONTENT_TYPE, "locale": self._locale},
            timeout=self._timeout,
        )
        await self._gate.acquire(ep, current_priority())
        status: int | None = None
        retry_after: float | None = None
        try:
            try:
                response = await self._http.send(request, auth=self._auth if ep.signed else None)
            except httpx.RequestError as exc:
                # Not chained: the mapped error carries the (redacted) text already, and the
                # original's traceback frames hold the request, headers included.
                raise transport_error(exc, endpoint=ep.name, mutating=ep.mutating) from None
            status = response.status_code
            retry_after = retry_after_seconds(response.headers)
            log.debug("%s %s -> HTTP %d", ep.method, ep.path, status)
            return check_response(response, endpoint=ep.name, mutating=ep.mutating)
        finally:
            self._gate.release(ep, status, retry_after)

    # ------------------------------------------------------------------ typed helpers

    def _endpoint(self, name: str) -> Endpoint:
        return resolve_endpoint(name, self.api)

    def _malformed(self, name: str, detail: str) -> MalformedResponseError:
        """A clear error naming the endpoint (with its path) and the field at fault."""
        ep = self._endpoint(name)
        return MalformedResponseError(
            f"data does not match the document: {detail}",
            endpoint=f"{name} ({ep.method} {ep.path})",
            outcome_unknown=ep.mutating,
        )

    async def _typed(self, name: str, params: Mapping[str, object]) -> dict[str, Any]:
        ep = self._endpoint(name)
        return await self.request(ep, for_endpoint(ep, params, now_ms=self._server_clock.now_ms()))

    async def _one(self, name: str, model: type[M], params: Mapping[str, object]) -> M:
        envelope = await self._typed(name, params)
        data = envelope.get("data")
        if isinstance(data, list) and not _accepts_list(model, data):
            raise self._malformed(name, f"data: expected an object, got a list of {len(data)}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self._malformed(name, _validation_summary(exc)) from None

    async def _many(self, name: str, model: type[M], params: Mapping[str, object]) -> tuple[M, ...]:
        envelope = await self._typed(name, params)
        data = envelope.get("data")
        if data is None:
            return ()
        if not isinstance(data, list):
            raise self._malformed(name, f"data: expected a list, got {type(data).__name__}")
        try:
            return tuple(model.model_validate(item) for item in data)
        except ValidationError as exc:
            raise self._malformed(name, _validation_summary(exc)) from None

    async def _page(self, name: str, model: type[M], params: Mapping[str, object]) -> Page[M]:
        envelope = await self._typed(name, params)
        try:
            return Page[model].model_validate(page_payload(envelope))  # type: ignore[valid-type]
        except ValidationError as exc:
            raise self._malformed(name, _validation_summary(exc)) from None
        except ValueError as exc:
            raise self._malformed(name, str(exc)) from None
