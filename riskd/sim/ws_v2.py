"""WebSocket v2 (ENDPOINTS-v2.md §4): ``/v2/ws/public`` and ``/v2/ws/private``.

- Text ``ping`` → ``pong``. Errors are ``{"event": "error", "code": <int>, "msg": …}``.
- Public URL: channel ``index-price`` (instType ``MARGIN``, instId ``default``): every symbol's
  ``{symbol, baseCoin, quoteCoin, indexPrice, ts}``; a snapshot on subscribe, then one every
  push interval. While a symbol's feed is stopped (``[[feed_stops]]``, ``/_sim/feed``) its row
  is left out of the pushes; ``ts`` is when the published price was set.
- Private URL: ``login`` with ``{apiKey, passphrase, timestamp (seconds), sign}``, sign over
  ``timestamp + "GET" + "/user/verify"``; ack ``{"event": "login", "code": 0}``; a failed login
  answers its 3001x code and closes. Then ``account-crossed`` / ``account-isolated`` (coin
  ``default``, the only value) push per-coin ``{uTime, id, coin, available, borrow, frozen,
  interest, coupon}`` (+ ``symbol``), and ``orders-crossed`` / ``orders-isolated`` (instId =
  symbol) push that symbol's orders. A snapshot on subscribe; afterwards an ``update`` with
  the rows that changed. No risk figure is pushed (§2.2).
- Private channels before login: 30004; unknown channel or a public channel on the private
  URL (and the reverse): 30001; a malformed message: 30002; an unknown op: 30003.

Pushes are ``{"action": "snapshot" | "update", "arg": {…}, "data": […], "ts": <ms>}``; the push
interval is the simulator's ``ws_push_interval_s`` (wall seconds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from starlette.websockets import WebSocket

from riskd.amounts import fmt8
from riskd.sim.book import Account, Order
from riskd.sim.handlers_v2_common import ORDER_STATUS_V2
from riskd.sim.host import SimHost
from riskd.sim.ws_session import Endpoint, WsSession, endpoint, error_frame

INST_TYPE = "MARGIN"
PUBLIC_CHANNELS = ("index-price",)
ACCOUNT_CHANNELS = ("account-crossed", "account-isolated")
ORDER_CHANNELS = ("orders-crossed", "orders-isolated")
Rows = list[dict[str, object]]


def _arg_key(arg: Mapping[str, object]) -> str:
    return json.dumps(dict(arg), sort_keys=True)


class _SessionV2(WsSession):
    def __init__(self, sim: SimHost, ws: WebSocket, private: bool) -> None:
        super().__init__(sim, ws)
        self.private = private
        #: subscribed arg (as a JSON key) → the arg and the rows last pushed (by row key)
        self.subs: dict[str, tuple[dict[str, object], dict[str, str]]] = {}

    # ------------------------------------------------------------------ data
    def _now_ms(self) -> int:
        return round(self.sim.clock.now() * 1000)

    def rows(self, arg: Mapping[str, object]) -> Rows:
        channel = arg.get("channel")
        with self.sim.lock:
            self.sim.exchange.catch_up()
            if channel == "index-price":
                return self._index_rows()
            assert self.account is not None
            if channel in ACCOUNT_CHANNELS:
                return self._account_rows(self.account, channel == "account-isolated")
            return self._order_rows(self.account, channel == "orders-isolated", arg)

    def _index_rows(self, live_only: bool = False) -> Rows:
        """Published index prices (``ts`` = when each was set); ``live_only`` leaves out the
        symbols whose feed is stopped."""
        catalog = self.sim.exchange.catalog
        return [
            {
                "symbol": sym,
                "baseCoin": catalog.symbol(sym).base,
                "quoteCoin": catalog.symbol(sym).quote,
                "indexPrice": fmt8(price),
                "ts": str(round(t * 1000)),
            }
            for sym, (price, t, live) in self.sim.exchange.feed().items()
            if live or not live_only
        ]

    def _account_rows(self, account: Account, isolated: bool) -> Rows:
        now = str(self._now_ms())
        out: Rows = []
        for book in account.scopes.values():
            if (book.symbol is not None) != isolated:
                continue
            for bal in book.balances.values():
                row: dict[str, object] = {"symbol": book.symbol} if book.symbol else {}
                row.update(
                    uTime=now,
                    id=account.uid,
                    coin=bal.coin,
                    available=fmt8(bal.available),
                    borrow=fmt8(bal.borrow),
                    frozen=fmt8(bal.frozen),
                    interest=fmt8(bal.interest),
                    coupon=fmt8(Decimal(0)),
                )
                out.append(row)
        return out

    def _order_rows(self, account: Account, isolated: bool, arg: Mapping[str, object]) -> Rows:
        symbol = arg.get("instId")
        fees: dict[int, tuple[str, Decimal]] = {}
        for f in account.fills:
            coin, total = fees.get(f.order_id, (f.fee_ccy, Decimal(0)))
            fees[f.order_id] = (coin, total + f.fee)
        return [
            _order_push(o, fees.get(o.id))
            for o in account.orders
            if o.symbol == symbol and (o.scope != "cross") == isolated
        ]

    # ------------------------------------------------------------------ pushes
    @staticmethod
    def _row_key(channel: object, row: Mapping[str, object]) -> str:
        if channel in ORDER_CHANNELS:
            return str(row["orderId"])
        return f"{row.get('symbol', '')}/{row.get('coin', '')}"

    @staticmethod
    def _fingerprint(row: Mapping[str, object]) -> str:
        return json.dumps({k: v for k, v in row.items() if k not in ("uTime", "ts")})

    def message(self, arg: Mapping[str, object], action: str, data: Rows) -> str:
        payload = {"action": action, "arg": dict(arg), "data": data, "ts": self._now_ms()}
        return json.dumps(payload)

    def changes(self, key: str) -> str | None:
        """The next push for one subscription (``None`` when nothing changed)."""
        arg, seen = self.subs[key]
        channel = arg.get("channel")
        if channel in PUBLIC_CHANNELS:
            with self.sim.lock:
                self.sim.exchange.catch_up()
                live = self._index_rows(live_only=True)
            return self.message(arg, "snapshot", live) if live else None
        rows = self.rows(arg)
        changed = []
        for row in rows:
            rk, fp = self._row_key(channel, row), self._fingerprint(row)
            if seen.get(rk) != fp:
                seen[rk] = fp
                changed.append(row)
        return self.message(arg, "update", changed) if changed else None

    async def push_once(self) -> None:
        for key in list(self.subs):
            text = self.changes(key) if key in self.subs else None
            if text is not None:
                await self.send(text)

    # ------------------------------------------------------------------ requests
    async def login(self, args: list[object]) -> bool:
        if not self.private:
            await self.send(error_frame("30002", "login on the private URL /v2/ws/private"))
            return True
        return await super().login(args)

    def check(self, arg: Mapping[str, Any]) -> tuple[str, str | None] | None:
        channel = arg.get("channel")
        if arg.get("instType") != INST_TYPE:
            return "30001", f"instType must be {INST_TYPE}"
        if channel in PUBLIC_CHANNELS:
            if self.private:
                return "30001", f"{channel} is on the public URL /v2/ws/public"
            return None if arg.get("instId") == "default" else ("30001", "instId must be default")
        if channel not in ACCOUNT_CHANNELS + ORDER_CHANNELS:
            return "30001", f"unknown channel {channel!r}"
        if not self.private:
            return "30001", f"{channel} is on the private URL /v2/ws/private"
        if self.account is None:
            return "30004", None
        if channel in ACCOUNT_CHANNELS:
            return None if arg.get("coin") == "default" else ("30016", "coin must be default")
        symbol = arg.get("instId")
        if not isinstance(symbol, str) or symbol not in self.sim.exchange.catalog.symbols:
            return "30016", f"instId {symbol!r} is not a symbol"
        return None

    async def on_ack(self, op: str, arg: Mapping[str, Any]) -> None:
        key = _arg_key(arg)
        if op == "unsubscribe":
            self.subs.pop(key, None)
            return
        rows = self.rows(arg)
        channel = arg.get("channel")
        seen = {self._row_key(channel, r): self._fingerprint(r) for r in rows}
        self.subs[key] = (dict(arg), seen if channel not in PUBLIC_CHANNELS else {})
        await self.send(self.message(arg, "snapshot", rows))


def _order_push(o: Order, fee: tuple[str, Decimal] | None) -> dict[str, object]:
    fee_coin, fee_total = fee if fee is not None else ("USDT", Decimal(0))
    return {
        "orderId": str(o.id),
        "clientOid": o.client_oid,
        "symbol": o.symbol,
        "side": o.side,
        "orderType": o.order_type,
        "force": o.time_in_force,
        "price": fmt8(o.price) if o.price is not None else "0",
        "baseSize": fmt8(o.base_quantity) if o.base_quantity is not None else "0",
        "quoteSize": fmt8(o.quote_amount) if o.quote_amount is not None else "0",
        "status": ORDER_STATUS_V2.get(o.status, o.status),
        "fillPrice": fmt8(o.fill_price),
        "baseVolume": fmt8(o.fill_quantity),
        "fillTotalAmount": fmt8(o.fill_total),
        "loanType": o.loan_type,
        "enterPointSource": o.source,
        "feeDetail": [
            {
                "feeCoin": fee_coin,
                "deduction": "no",
                "totalDeductionFee": "0",
                "totalFee": fmt8(-fee_total),
            }
        ],
        "stpMode": "none",
        "cTime": str(o.ctime_ms),
        "uTime": str(o.ctime_ms),
    }


def stream_endpoints_v2(sim: SimHost) -> dict[str, Endpoint]:
    """The two v2 WebSocket routes: path → ASGI endpoint."""
    return {
        "/v2/ws/public": endpoint(lambda ws: _SessionV2(sim, ws, private=False)),
        "/v2/ws/private": endpoint(lambda ws: _SessionV2(sim, ws, private=True)),
    }
