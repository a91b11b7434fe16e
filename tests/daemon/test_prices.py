"""Index price feed messages: parsed strictly, never from floats."""

from __future__ import annotations

import json
from decimal import Decimal as D

from riskd.daemon.prices import BitgetIndexPriceFeed, parse_index_prices

MSG = {
    "action": "snapshot",
    "arg": {"instType": "mabl", "channel": "indexPrice", "instId": "default"},
    "data": [
        {
            "baseCoin": "TRX",
            "indexPrice": "0.06362400",
            "key": "TRXUSDT",
            "quoteCoin": "USDT",
            "symbol": "TRXUSDT",
            "timestamp": "1679732272775",
            "version": "1679732272775",
        },
        {"baseCoin": "BTC", "indexPrice": 30000.5, "quoteCoin": "USDT", "symbol": "BTCUSDT"},
    ],
}


def test_parse_document_example_and_refuse_floats() -> None:
    """The document's example parses; a float price is skipped."""
    prices = parse_index_prices(json.dumps(MSG))
    assert [(p.symbol, p.price) for p in prices] == [("TRXUSDT", D("0.06362400"))]


def test_other_messages_ignored() -> None:
    """pong, acks and garbage give no prices."""
    assert parse_index_prices("pong") == []
    assert parse_index_prices("{not json") == []
    assert parse_index_prices(json.dumps({"event": "subscribe"})) == []


async def test_feed_keeps_latest_per_coin(clock) -> None:
    """The feed keeps the latest USDT price per base coin and when it came."""
    feed = BitgetIndexPriceFeed(clock)
    assert feed.observed_at is None
    feed.feed(json.dumps(MSG))
    assert (await feed.prices()) == {"TRX": D("0.06362400")}
    assert feed.observed_at == clock.now()
