"""The control surface: move time, set prices, inject faults, read the true state.

In process as :class:`Control` (``sim.control``); over HTTP under ``/_sim/`` (JSON, never under
``/api/``) for ``riskd sim serve`` users:

- ``GET  /_sim/state?account=NAME`` → the account's true state
- ``GET  /_sim/stats``, ``GET /_sim/prices``
- ``POST /_sim/advance`` ``{"seconds": 60}`` (manual clock only)
- ``POST /_sim/price`` ``{"symbol": "BTCUSDT", "price": "20000"}`` (``"price": null`` releases)
- ``POST /_sim/faults`` ``{FaultSpec fields}`` → ``{"id": n}``; ``DELETE /_sim/faults`` clears
- ``POST /_sim/rate-limits`` ``{"enabled": false}``
- ``POST /_sim/crash`` ``{"scenario": "default"}`` or ``{"change": "-0.3", "over_s": 60}``
  (:mod:`riskd.sim.crash`): new price paths from now → ``{symbols, startsAtMs, endsAtMs, …}``
- ``POST /_sim/feed`` ``{"stop_s": 30, "symbols": ["BTCUSDT"]}``: the index feed stops for
  that long from now (the market moves on); ``DELETE /_sim/feed`` ends every feed stop
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from riskd.amounts import fmt8
from riskd.clock import ManualClock
from riskd.sim.crash import CrashRequest, crash_from_mapping, plan_crash
from riskd.sim.errors import SimError
from riskd.sim.exchange import Exchange
from riskd.sim.faults import Faults, FaultSpec, fault_from_mapping
from riskd.sim.market import FeedStop
from riskd.sim.ratelimit import RateLimiter
from riskd.sim.state import AccountState, SimStats, account_state


@dataclass(frozen=True, slots=True)
class CrashStarted:
    """A crash on request: which symbols move from when to when (market time)."""

    symbols: tuple[str, ...]
    skipped: tuple[str, ...]
    starts_at_s: float
    ends_at_s: float
    source: str

    def to_json(self) -> dict[str, object]:
        return {
            "ok": True,
            "symbols": list(self.symbols),
            "skipped": list(self.skipped),
            "startsAtMs": round(self.starts_at_s * 1000),
            "endsAtMs": round(self.ends_at_s * 1000),
            "seconds": self.ends_at_s - self.starts_at_s,
            "source": self.source,
        }


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
            self._ex.market.set_price(symbol, price, now_s=self._ex.now())
            self._ex.catch_up_now()

    def release_price(self, symbol: str) -> None:
        with self._lock:
            self._ex.market.release_price(symbol, now_s=self._ex.now())
            self._ex.catch_up_now()

    def crash(self, request: CrashRequest) -> CrashStarted:
        """Start ``request``'s price paths now (see :mod:`riskd.sim.crash`); a bad request or
        scenario raises ``ValueError`` naming what is wrong."""
        with self._lock:
            plan = plan_crash(request, self._ex.market.symbols)
            now = self._ex.now()
            ends = self._ex.start_paths(plan.paths)
            return CrashStarted(tuple(plan.paths), plan.skipped, now, ends, plan.source)

    def stop_feed(self, seconds: float, symbols: tuple[str, ...] = ()) -> FeedStop:
        """The index feed of ``symbols`` (none = all) stops for ``seconds`` from now."""
        if not seconds > 0:
            raise ValueError(f"stop_s: {seconds:g} must be > 0 seconds")
        with self._lock:
            unknown = [s for s in symbols if s not in self._ex.market.symbols]
            if unknown:
                raise ValueError(f"symbols: {', '.join(unknown)} not in this market")
            self._ex.catch_up()
            start = self._ex.elapsed()
            stop = FeedStop(start, start + seconds, symbols)
            self._ex.market.feed_stops.append(stop)
            return stop

    def resume_feed(self) -> None:
        """End every feed stop (scenario ones included) from now on."""
        with self._lock:
            self._ex.catch_up()
            now = self._ex.elapsed()
            stops = self._ex.market.feed_stops
            stops[:] = [s for s in stops if s.end_s <= now]

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
        value = json.loads(await request.body() or b"{}", parse_float=Decimal)
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

    async def crash(request: Request) -> JSONResponse:
        try:
            started = control.crash(crash_from_mapping(await _json(request)))
        except (ValueError, SimError) as exc:
            return _bad(str(exc))
        return JSONResponse(started.to_json())

    async def feed(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            control.resume_feed()
            return JSONResponse({"ok": True})
        try:
            body = await _json(request)
            unknown = sorted(set(body) - {"stop_s", "symbols"})
            if unknown:
                raise ValueError(f"unknown field(s) {unknown} (allowed: stop_s, symbols)")
            seconds = float(Decimal(str(body["stop_s"])))
            symbols = body.get("symbols", [])
            if not isinstance(symbols, list) or not all(isinstance(x, str) for x in symbols):
                raise ValueError(f"symbols: expected a list of symbols, got {symbols!r}")
            stop = control.stop_feed(seconds, tuple(symbols))
        except KeyError:
            return _bad("stop_s: missing (seconds the feed stops for)")
        except (ValueError, InvalidOperation) as exc:
            return _bad(f"{type(exc).__name__}: {exc}")
        return JSONResponse({"ok": True, "startS": stop.start_s, "endS": stop.end_s})

    return [
        Route("/_sim/crash", crash, methods=["POST"]),
        Route("/_sim/feed", feed, methods=["POST", "DELETE"]),
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/prices", prices, methods=["GET"]),
        Route("/_sim/advance", advance, methods=["POST"]),
        Route("/_sim/price", price, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["POST", "DELETE"]),
        Route("/_sim/rate-limits", rate_limits, methods=["POST"]),
    ]
