"""The control surface: move time, set prices, inject faults, read the true state.

In process as :class:`Control` (``sim.control``); over HTTP under ``/_sim/`` (JSON, never under
``/api/``) for ``riskd sim serve`` users:

- ``GET  /_sim/state?account=NAME`` → the account's true state
- ``GET  /_sim/stats``, ``GET /_sim/prices``
- ``POST /_sim/advance`` ``{"seconds": 60}`` (manual clock only)
- ``POST /_sim/price`` ``{"symbol": "BTCUSDT", "price": "20000"}`` (``"price": null`` releases)
- ``POST /_sim/faults`` ``{FaultSpec fields}`` → ``{"id": n}``; ``DELETE /_sim/faults`` clears
- ``POST /_sim/rate-limits`` ``{"enabled": false}``
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from riskd.amounts import fmt8
from riskd.clock import ManualClock
from riskd.sim.errors import SimError
from riskd.sim.exchange import Exchange
from riskd.sim.faults import Faults, FaultSpec, fault_from_mapping
from riskd.sim.ratelimit import RateLimiter
from riskd.sim.state import AccountState, SimStats, account_state


class Control:
    """Test and demo levers over one simulator."""

    def __init__(
        self,
        exchange: Exchange,
        faults: Faults,
        limiter: RateLimiter,
        lock: threading.RLock,
        stats: Callable[[], SimStats],
    ) -> None:
        self._ex = exchange
        self._faults = faults
        self._limiter = limiter
        self._lock = lock
        self._stats = stats

    def advance(self, seconds: float) -> None:
        """Move the manual clock and run every time-driven process up to the new now."""
        clock = self._ex.clock
        if not isinstance(clock, ManualClock):
            raise TypeError(
                f"advance() needs a ManualClock; this simulator runs on {clock!r} "
                "(its time moves by itself)"
            )
        with self._lock:
            clock.advance(seconds)
            self._ex.catch_up()

    def catch_up(self) -> None:
        """Run the time-driven processes up to the clock's now (what each request does)."""
        with self._lock:
            self._ex.catch_up()

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Pin ``symbol``'s index price (its scenario path no longer applies)."""
        with self._lock:
            self._ex.catch_up()
            self._ex.market.set_price(symbol, price)
            self._ex.catch_up_now()

    def release_price(self, symbol: str) -> None:
        with self._lock:
            self._ex.market.release_price(symbol)
            self._ex.catch_up_now()

    def inject_fault(self, spec: FaultSpec) -> int:
        with self._lock:
            return self._faults.add(spec)

    def remove_fault(self, fault_id: int) -> None:
        with self._lock:
            self._faults.remove(fault_id)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_rate_limits(self, enabled: bool) -> None:
        with self._lock:
            self._limiter.enabled = enabled
            self._limiter.reset()

    def state(self, account: str) -> AccountState:
        with self._lock:
            self._ex.catch_up()
            return account_state(self._ex, self._ex.account(account))

    def accounts(self) -> list[str]:
        return list(self._ex.accounts)

    def prices(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self._ex.prices())

    def stats(self) -> SimStats:
        return self._stats()


# ---------------------------------------------------------------------------- HTTP
def _bad(text: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"ok": False, "error": text}, status_code=status)


async def _json(request: Request) -> dict[str, object]:
    try:
        value = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def control_routes(control: Control) -> list[BaseRoute]:
    async def state(request: Request) -> JSONResponse:
        name = request.query_params.get("account")
        if not name:
            return JSONResponse({"ok": True, "accounts": control.accounts()})
        try:
            return JSONResponse(control.state(name).to_json())
        except KeyError as exc:
            return _bad(str(exc), 404)

    async def stats(request: Request) -> JSONResponse:
        s = control.stats()
        return JSONResponse(
            {
                "requests": dict(s.requests),
                "totalRequests": s.total_requests,
                "rateLimited": s.rate_limited,
                "errors": s.errors,
                "faults": s.faults,
                "liquidations": s.liquidations,
                "flashRepays": s.flash_repays,
            }
        )

    async def prices(request: Request) -> JSONResponse:
        return JSONResponse({k: fmt8(v) for k, v in control.prices().items()})

    async def advance(request: Request) -> JSONResponse:
        try:
            body = await _json(request)
            control.advance(float(str(body.get("seconds", 0))))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return JSONResponse({"ok": True})

    async def price(request: Request) -> JSONResponse:
        try:
            body = await _json(request)
            symbol = str(body["symbol"])
            if body.get("price") is None:
                control.release_price(symbol)
            else:
                control.set_price(symbol, Decimal(str(body["price"])))
        except (ValueError, TypeError, KeyError, InvalidOperation, SimError) as exc:
            return _bad(f"{type(exc).__name__}: {exc}")
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            control.clear_faults()
            return JSONResponse({"ok": True})
        try:
            body = await _json(request)
            spec = fault_from_mapping(body)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return JSONResponse({"ok": True, "id": control.inject_fault(spec)})

    async def rate_limits(request: Request) -> JSONResponse:
        try:
            body = await _json(request)
        except ValueError as exc:
            return _bad(str(exc))
        control.set_rate_limits(bool(body.get("enabled", True)))
        return JSONResponse({"ok": True})

    return [
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/prices", prices, methods=["GET"]),
        Route("/_sim/advance", advance, methods=["POST"]),
        Route("/_sim/price", price, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["POST", "DELETE"]),
        Route("/_sim/rate-limits", rate_limits, methods=["POST"]),
    ]
