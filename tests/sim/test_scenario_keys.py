"""Issue 15's scenario keys: open orders at the start, a path per coin, feed stops, settlement
delays and tiers per coin — each valid form works, each invalid value is named in the error."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest
from websockets.sync.client import connect as connect_ws

from riskd.clock import ManualClock
from riskd.sim import ScenarioError, Simulator
from riskd.sim.market import FeedStop
from riskd.sim.scenario import Settlement, parse_scenario
from riskd.sim.serve import serve_in_thread

V2: dict[str, Any] = {"api": "v2"}
INDEX = {"instType": "MARGIN", "channel": "index-price", "instId": "default"}
HEAD = '[markets]\nBTCUSDT = "30000"\nETHUSDT = "2000"\n'


def _problems(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "keys.toml")
    message = str(info.value)
    assert message.startswith("scenario keys.toml:")
    return message


def _sim(make: Any, text: str) -> tuple[Simulator, Any, Any]:
    sim, market, protocol = make(scenario=parse_scenario(HEAD + text, "keys.toml"))
    return sim, market, protocol


# ---------------------------------------------------------------------------- open orders
ORDERS = """
[[accounts]]
name = "main"
funding = { cross = { USDT = "1000", BTC = "0.1" }, isolated.ETHUSDT = { ETH = "2" } }
orders = [
  { scope = "cross", symbol = "BTCUSDT", side = "sell", price = "31000", size = "0.01" },
  { scope = "cross", symbol = "BTCUSDT", side = "buy", price = "29000", size = "0.01" },
  { scope = "isolated:ETHUSDT", side = "sell", price = "2100.5", size = "0.5" },
]
[paths]
BTCUSDT = [ { kind = "linear", to = "31000", duration = 10 } ]
"""


def test_open_orders_rest_frozen_at_the_start_and_fill_later(make: Any) -> None:
    """Orders of [[accounts]].orders rest with their cost frozen; the path fills the sell."""
    sim, _, _ = _sim(make, ORDERS)
    sim.add_scenario_accounts()
    state = sim.control.state("main")
    cross, iso = state.scope("cross"), state.scope("isolated:ETHUSDT")
    assert [(o.side, o.price) for o in cross.open_orders] == [
        ("sell", D(31000)),
        ("buy", D(29000)),
    ]
    assert cross.balance("BTC").frozen == D("0.01") and cross.balance("USDT").frozen == D(290)
    assert [(o.symbol, o.base_quantity) for o in iso.open_orders] == [("ETHUSDT", D("0.5"))]
    sim.control.advance(10)
    cross = sim.control.state("main").scope("cross")
    assert [o.side for o in cross.open_orders] == ["buy"]
    assert cross.balance("USDT").available == D(710) + D(310) - D("0.31")


def test_positions_are_in_place_at_the_start_whatever_order_s(make: Any) -> None:
    """With order_s = 3 the set-up's position still fills at once, so an order can sell it."""
    text = """
[settlement]
order_s = 3
[[accounts]]
name = "main"
funding = { isolated.BTCUSDT = { USDT = "1000" } }
positions = [ { scope = "isolated:BTCUSDT", side = "long", leverage = "3" } ]
orders = [ { scope = "isolated:BTCUSDT", side = "sell", price = "33000", size = "0.05" } ]
"""
    sim, _, _ = _sim(make, text)
    sim.add_scenario_accounts()
    iso = sim.control.state("main").scope("isolated:BTCUSDT")
    assert [(o.side, o.status) for o in iso.open_orders] == [("sell", "new")]
    assert iso.balance("BTC").frozen == D("0.05") and iso.balance("BTC").available > D("0.016")
    assert iso.balance("USDT").borrow == D(2000)


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ('side = "hold", price = "31000", size = "0.01"', "orders[0].side: expected 'buy' or"),
        ('side = "sell", price = "29000", size = "0.01"', "would fill at once (start price 30000)"),
        ('side = "buy", price = "31000", size = "0.01"', "a buy at 31000 would fill at once"),
        ('side = "sell", price = "31000.123", size = "0.01"', "has more than 2 decimals"),
        ('side = "sell", price = "31000", size = "0.0000001"', "has more than 6 decimals"),
        ('side = "sell", price = "31000", size = "0.00001"', "below the minimum 0.0001 BTC"),
        ('side = "sell", size = "0.01"', "orders[0].price: expected a decimal string"),
        ('side = "sell", price = "31000", size = "-1"', "orders[0].size: '-1' must be a number"),
        ('side = "sell", price = "31000", size = "0.01", tif = "ioc"', "orders[0].tif: unknown"),
        (
            'symbol = "ETHUSDT", side = "sell", price = "2100", size = "1", '
            'scope = "isolated:BTCUSDT"',
            "'ETHUSDT' is not the symbol of scope isolated:BTCUSDT",
        ),
        ('symbol = "XRPUSDT", side = "sell", price = "1", size = "1"', "expected a symbol of"),
    ],
)
def test_open_order_errors_name_key_and_value(order: str, message: str) -> None:
    """Each bad open order names accounts[0].orders[0] and what is wrong with it."""
    if "symbol" not in order:
        order += ', symbol = "BTCUSDT"'
    text = HEAD + f'[[accounts]]\nname = "main"\norders = [ {{ {order} }} ]\n'
    problems = _problems(text)
    assert "accounts[0].orders[0]" in problems and message in problems, problems


