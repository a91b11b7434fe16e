"""The signed, typed, async client for Bitget's margin REST API, v1 and v2.

::

    async with BitgetClient(Credentials.from_env(), api="v2") as client:
        rate = await client.cross_risk_rate()                     # CrossRiskRate
        await client.cross_repay(coin="USDT", repay_amount=Decimal("10"))
        async for rec in client.iter_records("cross_liquidations", start_time=t0):
            ...
        data = await client.call("cross_assets", {"coin": "USDT"})  # raw ``data``

The version is chosen per client (``api="v1"`` or ``"v2"``; riskd's accounts default to v2,
v1 was switched off upstream on 2025-11-28). The typed methods and their models are the same
for both: v2's ``riskRateRatio``, ``resultList``/``idLessThan`` paging, ``repayId``,
``symbolList`` are read and written behind them. ``isolated_risk_rates()`` reads every
isolated symbol in one paged call on v2.

There is one method per logical endpoint name of :mod:`riskd.bitget.endpoints`, named as the entry
(``cross_risk_rate``, ``isolated_repay``, ``cross_flash_repay_status``, ...), with keyword-only
snake_case parameters. Paths, methods and required flags come from the table, never from
here. Tests and the demo pass ``http=httpx.AsyncClient(transport=httpx.ASGITransport(app))``
to talk to the simulator in-process.

The transport rules (signing, clock offset, retries, error mapping) are described in
:mod:`riskd.bitget.client_core`; the methods live in ``client_account``, ``client_orders``
and ``client_records``.
"""

from __future__ import annotations

from riskd.bitget.client_account import AccountMethods, PublicMethods
from riskd.bitget.client_core import DEFAULT_BASE_URL, NO_RETRY, RetryPolicy
from riskd.bitget.client_market import MarketMethods
from riskd.bitget.client_orders import OrderMethods
from riskd.bitget.client_records import RecordMethods
from riskd.bitget.client_uta import UtaMethods

__all__ = ["DEFAULT_BASE_URL", "NO_RETRY", "BitgetClient", "RetryPolicy"]


class BitgetClient(
    PublicMethods, AccountMethods, OrderMethods, RecordMethods, MarketMethods, UtaMethods
):
    """Async client for every margin endpoint of one API version (plus the server time).

    ``BitgetClient(credentials | None, *, http=None, base_url="https://api.bitget.com",
    gate=OpenGate(), clock=WallClock(), locale="en-US", retry=RetryPolicy(), timeout_s=10,
    clock_refresh_s=300, sync_clock=True, rng=None, api="v1", server_clock=None)``.
    ``credentials=None`` allows the public endpoints only; ``server_clock`` shares one measured
    offset between clients (a daemon's accounts). Use it as an async context manager (or call
    ``start()`` and ``aclose()``); an ``http`` client passed in is not closed by it.
    """
