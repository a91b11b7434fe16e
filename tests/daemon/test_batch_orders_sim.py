"""Batch market orders on the wire: ClientExchange against the simulator's batch-place-order
(signed v2 requests, each piece with its clientOid, the refused ones named)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.clock import ManualClock
from riskd.daemon.client_exchange import ClientExchange
from riskd.daemon.exchange import BatchOrders
from riskd.daemon.plans import client_oid
from riskd.sim import Simulator, load_scenario
from riskd.sizing.pieces import piece_oid

SCENARIO = """
name = "batch"
[markets]
BTCUSDT = "30000"
[[accounts]]
name = "alice"
funding = { isolated.BTCUSDT = { USDT = "3000" } }
positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "3" }]
"""


async def test_pieces_go_out_in_one_signed_call_and_are_found_by_client_oid(
    tmp_path: Path,
) -> None:
    """Three sells in one batch: two placed (found again by their clientOids), the third,
    larger than what is held, refused and named."""
    path = tmp_path / "batch.toml"
    path.write_text(SCENARIO)
    clock = ManualClock()
    sim = Simulator(
        clock=clock, scenario=load_scenario(path), protocol_clock=clock, monotonic=clock.now
    )
    key = sim.add_account("alice")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    client = BitgetClient(
        Credentials.hmac(key.api_key, key.secret, key.passphrase),
        http=http,
        base_url="http://sim",
        clock=clock,
        api="v2",
    )
    ex = ClientExchange(client)
    assert isinstance(ex, BatchOrders)
    first = client_oid("f" * 32)
    oids = [piece_oid(first, k) for k in range(3)]
    try:
        placed = await ex.place_market_autorepay_batch(
            "isolated",
            symbol="BTCUSDT",
            side="sell",
            amounts=[D("0.01"), D("0.01"), D("5")],
            client_oids=oids,
        )
        assert len(placed.order_ids) == 2
        assert len(placed.refused) == 1 and placed.refused[0].startswith(oids[2])
        for oid in oids[:2]:
            found = await ex.order_history("isolated", "BTCUSDT", start_ms=0, client_oid=oid)
            assert [o.client_oid for o in found] == [oid]
        assert sim.stats.requests["isolated_batch_place_order"] == 1
        assert sim.stats.requests.get("isolated_place_order", 0) == 0
    finally:
        await http.aclose()
