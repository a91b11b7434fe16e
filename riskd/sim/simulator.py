"""The simulated Bitget margin exchange, in one object.

    sim = Simulator(clock=ManualClock(), scenario=None | Scenario | "default" | path, seed=0)
    keys = sim.add_account("alice")            # funded by the scenario's funding
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    sim.control.advance(60)                     # ManualClock only
    sim.control.set_price("BTCUSDT", Decimal("20000"))
    sim.control.inject_fault(FaultSpec(error_rate=0.5, endpoints=("cross_assets",)))
    sim.control.crash(CrashRequest(change=Decimal("-0.3"), over_s=60))   # a crash from now
    sim.control.state("alice").scope("cross").risk_rate

Two clocks: the *protocol* clock (server time, the 30 s timestamp window) is the wall clock
plus any clock-skew fault; *market* time (prices, interest, flash repay, record times) follows
the injected ``clock``, which may be virtual and faster than the wall.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from starlette.applications import Starlette

from riskd.clock import Clock, ManualClock, WallClock
from riskd.sim.app import build_app
from riskd.sim.auth import Authenticator, Credential, load_rsa_public_key
from riskd.sim.control import Control, control_routes
from riskd.sim.exchange import Exchange
from riskd.sim.faults import Faults
from riskd.sim.ratelimit import RateLimiter
from riskd.sim.scenario import Funding, Scenario, flat_scenario, load_scenario
from riskd.sim.state import Counters, SimStats
from riskd.sim.ws import stream_endpoint
from riskd.sim.ws_v2 import stream_endpoints_v2
from riskd.sim.ws_v3 import stream_endpoints_v3


@dataclass(frozen=True, slots=True)
class SimKeys:
    """Credentials of a simulated account (the secret parts stay out of the repr)."""

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    account: str = ""


class Simulator:
    """A strict in-process Bitget margin API (v1 and v2 over one ledger) with accounts, market,
    faults and controls."""

    def __init__(
        self,
        clock: Clock | None = None,
        scenario: Scenario | str | Path | None = None,
        seed: int = 0,
        *,
        protocol_clock: Clock | None = None,
        monotonic: Callable[[], float] | None = None,
        rate_limits: bool = True,
        tick_s: float = 1.0,
    ) -> None:
        self.clock: Clock = clock if clock is not None else ManualClock()
        if scenario is None:
            scenario = flat_scenario()
        elif not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        self.scenario = scenario
        self.seed = seed
        self.protocol_clock: Clock = protocol_clock if protocol_clock is not None else WallClock()
        self.lock = threading.RLock()
        self.exchange = Exchange(self.clock, scenario, seed, tick_s)
        self.faults = Faults(seed=scenario.seed * 1_000_003 + seed)
        for spec in scenario.faults:
            self.faults.add(spec)
        self.limiter = (
            RateLimiter(monotonic, rate_limits) if monotonic else RateLimiter(enabled=rate_limits)
        )
        self.auth = Authenticator()
        self.counters = Counters()
        self._keys: dict[str, SimKeys] = {}
        self.control = Control(self.exchange, self.faults, self.limiter, self.lock, self._stats)
        self._app: Starlette | None = None
        #: Wall seconds between WebSocket v2 pushes (index prices, account and order updates).
        self.ws_push_interval_s = 1.0

    # ------------------------------------------------------------------ wiring
    @property
    def app(self) -> Starlette:
        """The ASGI app (for ``httpx.ASGITransport(app=sim.app)`` or uvicorn)."""
        if self._app is None:
            self._app = build_app(
                self,
                control_routes(self.control),
                stream_endpoint(self),
                {**stream_endpoints_v2(self), **stream_endpoints_v3(self)},
            )
        return self._app

    def server_time_ms(self) -> int:
        """The protocol clock: wall time plus any active clock-skew fault, in ms."""
        skew = self.faults.skew_s(self.exchange.elapsed())
        return self.protocol_clock.now_ms() + round(skew * 1000)

    # ------------------------------------------------------------------ accounts
    def add_account(
        self,
        name: str,
        api_key: str | None = None,
        secret: str | None = None,
        passphrase: str | None = None,
        rsa_public_key_pem: str | None = None,
        funding: Funding | None = None,
        unified: bool | None = None,
    ) -> SimKeys:
        """Open an account and register its key. Funding: ``funding``, else the scenario's
        setup for ``name`` (funding and positions), else the scenario's default funding.
        ``unified`` (default: the scenario's setting) makes it a Unified Trading Account."""
        keys = SimKeys(
            api_key=api_key or "bg_" + secrets.token_hex(16),
            secret=secret or secrets.token_hex(32),
            passphrase=passphrase or secrets.token_urlsafe(12),
            account=name,
        )
        rsa_key = load_rsa_public_key(rsa_public_key_pem) if rsa_public_key_pem else None
        with self.lock:
            if name in self.exchange.accounts:
                raise ValueError(f"account {name!r} already exists")
            credential = Credential(name, keys.api_key, keys.secret, keys.passphrase, rsa_key)
            self.auth.check_free(credential.api_key)
            self.exchange.open_account(name, funding, unified)
            self.auth.register(credential)
        self._keys[name] = keys
        return keys

    def add_scenario_accounts(self) -> dict[str, SimKeys]:
        """Open every account the scenario sets up (with new keys) that is not open yet."""
        return {
            a.name: self.add_account(a.name)
            for a in self.scenario.accounts
            if a.name not in self.exchange.accounts
        }

    def keys(self, name: str) -> SimKeys:
        return self._keys[name]

    # ------------------------------------------------------------------ queries
    def index_price(self, symbol: str) -> Decimal:
        """The index price of ``symbol`` at the market clock's now."""
        with self.lock:
            return self.exchange.market.price(symbol, self.clock.now())

    @property
    def stats(self) -> SimStats:
        return self._stats()

    def _stats(self) -> SimStats:
        return self.counters.snapshot(self.exchange.liquidator.count, self.exchange.flash.count)

    @property
    def rate_limits(self) -> bool:
        return self.limiter.enabled

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        self.control.set_rate_limits(enabled)

    def __repr__(self) -> str:
        return (
            f"Simulator(scenario={self.scenario.name!r}, clock={self.clock!r}, "
            f"accounts={list(self.exchange.accounts)})"
        )
