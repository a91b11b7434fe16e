"""Reading the simulator's true state for the demo: what riskd really did, and what happened.

Everything here *reads* the in-process simulator (its control surface and its record lists)
and never changes it, except that reading the state runs the exchange's catch-up — exactly
what any request does — so that a forced liquidation happens on time even when nobody calls
the API (``--no-daemon``).

What counts as an *action* riskd took (executed by the simulator, whatever the answer said):

- a repay record of type ``manualRepay`` (the ``repay`` endpoints);
- a flash repay (the ``flashRepay`` endpoints), at the instant it was accepted;
- an order placed through the API after the scenario's set-up (riskd's ``reduce``).

*Capital moved*: the USDT value, at the index price of the instant, of every repay record
riskd caused (``manualRepay``; ``autoRepay`` from its flash repays and reduce orders) —
liquidation repays (``liqRepay``) excluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from riskd.demo.oracle import PricePoint, ScopeStart
from riskd.demo.summary import ActionTaken, Liquidation
from riskd.risk import math as riskmath
from riskd.risk.snapshot import USDT
from riskd.sim.simulator import Simulator
from riskd.sim.state import AccountState

ZERO = Decimal(0)
RISKD_REPAY_TYPES = ("manualRepay", "autoRepay")


@dataclass(frozen=True, slots=True)
class ScopeNow:
    """One scope at one instant, as the simulator computes it."""

    account: str
    scope: str
    risk_rate: Decimal
    distance: Decimal | None
    has_debt: bool


class Truth:
    """Read-only views of one simulator, relative to the instant the demo started."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.ex = sim.exchange
        self.start_s = self.ex.start_s
        #: Everything at or before this instant is the scenario's set-up, not riskd's doing.
        self.setup_ms = round(self.ex.clock.now() * 1000)
        self._setup_orders = {
            name: {o.id for o in acc.orders} for name, acc in self.ex.accounts.items()
        }

    @property
    def warning(self) -> Decimal:
        return self.ex.catalog.warning_risk_ratio

    @property
    def liquidation(self) -> Decimal:
        return self.ex.catalog.liquidation_risk_ratio

    def elapsed(self) -> float:
        return self.ex.clock.now() - self.start_s

    def t_of_ms(self, ms: int) -> float:
        return ms / 1000 - self.start_s

    def accounts(self) -> list[str]:
        return list(self.ex.accounts)

    # ------------------------------------------------------------------ instant
    def states(self) -> dict[str, AccountState]:
        """Every account's true state now (runs the exchange's catch-up first)."""
        return {name: self.sim.control.state(name) for name in self.accounts()}

    def coin_prices(self, symbol_prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
        out = {USDT: Decimal(1)}
        for sym, price in symbol_prices.items():
            out[self.ex.catalog.symbol(sym).base] = price
        return out

    def scopes_now(self, states: Mapping[str, AccountState]) -> list[ScopeNow]:
        out: list[ScopeNow] = []
        for name, st in states.items():
            prices = self.coin_prices(st.prices)
            book_of = self.ex.account(name).scopes
            for sid, scope in st.scopes.items():
                debt = any(b.liability > 0 for b in scope.balances.values())
                mmr = self.ex.ledger.mmr(book_of[sid])
                dist = (
                    riskmath.lowest_coin_distance(
                        scope.balances.values(), prices, mmr, self.liquidation
                    )
                    if debt
                    else None
                )
                out.append(ScopeNow(name, sid, scope.risk_rate, dist, debt))
        return out

    # ------------------------------------------------------------------ oracle inputs
    def scope_starts(self) -> list[ScopeStart]:
        """Every scope with debt, as it stands now (call once, right after set-up)."""
        out: list[ScopeStart] = []
        for name, acc in self.ex.accounts.items():
            for sid, book in acc.scopes.items():
                if not book.has_debt():
                    continue
                out.append(
                    ScopeStart(
                        name,
                        sid,
                        tuple(book.snapshots()),
                        self.ex.ledger.mmr(book),
                        self.liquidation,
                        self.warning,
                    )
                )
        return out

    def price_at(self, t: float) -> dict[str, Decimal]:
        """Coin → USDT index price ``t`` seconds after the start, from the scenario's path."""
        market = self.ex.market
        return self.coin_prices({s: market.price(s, self.start_s + t) for s in market.symbols})

    def price_path(self, duration_s: float, step_s: float = 0.1) -> list[PricePoint]:
        n = max(1, int(duration_s / step_s))
        return [PricePoint(round(i * step_s, 6), self.price_at(i * step_s)) for i in range(n + 1)]

    # ------------------------------------------------------------------ what happened
    def liquidations(self, states: Mapping[str, AccountState]) -> list[Liquidation]:
        out = [
            Liquidation(
                self.t_of_ms(x.time_ms),
                name,
                x.scope,
                f"risk rate {x.risk_rate:.3f}, assets {x.total_assets:.2f} / debt "
                f"{x.total_debt:.2f} USDT, fee {x.fee:.2f} USDT",
                x.risk_rate,
            )
            for name, st in states.items()
            for x in st.liquidations
        ]
        return sorted(out, key=lambda x: x.t)

    def _value(self, coin: str, amount: Decimal, ms: int) -> Decimal:
        return amount * self.ex.market.coin_price(coin, ms / 1000)

    def actions(self) -> list[ActionTaken]:
        """Protective operations the simulator executed for riskd, in time order."""
        out: list[ActionTaken] = []
        for name, acc in self.ex.accounts.items():
            for rec in acc.records.all("repay"):
                if rec.type != "manualRepay" or rec.ctime_ms <= self.setup_ms:
                    continue
                amount = Decimal(rec.fields.get("totalAmount") or "0")
                coin = rec.coin or USDT
                out.append(
                    ActionTaken(
                        self.t_of_ms(rec.ctime_ms),
                        name,
                        rec.scope,
                        "repay",
                        f"repay {amount.normalize():f} {coin}",
                        self._value(coin, amount, rec.ctime_ms),
                    )
                )
            for fr in acc.flash_repays:
                what = fr.coin or "all debt"
                out.append(
                    ActionTaken(
                        fr.created_s - self.start_s,
                        name,
                        fr.scope,
                        "flashRepay",
                        f"flash repay ({what}) — status {fr.status}",
                    )
                )
            setup = self._setup_orders.get(name, set())
            for order in acc.orders:
                if order.id in setup or order.source != "API":
                    continue
                qty = order.base_quantity or order.quote_amount or ZERO
                out.append(
                    ActionTaken(
                        self.t_of_ms(order.ctime_ms),
                        name,
                        order.scope,
                        "reduce",
                        f"{order.order_type} {order.side} {qty.normalize():f} {order.symbol} "
                        f"({order.loan_type}) — {order.status}",
                        order.fill_total,
                    )
                )
        return sorted(out, key=lambda a: a.t)

    def capital_moved(self) -> dict[tuple[str, str], Decimal]:
        """(account, scope) → USDT value of the debt riskd's calls repaid."""
        out: dict[tuple[str, str], Decimal] = {}
        for name, acc in self.ex.accounts.items():
            for rec in acc.records.all("repay"):
                if rec.type not in RISKD_REPAY_TYPES or rec.ctime_ms <= self.setup_ms:
                    continue
                amount = Decimal(rec.fields.get("totalAmount") or "0")
                value = self._value(rec.coin or USDT, amount, rec.ctime_ms)
                key = (name, rec.scope)
                out[key] = out.get(key, ZERO) + value
        return out


def first_action_at(actions: Iterable[ActionTaken], account: str, scope: str) -> float | None:
    return next((a.t for a in actions if a.account == account and a.scope == scope), None)