# ---------------------------------------------------------------------------- paths per coin
def test_each_coin_follows_its_own_path(make: Any) -> None:
    """[paths] is per symbol, so each coin of a cross account moves on its own."""
    text = """
[paths]
BTCUSDT = [ { kind = "linear", change = "0.2", duration = 10 } ]
ETHUSDT = [ { kind = "step", change = "-0.5" } ]
"""
    sim, _, _ = _sim(make, text)
    sim.control.advance(10)
    assert sim.control.prices() == {"BTCUSDT": D(36000), "ETHUSDT": D(1000)}


# ---------------------------------------------------------------------------- feed stops
FEED = """
[[feed_stops]]
start_s = 10
end_s = 20
symbols = ["BTCUSDT"]
[[feed_stops]]
start_s = 30
end_s = 35
[paths]
BTCUSDT = [ { kind = "linear", change = "-0.1", duration = 40 } ]
ETHUSDT = [ { kind = "linear", change = "-0.1", duration = 40 } ]
"""


def test_feed_stops_parse() -> None:
    """[[feed_stops]] become FeedStop values (no symbols = every symbol)."""
    scenario = parse_scenario(HEAD + FEED)
    assert scenario.feed_stops == (FeedStop(10, 20, ("BTCUSDT",)), FeedStop(30, 35, ()))


def test_the_feed_holds_its_last_price_while_the_market_moves(make: Any) -> None:
    """During a stop the feed shows the price and time from before it; the truth moves on."""
    sim, market, _ = _sim(make, FEED)
    start = market.now()
    sim.control.advance(15)
    feed = sim.exchange.feed()
    assert feed["BTCUSDT"] == (D(29250), start + 10, False)
    assert feed["ETHUSDT"] == (sim.index_price("ETHUSDT"), start + 15, True)
    assert sim.index_price("BTCUSDT") == D("28875")
    sim.control.advance(5)
    assert sim.exchange.feed()["BTCUSDT"] == (D(28500), start + 20, True)
    sim.control.advance(12)
    assert {s: live for s, (_, _, live) in sim.exchange.feed().items()} == {
        "BTCUSDT": False,
        "ETHUSDT": False,
    }


def test_v2_index_pushes_leave_out_a_stopped_symbol() -> None:
    """Over a real socket: the snapshot shows a stopped symbol stale, pushes leave it out."""
    sim = Simulator(ManualClock(1_700_000_000.0), scenario=parse_scenario(HEAD + FEED))
    sim.ws_push_interval_s = 0.02
    sim.control.advance(12)
    with (
        serve_in_thread(sim) as server,
        connect_ws(server.url.replace("http", "ws") + "/v2/ws/public") as ws,
    ):
        ws.send(json.dumps({"op": "subscribe", "args": [INDEX]}))
        assert json.loads(ws.recv(timeout=5))["event"] == "subscribe"
        snapshot = json.loads(ws.recv(timeout=5))["data"]
        btc = next(r for r in snapshot if r["symbol"] == "BTCUSDT")
        assert btc["indexPrice"] == "29250.00000000" and btc["ts"] == "1700000010000"
        push = json.loads(ws.recv(timeout=5))["data"]
        assert [r["symbol"] for r in push] == ["ETHUSDT"]


