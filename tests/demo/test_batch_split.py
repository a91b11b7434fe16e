"""A protective sale over the symbol's maxTradeAmount, end to end: the real daemon, the
simulator, the shipped rules. The sale goes out as even orders in one batch call."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from riskd.daemon.journal import IntentRecord, Journal
from riskd.demo.settings import find_rules_dir
from riskd.demo.suite import run_checked
from riskd.sim.scenario import parse_scenario

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """
name = "split_sale"
description = "A 5x isolated BTC long whose sales need several orders of 0.02 BTC"
seed = 3
duration_s = 120
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"
[symbols.BTCUSDT]
max_trade_amount = "0.02"
[[accounts]]
name = "main"
funding = { isolated.BTCUSDT = { USDT = "3000" } }
positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "5" }]
[paths]
BTCUSDT = [
  { kind = "hold", duration = 20 },
  { kind = "linear", change = "-0.30", duration = 60 },
  { kind = "hold", duration = 40 },
]
[expect]
no_liquidation = true
"""


@pytest.mark.slow
def test_a_sale_over_max_trade_amount_is_one_batch_of_pieces(tmp_path: Path) -> None:
    """Survived; every sale of more than 0.02 BTC is one intent whose pieces (each at most
    0.02 BTC) carry their own clientOids."""
    scenario = parse_scenario(SCENARIO, "split_sale.toml")
    result = run_checked(scenario, find_rules_dir(None, cwd=REPO), out_dir=tmp_path)
    assert result.ok, result.report()
    reduces = [r for r in asyncio.run(_intents(tmp_path)) if r.intent.kind == "reduce"]
    batches = [r for r in reduces if "pieces" in r.intent.params]
    assert batches, [r.intent.params for r in reduces]
    for r in batches:
        pieces = r.intent.params["pieces"].split(",")
        oids = r.intent.params["clientOids"].split(",")
        assert len(pieces) == len(oids) > 1
        assert all(Decimal(p) <= Decimal("0.02") for p in pieces)
        assert r.ref is not None and len(r.ref.split(",")) == len(pieces)


async def _intents(out: Path) -> list[IntentRecord]:
    journal = await Journal.open(out / "split_sale.journal.sqlite3")
    try:
        return list(await journal.intents())
    finally:
        await journal.close()
