"""The simulator's true state and statistics, as frozen values for tests and the demo."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from riskd.amounts import fmt8
from riskd.risk.snapshot import CoinBalance
from riskd.sim.book import Account, Order
from riskd.sim.exchange import Exchange
from riskd.sim.ledger import ms


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    client_oid: str
    scope: str
    symbol: str
    side: str
    order_type: str
    status: str
    price: Decimal | None
    base_quantity: Decimal | None
    quote_amount: Decimal | None
    frozen_coin: str | None
    frozen_amount: Decimal


@dataclass(frozen=True, slots=True)
class LiquidationView:
    liq_id: str
    scope: str
    time_ms: int
    risk_rate: Decimal
    total_assets: Decimal
    total_debt: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class FlashRepayView:
    id: str
    scope: str
    coin: str | None
    status: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class ScopeState:
    """One scope: balances (riskd's :class:`CoinBalance`), valuation and open orders."""

    scope: str
    balances: Mapping[str, CoinBalance]
    risk_rate: Decimal
    assets_usdt: Decimal
    liabilities_usdt: Decimal
    open_orders: tuple[OrderView, ...]

    @property
    def equity_usdt(self) -> Decimal:
        return self.assets_usdt - self.liabilities_usdt

    def balance(self, coin: str) -> CoinBalance:
        zero = Decimal(0)
        return self.balances.get(coin) or CoinBalance(coin, zero, zero, zero, zero)


@dataclass(frozen=True, slots=True)
class AccountState:
    """Everything true about one account at one market instant."""

    account: str
    uid: str
    time_ms: int
    prices: Mapping[str, Decimal]
    scopes: Mapping[str, ScopeState]
    liquidations: tuple[LiquidationView, ...]
    flash_repays: tuple[FlashRepayView, ...]

    def scope(self, scope: str) -> ScopeState:
        try:
            return self.scopes[scope]
        except KeyError:
            raise KeyError(f"account {self.account!r} has no scope {scope!r}") from None

    def risk_rate(self, scope: str) -> Decimal:
        return self.scope(scope).risk_rate

    def to_json(self) -> dict[str, object]:
        return {
            "account": self.account,
            "uid": self.uid,
            "timeMs": self.time_ms,
            "prices": {k: fmt8(v) for k, v in self.prices.items()},
            "scopes": {
                sid: {
                    "riskRate": str(s.risk_rate),
                    "assetsUsdt": fmt8(s.assets_usdt),
                    "liabilitiesUsdt": fmt8(s.liabilities_usdt),
                    "balances": {
                        c: {
                            "available": fmt8(b.available),
                            "frozen": fmt8(b.frozen),
                            "borrow": fmt8(b.borrow),
                            "interest": fmt8(b.interest),
                        }
                        for c, b in s.balances.items()
                    },
                    "openOrders": [
                        {
                            "orderId": o.order_id,
                            "symbol": o.symbol,
                            "side": o.side,
                            "status": o.status,
                        }
                        for o in s.open_orders
                    ],
                }
                for sid, s in self.scopes.items()
            },
            "liquidations": [
                {
                    "liqId": x.liq_id,
                    "scope": x.scope,
                    "timeMs": x.time_ms,
                    "riskRate": str(x.risk_rate),
                    "fee": fmt8(x.fee),
                }
                for x in self.liquidations
            ],
            "flashRepays": [
                {"id": f.id, "scope": f.scope, "coin": f.coin, "status": f.status}
                for f in self.flash_repays
            ],
        }


def _order_view(o: Order) -> OrderView:
    return OrderView(
        str(o.id),
        o.client_oid,
        o.scope,
        o.symbol,
        o.side,
        o.order_type,
        o.status,
        o.price,
        o.base_quantity,
        o.quote_amount,
        o.frozen_coin,
        o.frozen_amount,
    )


def account_state(ex: Exchange, account: Account) -> AccountState:
    now = ex.now()
    scopes = {}
    for sid, book in account.scopes.items():
        v = ex.ledger.valuation(book, now)
        scopes[sid] = ScopeState(
            sid,
            MappingProxyType({c: b.snapshot() for c, b in book.balances.items()}),
            v.risk_rate,
            v.assets,
            v.liabilities,
            tuple(_order_view(o) for o in account.open_orders(sid)),
        )
    liqs = tuple(
        LiquidationView(
            str(r.id),
            r.scope,
            r.ctime_ms,
            Decimal(r.fields["liqRisk"] or "0"),
            Decimal(r.fields["totalAssets"] or "0"),
            Decimal(r.fields["totalDebt"] or "0"),
            Decimal(r.fields["LiqFee"] or "0"),
        )
        for r in account.records.all("liquidation")
    )
    flashes = tuple(
        FlashRepayView(str(f.id), f.scope, f.coin, f.status, ms(f.created_s))
        for f in account.flash_repays
    )
    return AccountState(
        account.name,
        account.uid,
        ms(now),
        MappingProxyType(dict(ex.prices())),
        MappingProxyType(scopes),
        liqs,
        flashes,
    )


@dataclass(frozen=True, slots=True)
class SimStats:
    """Counts for the demo summary and tests."""

    requests: Mapping[str, int]
    total_requests: int
    rate_limited: int
    errors: int
    faults: int
    liquidations: int
    flash_repays: int


class Counters:
    """Mutable request counters behind :class:`SimStats`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.rate_limited = 0
        self.errors = 0
        self.faults = 0

    def snapshot(self, liquidations: int, flash_repays: int) -> SimStats:
        return SimStats(
            MappingProxyType(dict(self.requests)),
            sum(self.requests.values()),
            self.rate_limited,
            self.errors,
            self.faults,
            liquidations,
            flash_repays,
        )
