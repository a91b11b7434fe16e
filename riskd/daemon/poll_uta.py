"""Polling a Unified Trading Account (:class:`~riskd.daemon.uta_exchange.UtaExchange`).

Its one scope, ``"uta"``, comes from one ``uta_assets`` read
(:func:`riskd.daemon.snapshots.uta_snapshot`), the tiers of newly owed coins and the open
orders where a balance is locked; no cross or isolated reads.
:class:`riskd.daemon.poller.AccountPoller` schedules it like any other scope.
"""

from __future__ import annotations

from riskd.bitget.models_uta import UtaAssets
from riskd.daemon.poll_reference import ReferenceReader, count_orders
from riskd.daemon.uta_exchange import UtaExchange
from riskd.risk.snapshot import USDT


async def read_uta(
    ex: UtaExchange, reference: ReferenceReader, account: str
) -> tuple[UtaAssets, int]:
    """The account's figures and its open orders (where a balance is locked); the tiers of
    every owed coin are in ``reference`` after it. An ``ExchangeError`` of the figures' read
    propagates; a tier or order list that cannot be read is logged and left out."""
    got = await ex.read()
    await reference.ensure_tiers("cross", {c.coin for c in got.assets if c.debt > 0})
    locked = {f"{c.coin}{USDT}" for c in got.assets if c.balance > c.available}
    orders = await count_orders(ex, account, "cross", locked - {f"{USDT}{USDT}"})
    return got, orders