def test_v1_index_snapshot_shows_the_stale_price_and_its_time() -> None:
    """The v1 indexPrice snapshot shows a stopped symbol's last price with that price's time."""
    sim = Simulator(ManualClock(1_700_000_000.0), scenario=parse_scenario(HEAD + FEED))
    sim.control.advance(15)
    url = "/spot/v1/stream"
    with serve_in_thread(sim) as server, connect_ws(server.url.replace("http", "ws") + url) as ws:
        arg = {"instType": "mabl", "channel": "indexPrice", "instId": "default"}
        ws.send(json.dumps({"op": "subscribe", "args": [arg]}))
        assert json.loads(ws.recv(timeout=5))["event"] == "subscribe"
        rows = {r["symbol"]: r for r in json.loads(ws.recv(timeout=5))["data"]}
    assert (rows["BTCUSDT"]["indexPrice"], rows["BTCUSDT"]["timestamp"]) == (
        "29250.00000000",
        "1700000010000",
    )
    assert rows["ETHUSDT"]["timestamp"] == "1700000015000"


@pytest.mark.parametrize(
    ("stop", "message"),
    [
        ("start_s = 10\nend_s = 5", "feed_stops[0].end_s: 5 must be after start_s (10)"),
        ("start_s = 10\nend_s = 10", "feed_stops[0].end_s: 10 must be after start_s"),
        ("start_s = 10", "feed_stops[0].end_s: missing"),
        ("end_s = 10", "feed_stops[0].start_s: missing"),
        ("start_s = -1\nend_s = 10", "feed_stops[0].start_s: -1 must be >= 0"),
        ('start_s = "soon"\nend_s = 10', "feed_stops[0].start_s: 'soon' is not a number"),
        ('start_s = 1\nend_s = 10\nsymbols = ["XRPUSDT"]', "feed_stops[0].symbols[0]: expected"),
        ('start_s = 1\nend_s = 10\nsymbols = "BTCUSDT"', "feed_stops[0].symbols: expected an"),
        ("start_s = 1\nend_s = 10\nrest = true", "feed_stops[0].rest: unknown key"),
    ],
)
def test_feed_stop_errors(stop: str, message: str) -> None:
    """Each bad feed stop names feed_stops[i] and the key."""
    assert message in _problems(HEAD + f"[[feed_stops]]\n{stop}\n")


async def test_feed_control_stops_and_resumes(api: Any, sim: Simulator) -> None:
    """POST /_sim/feed stops the feed from now; DELETE ends every stop; bad bodies are named."""
    resp = await api.client.post("/_sim/feed", json={"stop_s": 30, "symbols": ["ETHUSDT"]})
    assert resp.status_code == 200 and resp.json()["endS"] - resp.json()["startS"] == 30
    sim.control.set_price("ETHUSDT", D(1500))
    sim.control.advance(5)
    assert sim.exchange.feed()["ETHUSDT"][2] is False
    assert (await api.client.delete("/_sim/feed")).status_code == 200
    assert sim.exchange.feed()["ETHUSDT"] == (D(1500), sim.clock.now(), True)
    for body, text in (
        ({}, "stop_s: missing"),
        ({"stop_s": 0}, "stop_s: 0 must be > 0"),
        ({"stop_s": 5, "symbols": ["XRPUSDT"]}, "XRPUSDT not in this market"),
        ({"stop_s": 5, "when": 1}, "unknown field(s) ['when']"),
        ({"stop_s": "x"}, "InvalidOperation"),
    ):
        resp = await api.client.post("/_sim/feed", json=body)
        assert resp.status_code == 400 and text in resp.json()["error"], body


# ---------------------------------------------------------------------------- settlement
SETTLE = """
[settlement]
flash_repay_s = 6
repay_s = 5
order_s = 3
[[accounts]]
name = "main"
funding = { cross = { USDT = "10000" } }
[paths]
BTCUSDT = [ { kind = "hold", duration = 1 }, { kind = "step", to = "20000" } ]
"""


def test_settlement_parses_with_defaults() -> None:
    """[settlement] keys parse; missing ones keep today's behaviour (2 s flash, 0 s others)."""
    assert parse_scenario(HEAD + SETTLE).settlement == Settlement(6, 5, 3)
    assert parse_scenario(HEAD).settlement == Settlement(2, 0, 0)


