"""Index price feed: v2 and v1 messages parsed strictly (never from floats), the feed over the
simulator's WebSocket, and how build_daemon picks the version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal as D
from pathlib import Path
from typing import Literal

import pytest

from riskd.clock import ManualClock, WallClock
from riskd.daemon.prices import BitgetIndexPriceFeed, NoPrices, parse_index_prices, ws_url_for
from riskd.daemon.wiring import build_daemon
from riskd.sim.serve import serve_in_thread

from .harness import make_settings, make_sim

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


MSG_V2 = {
    "action": "snapshot",
    "arg": {"instType": "MARGIN", "channel": "index-price", "instId": "default"},
    "data": [
        {
            "symbol": "BTCUSDT",
            "baseCoin": "BTC",
            "quoteCoin": "USDT",
            "indexPrice": "30000.50000000",
            "ts": "1700000000000",
        },
        {"symbol": "ETHUSDT", "baseCoin": "ETH", "quoteCoin": "USDT", "indexPrice": 2000.5},
    ],
    "ts": 1700000000001,
}


def test_parse_v2_index_price_and_refuse_floats() -> None:
    """A v2 index-price push parses with its ts; a float price is skipped."""
    prices = parse_index_prices(json.dumps(MSG_V2))
    assert [(p.symbol, p.price, p.timestamp_ms) for p in prices] == [
        ("BTCUSDT", D("30000.50000000"), 1700000000000)
    ]


def test_feed_tells_listeners_what_each_message_updated(clock) -> None:
    """Listeners get the coins of each message; one failing listener does not stop the rest."""
    feed = BitgetIndexPriceFeed(clock, api="v2")
    seen: list[dict[str, D]] = []

    def broken(update: Mapping[str, D]) -> None:
        raise RuntimeError("listener bug")

    feed.add_listener(broken)
    feed.add_listener(lambda update: seen.append(dict(update)))
    feed.feed(json.dumps(MSG_V2))
    feed.feed("pong")
    assert seen == [{"BTC": D("30000.50000000")}]


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


async def test_feed_drops_prices_older_than_max_age(clock) -> None:
    """A price received longer ago than max_age is dropped until a new one arrives."""
    feed = BitgetIndexPriceFeed(clock, max_age=30.0)
    feed.feed(json.dumps(MSG))
    clock.advance(30.0)
    assert (await feed.prices()) == {"TRX": D("0.06362400")}
    clock.advance(0.5)
    assert (await feed.prices()) == {}
    feed.feed(json.dumps(MSG))
    assert (await feed.prices()) == {"TRX": D("0.06362400")}


def test_ws_url_derived_from_base_url() -> None:
    """The real REST host maps to Bitget's WS host; any other URL swaps http→ws, https→wss."""
    assert ws_url_for("https://api.bitget.com") == "wss://ws.bitget.com/spot/v1/stream"
    assert ws_url_for("https://api.bitget.com", "v2") == "wss://ws.bitget.com/v2/ws/public"
    assert ws_url_for("https://api.bitget.com/", "v2", private=True) == (
        "wss://ws.bitget.com/v2/ws/private"
    )
    assert ws_url_for("http://127.0.0.1:8123", "v2") == "ws://127.0.0.1:8123/v2/ws/public"
    with pytest.raises(ValueError, match="v2"):
        ws_url_for("https://api.bitget.com", "v1", private=True)
    assert ws_url_for("http://127.0.0.1:8123/") == "ws://127.0.0.1:8123/spot/v1/stream"
    assert ws_url_for("https://sim.example") == "wss://sim.example/spot/v1/stream"
    with pytest.raises(ValueError, match="http"):
        ws_url_for("ftp://x")


@pytest.mark.parametrize("api", ["v2", "v1"])
async def test_feed_reads_simulator_websocket(tmp_path: Path, api: Literal["v1", "v2"]) -> None:
    """Against `riskd sim serve` on 127.0.0.1 the feed subscribes (v2 index-price on
    /v2/ws/public, v1 indexPrice) and gets index prices."""
    sim = make_sim(tmp_path)
    with serve_in_thread(sim, "127.0.0.1") as server:
        url = ws_url_for(server.url, api)
        feed = BitgetIndexPriceFeed(WallClock(), url=url, api=api, max_age=30.0)
        await feed.start()
        try:
            prices: Mapping[str, D] = {}
            for _ in range(250):
                prices = await feed.prices()
                if prices:
                    break
                await asyncio.sleep(0.02)
        finally:
            await feed.stop()
    assert prices["BTC"] == sim.index_price("BTCUSDT")
    assert prices["ETH"] == sim.index_price("ETHUSDT")


async def test_build_daemon_wires_the_feed_unless_disabled(tmp_path: Path) -> None:
    """Without a given price source the daemon reads the WS feed (v2 for a v2 account, v1 when
    every account speaks v1); enabled=false: none."""
    sim = make_sim(tmp_path)
    sim.add_account("alice")
    settings = make_settings(tmp_path, sim, live=False, top={"prices": {"max_age": "5s"}})
    built = await build_daemon(settings, clock=ManualClock())
    try:
        assert built.feed is not None
        assert (built.feed.url, built.feed.api) == ("ws://sim/v2/ws/public", "v2")
        assert built.daemon.accounts["alice"].poller._prices is built.feed
        assert [c.url for c in built.account_pushes] == ["ws://sim/v2/ws/private"]
    finally:
        await built.aclose()
    v1 = make_settings(tmp_path, sim, live=False, api="v1")
    built = await build_daemon(v1, clock=ManualClock())
    try:
        assert built.feed is not None
        assert (built.feed.url, built.feed.api) == ("ws://sim/spot/v1/stream", "v1")
        assert (built.push, built.account_pushes) == (None, [])
    finally:
        await built.aclose()
    off = make_settings(tmp_path, sim, live=False, top={"prices": {"enabled": False}})
    built = await build_daemon(off, clock=ManualClock())
    try:
        assert built.feed is None
        assert isinstance(built.daemon.accounts["alice"].poller._prices, NoPrices)
    finally:
        await built.aclose()
