"""Flash repay: asynchronous BEGIN → REPAYING → FINISH, selling assets to cover the debt."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from riskd.clock import LoopClock, ManualClock
from riskd.sim import Simulator

ISO = {"symbol": "BTCUSDT"}


async def _cross_all_in(api, keys) -> None:
    """Borrow 20000 USDT in cross and spend all USDT on BTC: the debt needs a sale to repay."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "20000"}, keys)
    order = {
        "symbol": "BTCUSDT",
        "side": "buy",
        "orderType": "market",
        "quoteAmount": "30000",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    await api.data("cross_place_order", order, keys)


async def _status(api, keys, ids, margin="cross"):
    return await api.data(f"{margin}_flash_repay_status", {"idList": ids}, keys)


async def test_cross_flash_repay_lifecycle(api, alice, sim) -> None:
    """BEGIN at once, REPAYING after 1 s, FINISH after 2 s with the USDT debt repaid by a sale."""
    await _cross_all_in(api, alice)
    data = await api.data("cross_flash_repay", {"coin": "USDT"}, alice)
    assert data["coin"] == "USDT" and data["id"].isdigit()
    fid = data["id"]
    assert await _status(api, alice, [fid]) == [{"id": fid, "status": "BEGIN"}]
    assert sim.control.state("alice").scope("cross").balance("USDT").borrow == D(20000)
    sim.control.advance(1)
    assert await _status(api, alice, [fid]) == [{"id": fid, "status": "REPAYING"}]
    sim.control.advance(1)
    assert await _status(api, alice, [fid]) == [{"id": fid, "status": "FINISH"}]
    usdt = sim.control.state("alice").scope("cross").balance("USDT")
    assert usdt.borrow == 0 and usdt.interest == 0
    history = await api.data("cross_order_history", {**ISO, "startTime": "1"}, alice)
    sells = [o for o in history["orderList"] if o["side"] == "systemRepay-sell"]
    assert len(sells) == 1 and sells[0]["source"] == "SYS"
    repays = (await api.data("cross_repays", {"startTime": "1"}, alice))["resultList"]
    assert repays[0]["type"] == "autoRepay"
    assert D(repays[0]["totalAmount"]) == D("20000.16666667")
    assert sim.stats.flash_repays == 1


async def test_cross_flash_repay_without_coin_repays_every_debt(api, alice, sim) -> None:
    """An empty coin repays all cross debts (here USDT and ETH)."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "100"}, alice)
    await api.data("cross_borrow", {"coin": "ETH", "borrowAmount": "1"}, alice)
    data = await api.data("cross_flash_repay", {}, alice)
    assert data["coin"] is None
    sim.control.advance(2)
    scope = sim.control.state("alice").scope("cross")
    assert scope.liabilities_usdt == 0


async def test_isolated_flash_repay_empty_list_means_all(api, alice, sim) -> None:
    """symbols [] repays every isolated symbol with debt, one id per symbol."""
    await api.data("isolated_borrow", {"coin": "USDT", "borrowAmount": "100", **ISO}, alice)
    params = {"coin": "ETH", "borrowAmount": "0.1", "symbol": "ETHUSDT"}
    await api.data("isolated_borrow", params, alice)
    data = await api.data("isolated_flash_repay", {"symbols": []}, alice)
    assert sorted(d["symbol"] for d in data) == ["BTCUSDT", "ETHUSDT"]
    assert all(d["code"] == "success" for d in data)
    ids = [d["id"] for d in data]
    sim.control.advance(2)
    statuses = await _status(api, alice, ids, "isolated")
    assert [s["status"] for s in statuses] == ["FINISH", "FINISH"]
    state = sim.control.state("alice")
    assert state.scope("isolated:BTCUSDT").liabilities_usdt == 0
    assert state.scope("isolated:ETHUSDT").liabilities_usdt == 0


async def test_isolated_flash_repay_buys_back_a_borrowed_base(api, alice, sim) -> None:
    """A short (borrowed BTC, sold) is covered by a systemRepay-buy of BTC."""
    await api.data("isolated_borrow", {"coin": "BTC", "borrowAmount": "0.5", **ISO}, alice)
    sell = {
        **ISO,
        "side": "sell",
        "orderType": "market",
        "baseQuantity": "0.55",
        "loanType": "normal",
        "timeInForce": "gtc",
    }
    await api.data("isolated_place_order", sell, alice)
    await api.data("isolated_flash_repay", {"symbols": ["BTCUSDT"]}, alice)
    sim.control.advance(2)
    btc = sim.control.state("alice").scope("isolated:BTCUSDT").balance("BTC")
    assert btc.borrow == 0 and btc.interest == 0
    history = await api.data("isolated_order_history", {**ISO, "startTime": "1"}, alice)
    assert any(o["side"] == "systemRepay-buy" for o in history["orderList"])


async def test_status_query_omits_unknown_and_foreign_ids(api, alice, sim) -> None:
    """Unknown ids, other accounts' ids and the other margin kind's ids are not reported."""
    bob = sim.add_account("bob")
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "10"}, alice)
    fid = (await api.data("cross_flash_repay", {"coin": "USDT"}, alice))["id"]
    assert await _status(api, alice, [fid, "123"]) == [{"id": fid, "status": "BEGIN"}]
    assert await _status(api, bob, [fid]) == []
    assert await _status(api, alice, [fid], "isolated") == []


async def test_flash_repay_progresses_lazily_on_requests(api, alice, market) -> None:
    """Without control.advance, a request after market time passed sees FINISH (lazy catch-up)."""
    await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "10"}, alice)
    fid = (await api.data("cross_flash_repay", {"coin": "USDT"}, alice))["id"]
    market.advance(5)
    assert await _status(api, alice, [fid]) == [{"id": fid, "status": "FINISH"}]


def test_loop_clock_moves_processes_without_a_ticker(connect) -> None:
    """On virtual time (a LoopClock), market time passes by itself and each request catches up."""
    from riskd.virtual_time import run_virtual

    async def body() -> None:
        protocol = ManualClock(1_750_000_000)
        sim = Simulator(LoopClock(1_750_000_000), protocol_clock=protocol, rate_limits=False)
        keys = sim.add_account("alice")
        async with connect(sim, protocol) as api:
            await api.data("cross_borrow", {"coin": "USDT", "borrowAmount": "10"}, keys)
            fid = (await api.data("cross_flash_repay", {"coin": "USDT"}, keys))["id"]
            await asyncio.sleep(10)  # 10 s of virtual market time, no real wait
            assert await _status(api, keys, [fid]) == [{"id": fid, "status": "FINISH"}]

    run_virtual(body())