async def test_flash_repay_settles_after_the_scenario_delay(make: Any, connect: Any) -> None:
    """With flash_repay_s = 6: BEGIN, REPAYING after 3 s, FINISH (debt repaid) after 6 s."""
    sim, _, protocol = _sim(make, SETTLE)
    keys = sim.add_account("main")
    async with connect(sim, protocol) as api:
        await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "100"}, keys)
        fid = (await api.data("cross_flash_repay", {"coin": "USDT"}, keys))["id"]
        seen = []
        for step in (2.9, 0.2, 2.8, 0.2):
            sim.control.advance(step)
            status = await api.data("cross_flash_repay_status", {"idList": [fid]}, keys)
            seen.append(status[0]["status"])
    assert seen == ["BEGIN", "REPAYING", "REPAYING", "FINISH"]
    assert sim.control.state("main").scope("cross").balance("USDT").borrow == 0


async def test_repay_settles_after_the_delay_with_the_answered_id(make: Any, connect: Any) -> None:
    """With repay_s = 5 the amount is frozen at once and the debt falls 5 s later."""
    sim, _, protocol = _sim(make, SETTLE)
    keys = sim.add_account("main")
    async with connect(sim, protocol) as api:
        await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "1000"}, keys, **V2)
        body = {"coin": "USDT", "repayAmount": "400"}
        data = await api.data("cross_repay", body, keys, **V2)
        usdt = sim.control.state("main").scope("cross").balance("USDT")
        assert usdt.frozen == D(400) and usdt.borrow == D(1000)
        assert D(data["remainDebtAmount"]) == usdt.borrow + usdt.interest - 400
        sim.control.advance(4.9)
        assert sim.control.state("main").scope("cross").balance("USDT").borrow == D(1000)
        sim.control.advance(0.1)
        usdt = sim.control.state("main").scope("cross").balance("USDT")
        assert usdt.frozen == 0 and usdt.borrow + usdt.interest == D(data["remainDebtAmount"])
        rows = await api.data("cross_repays", {"startTime": "1"}, keys, **V2)
    assert rows["resultList"][0]["repayId"] == data["repayId"]


async def test_market_order_fills_after_the_delay_at_the_later_price(
    make: Any, connect: Any
) -> None:
    """With order_s = 3 a market buy is accepted as new, then fills at the price 3 s later."""
    sim, _, protocol = _sim(make, SETTLE)
    keys = sim.add_account("main")
    order = {
        "symbol": "BTCUSDT",
        "side": "buy",
        "orderType": "market",
        "quoteAmount": "2000",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    async with connect(sim, protocol) as api:
        await api.data("cross_place_order", order, keys)
        state = sim.control.state("main").scope("cross")
        assert [o.status for o in state.open_orders] == ["new"]
        assert state.balance("USDT").frozen == D(2000)
        sim.control.advance(3)
    cross = sim.control.state("main").scope("cross")
    assert cross.open_orders == () and cross.balance("USDT").frozen == 0
    assert cross.balance("BTC").available == D("0.1") - D("0.0001")  # 2000 / 20000, fee 0.1 %


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("repay_s = -1", "settlement.repay_s: -1 must be >= 0"),
        ("order_s = 7200", "settlement.order_s: 7200 s is longer than 3600 s"),
        ('flash_repay_s = "slow"', "settlement.flash_repay_s: 'slow' is not a number"),
        ("flash_repay_s = true", "settlement.flash_repay_s: expected a number of seconds"),
        ("borrow_s = 1", "settlement.borrow_s: unknown key"),
    ],
)
def test_settlement_errors(line: str, message: str) -> None:
    """Each bad settlement value is named with its key."""
    assert message in _problems(HEAD + f"[settlement]\n{line}\n")


# ---------------------------------------------------------------------------- tiers
TIERS = """
[tiers.cross.BTC]
mmr = "0.2"
max_borrowable = "5"
[tiers.isolated.BTCUSDT]
leverage = "5"
mmr = "0.1"
[[accounts]]
name = "main"
funding = { cross = { USDT = "30000" }, isolated.BTCUSDT = { USDT = "1000" } }
"""


