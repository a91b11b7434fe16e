"""WebSocket v3 (Unified Trading Account): ``/v3/ws/private`` with the ``account`` topic.

- Text ``ping`` → ``pong``. Errors are ``{"event": "error", "code": <int>, "msg": …}`` with the
  v2 WebSocket codes (30001 unknown topic, 30002 malformed, 30003 bad op, 30004 login needed).
- ``login``: as on v2 (``{apiKey, passphrase, timestamp (seconds), sign}``, sign over
  ``timestamp + "GET" + "/user/verify"``); ack ``{"event": "login", "code": 0}``; a failed
  login answers its 3001x code and closes. A classic account's login succeeds, but its
  ``account`` subscription is refused (30001, naming 40084's reason).
- Topic ``{"instType": "UTA", "topic": "account"}`` (ENDPOINTS-v2.md §6): one item
  ``{unrealisedPnL, totalEquity, effEquity, mmr, imr, mgnRatio, positionMgnRatio, coin: [{coin,
  equity, balance, available, locked, debts, borrow, usdValue}]}`` — the shape of X's captured
  push (ccxt pro 4.5.90, ``handle_balance``), figures from :mod:`riskd.sim.uta`. ``debts`` is
  the coin's debt (borrow + interest), ``borrow`` its interest-free part.
- A snapshot on subscribe; afterwards an ``update`` on account events only — a change of a
  balance, a debt or an open order — never on a price move alone (issue 18: the real topic
  pushes on balance, order and settlement events). The pushed figures are those of that moment.

Pushes are ``{"action": "snapshot" | "update", "arg": {…}, "data": [item], "ts": <ms>}``; the
push interval is the simulator's ``ws_push_interval_s`` (wall seconds). The public v3 URL is not
served (the v2 ``index-price`` channel publishes the same index prices).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket

from riskd.amounts import fmt8
from riskd.sim.book import Account
from riskd.sim.host import SimHost
from riskd.sim.uta import ratio_text, uta_book, uta_figures
from riskd.sim.ws_session import Endpoint, WsSession, endpoint

PRIVATE_PATH_V3 = "/v3/ws/private"
ACCOUNT_TOPIC = {"instType": "UTA", "topic": "account"}


def account_event_key(account: Account) -> str:
    """What changes on an account event (balances, debts, open orders), prices left out."""
    book = account.scopes.get("cross")
    balances = (
        sorted(
            (b.coin, str(b.available), str(b.frozen), str(b.borrow), str(b.interest))
            for b in book.balances.values()
        )
        if book is not None
        else []
    )
    orders = sorted((o.id, o.status) for o in account.open_orders())
    return json.dumps([balances, orders])


def account_item(sim: SimHost, account: Account) -> dict[str, object]:
    """The ``account`` topic's item for ``account`` now."""
    ex = sim.exchange
    f = uta_figures(ex.ledger, uta_book(account), ex.now())
    return {
        "unrealisedPnL": "0",
        "totalEquity": fmt8(f.account_equity),
        "positionMgnRatio": "0",
        "mmr": fmt8(f.mmr),
        "effEquity": fmt8(f.eff_equity),
        "imr": fmt8(f.imr),
        "mgnRatio": fmt8(ratio_text(f.mgn_ratio)),
        "coin": [
            {
                "debts": fmt8(c.debt),
                "balance": fmt8(c.balance),
                "available": fmt8(c.available),
                "borrow": fmt8(c.debt),
                "locked": fmt8(c.locked),
                "equity": fmt8(c.equity),
                "coin": c.coin,
                "usdValue": fmt8(c.usd_value),
            }
            for c in f.coins
        ],
    }


class _SessionV3(WsSession):
    def __init__(self, sim: SimHost, ws: WebSocket) -> None:
        super().__init__(sim, ws)
        #: The account event last pushed (``None``: not subscribed).
        self.seen: str | None = None

    def _message(self, action: str) -> str:
        assert self.account is not None
        with self.sim.lock:
            self.sim.exchange.catch_up()
            item = account_item(self.sim, self.account)
            self.seen = account_event_key(self.account)
        ts = round(self.sim.clock.now() * 1000)
        return json.dumps({"action": action, "arg": ACCOUNT_TOPIC, "data": [item], "ts": ts})

    def changes(self) -> str | None:
        """The next push (``None``: not subscribed, or no account event since the last)."""
        if self.seen is None or self.account is None:
            return None
        with self.sim.lock:
            self.sim.exchange.catch_up()
            if account_event_key(self.account) == self.seen:
                return None
        return self._message("update")

    async def push_once(self) -> None:
        text = self.changes()
        if text is not None:
            await self.send(text)

    def check(self, arg: Mapping[str, Any]) -> tuple[str, str | None] | None:
        if dict(arg) != ACCOUNT_TOPIC:
            return "30001", f"the simulator serves {json.dumps(ACCOUNT_TOPIC)} only"
        if self.account is None:
            return "30004", None
        if not self.account.unified:
            return "30001", "a classic account has no UTA account topic (40084)"
        return None

    async def on_ack(self, op: str, arg: Mapping[str, Any]) -> None:
        if op == "unsubscribe":
            self.seen = None
            return
        await self.send(self._message("snapshot"))


def stream_endpoints_v3(sim: SimHost) -> dict[str, Endpoint]:
    """The v3 WebSocket route: path → ASGI endpoint."""
    return {PRIVATE_PATH_V3: endpoint(lambda ws: _SessionV3(sim, ws))}
