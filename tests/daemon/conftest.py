"""Fakes for the daemon's unit tests: an in-memory Exchange that records every call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from riskd.bitget.gate import Priority, current_priority
from riskd.clock import ManualClock
from riskd.daemon.exchange import (
    AssetRow,
    CallRejected,
    CallUncertain,
    CancelResult,
    OrderInfo,
    RepayRecord,
    SymbolInfo,
    TierInfo,
)
from riskd.daemon.journal import Journal

MUTATING = ("repay", "flash_repay", "batch_cancel", "place_market_autorepay")


@dataclass
class FakeExchange:
    """Holds balances per scope; protective calls change them like a (very) simple exchange."""

    clock: ManualClock
    cross_rows: list[AssetRow] = field(default_factory=list)
    isolated_rows: list[AssetRow] = field(default_factory=list)
    risk: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, list[OrderInfo]] = field(default_factory=dict)
    history: list[OrderInfo] = field(default_factory=list)
    repay_records: list[RepayRecord] = field(default_factory=list)
    flash: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    #: name → exception raised (once) by that call
    fail_next: dict[str, Exception] = field(default_factory=dict)
    #: name → exception raised *after* the call took effect (once): a lost answer
    lose_answer: dict[str, Exception] = field(default_factory=dict)
    flash_steps: int = 2
    #: (call name, request priority in force when it was made)
    priorities: list[tuple[str, Priority]] = field(default_factory=list)

    def _call(self, name: str, **kw: object) -> None:
        self.calls.append((name, kw))
        self.priorities.append((name, current_priority()))
        exc = self.fail_next.pop(name, None)
        if exc is not None:
            raise exc

    def _lost(self, name: str) -> None:
        exc = self.lose_answer.pop(name, None)
        if exc is not None:
            raise exc

    def mutating_calls(self) -> list[str]:
        return [n for n, _ in self.calls if n in MUTATING]

    # --- reads
    async def assets(self, margin):
        self._call("assets", margin=margin)
        return list(self.cross_rows if margin == "cross" else self.isolated_rows)

    async def cross_risk_rate(self):
        self._call("cross_risk_rate")
        return self.risk.get("cross", Decimal(0))

    async def isolated_risk_rate(self, symbol):
        self._call("isolated_risk_rate", symbol=symbol)
        return self.risk.get(f"isolated:{symbol}", Decimal(0))

    async def symbols(self):
        self._call("symbols")
        return [SymbolInfo("BTCUSDT", "BTC", "USDT", Decimal("0.8"), Decimal("1"))]

    async def tier(self, margin, key):
        self._call("tier", margin=margin, key=key)
        return TierInfo(Decimal("0.1"), Decimal(3), {})

    async def open_orders(self, margin, symbol, *, client_oid=None):
        self._call("open_orders", margin=margin, symbol=symbol, client_oid=client_oid)
        found = self.orders.get(symbol, [])
        return [o for o in found if client_oid is None or o.client_oid == client_oid]

    async def order_history(self, margin, symbol, *, start_ms, client_oid):
        self._call("order_history", symbol=symbol, client_oid=client_oid)
        return [o for o in self.history if o.client_oid == client_oid]

    async def repays(self, margin, *, symbol, coin, start_ms):
        self._call("repays", margin=margin, symbol=symbol, coin=coin, start_ms=start_ms)
        return [
            r
            for r in self.repay_records
            if r.ctime_ms >= start_ms and (coin is None or r.coin == coin)
        ]

    async def flash_repay_status(self, margin, flash_id):
        self._call("flash_repay_status", flash_id=flash_id)
        state = self.flash[flash_id]
        nxt = {"BEGIN": "REPAYING", "REPAYING": "FINISH"}.get(state, state)
        self.flash[flash_id] = nxt
        return state

    # --- protective
    def _rows(self, margin):
        return self.cross_rows if margin == "cross" else self.isolated_rows

    async def repay(self, margin, *, coin, amount, symbol):
        self._call("repay", margin=margin, coin=coin, amount=amount, symbol=symbol)
        rows = self._rows(margin)
        for i, r in enumerate(rows):
            if r.coin == coin and (symbol is None or r.symbol == symbol):
                interest_paid = min(amount, r.interest)
                rows[i] = AssetRow(
                    coin,
                    r.available - amount,
                    r.frozen,
                    r.borrow - (amount - interest_paid),
                    r.interest - interest_paid,
                    r.symbol,
                )
                remain = rows[i].borrow + rows[i].interest
        self.repay_records.append(
            RepayRecord(
                str(len(self.repay_records) + 1),
                coin,
                amount,
                amount,
                self.clock.now_ms(),
                "manualRepay",
                symbol,
            )
        )
        self._lost("repay")
        return remain

    async def flash_repay(self, margin, *, coin, symbol):
        self._call("flash_repay", margin=margin, coin=coin, symbol=symbol)
        fid = f"f{len(self.flash) + 1}"
        self.flash[fid] = "BEGIN"
        self._lost("flash_repay")
        return fid

    async def batch_cancel(self, margin, symbol, order_ids):
        self._call("batch_cancel", symbol=symbol, order_ids=list(order_ids))
        self.orders[symbol] = [
            o for o in self.orders.get(symbol, []) if o.order_id not in order_ids
        ]
        return CancelResult(tuple(order_ids), ())

    async def place_market_autorepay(self, margin, *, symbol, side, amount, client_oid):
        self._call(
            "place_market_autorepay", symbol=symbol, side=side, amount=amount, client_oid=client_oid
        )
        oid = f"o{len(self.history) + 1}"
        self.history.append(OrderInfo(oid, client_oid, "full_fill", symbol))
        self._lost("place_market_autorepay")
        return oid


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    """A fresh SQLite journal (``j.sqlite3`` in the test's directory), closed after it."""
    j = await Journal.open(tmp_path / "j.sqlite3")
    yield j
    await j.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_exchange(clock: ManualClock) -> Callable[..., FakeExchange]:
    def make(**kw: object) -> FakeExchange:
        return FakeExchange(clock=clock, **kw)  # type: ignore[arg-type]

    return make


def rejected(code: str = "50042") -> CallRejected:
    return CallRejected(f"code {code}", code=code)


def uncertain() -> CallUncertain:
    return CallUncertain("read timeout")