async def test_tiers_change_risk_limits_and_the_tier_data(make: Any, connect: Any) -> None:
    """A coin's cross mmr and a symbol's isolated tier replace the catalog's, served and used."""
    sim, _, protocol = _sim(make, TIERS)
    keys = sim.add_account("main")
    async with connect(sim, protocol) as api:
        tier = (await api.data("cross_tier_data", {"coin": "BTC"}, keys))[0]
        assert (tier["maintainMarginRate"], tier["maxBorrowableAmount"]) == (
            "0.20000000",
            "5.00000000",
        )
        usdt_tier = (await api.data("cross_tier_data", {"coin": "USDT"}, keys))[0]
        assert usdt_tier["maintainMarginRate"] == "0.10000000"
        iso = (await api.data("isolated_tier_data", {"symbol": "BTCUSDT"}, keys))[0]
        assert (iso["leverage"], iso["maintainMarginRate"]) == ("5.00000000", "0.10000000")
        await api.data("cross_borrow", {"coin": "BTC", "borrowAmount": "0.5"}, keys)
        most = await api.data(
            "isolated_max_borrowable", {"symbol": "BTCUSDT", "coin": "USDT"}, keys
        )
    state = sim.control.state("main")
    cross = state.scope("cross")
    btc_debt = cross.balance("BTC").borrow + cross.balance("BTC").interest
    expected = btc_debt * 30000 * D("0.2") / cross.equity_usdt
    assert cross.risk_rate == pytest.approx(expected, rel=D("1e-6"))
    assert D(most["maxBorrowableAmount"]) == D(4000)  # equity 1000 × (leverage 5 − 1)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tiers.cross.BTC]\nmmr = "1"', "tiers.cross.BTC.mmr: 1 must be below 1"),
        ('[tiers.cross.BTC]\nmmr = "-0.1"', "tiers.cross.BTC.mmr: '-0.1' must be a number > 0"),
        ('[tiers.cross.BTC]\nleverage = "1"', "tiers.cross.BTC.leverage: 1 must be > 1"),
        ('[tiers.cross.SOL]\nmmr = "0.1"', "tiers.cross.SOL: coin not in [markets]"),
        ('[tiers.cross.BTC]\nbase_max_borrowable = "1"', "tiers.cross.BTC.base_max_borrowable"),
        ("[tiers.cross.BTC]", "tiers.cross.BTC: an empty tier changes nothing"),
        ('[tiers.isolated.XRPUSDT]\nmmr = "0.1"', "tiers.isolated.XRPUSDT: symbol is not in"),
        ('[tiers.isolated.BTCUSDT]\nmax_borrowable = "1"', "tiers.isolated.BTCUSDT.max_borrow"),
        ('[tiers.isolated.BTCUSDT]\nmmr = "lots"', "'lots' is not a decimal number"),
        ('[tiers.margin.BTC]\nmmr = "0.1"', "tiers.margin: unknown key"),
    ],
)
def test_tier_errors(table: str, message: str) -> None:
    """Each bad tier names tiers.cross.COIN / tiers.isolated.SYMBOL, the key and the value."""
    assert message in _problems(HEAD + table + "\n")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[symbols.BTCUSDT]\nmax_trade_amount = "0"', "symbols.BTCUSDT.max_trade_amount: '0'"),
        ('[symbols.XRPUSDT]\nmax_trade_amount = "1"', "symbols.XRPUSDT: symbol is not in"),
        ('[symbols.BTCUSDT]\nmin_trade_amount = "1"', "BTCUSDT.min_trade_amount: unknown key"),
        ("[symbols.BTCUSDT]", "symbols.BTCUSDT: give max_trade_amount"),
    ],
)
def test_symbol_limit_errors(table: str, message: str) -> None:
    """A bad [symbols] table names symbols.SYMBOL, the key and the value."""
    assert message in _problems(HEAD + table + "\n")


def test_a_symbols_largest_order_is_served_and_enforced() -> None:
    """[symbols.BTCUSDT] max_trade_amount is the catalog's maxTradeAmount; the set-up of a
    position bigger than it trades in several orders."""
    from riskd.sim import Simulator
    from riskd.sim.scenario import parse_scenario

    text = HEAD + (
        '[symbols.BTCUSDT]\nmax_trade_amount = "0.02"\n'
        '[[accounts]]\nname = "main"\n'
        'funding = { isolated.BTCUSDT = { USDT = "3000" } }\n'
        'positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "5" }]\n'
    )
    sim = Simulator(scenario=parse_scenario(text, "limits.toml"))
    assert sim.exchange.catalog.symbol("BTCUSDT").max_trade_amount == D("0.02")
    sim.add_scenario_accounts()
    assert sim.control.state("main").risk_rate("isolated:BTCUSDT") > 0
