"""Reconciliation of UTA (API v3) intents whose answer was lost: orders by clientOid through v3
order info, repays by the debt before against now; unknown stays open, never sent twice."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.daemon.exchange import CallUncertain
from riskd.daemon.journal import NOT_EXECUTED, PENDING, SUCCEEDED, Intent, Journal
from riskd.daemon.reconcile import Reconciler
from riskd.daemon.uta_exchange import UtaExchange
from riskd.risk.snapshot import UTA

from .test_uta_daemon import World

PLACE = "/api/v3/trade/place-order"
REPAY = "/api/v3/account/repay"
ORDER_INFO = "/api/v3/trade/order-info"


class LosingTransport(httpx.AsyncBaseTransport):
    """Forwards to the simulator; for a path in ``lose_after`` the exchange acts but the
    answer is lost, for one in ``lose_before`` the request never reaches it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lose_after: set[str] = set()
        self.lose_before: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.lose_before:
            raise httpx.ReadTimeout("answer lost (never received)", request=request)
        response = await self.inner.handle_async_request(request)
        if path in self.lose_after:
            await response.aread()
            raise httpx.ReadTimeout("answer lost (executed)", request=request)
        return response


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.world = World(tmp_path, {"uta": {}})
        self.transport = LosingTransport(httpx.ASGITransport(app=self.world.sim.app))
        self.http = httpx.AsyncClient(transport=self.transport, base_url="http://sim")
        self.alerts: list[str] = []
        self.ex = self.exchange()

    def exchange(self) -> UtaExchange:
        k = self.world.keys["uta"]
        client = BitgetClient(
            Credentials.hmac(k.api_key, k.secret, k.passphrase),
            http=self.http,
            base_url="http://sim",
            api="v2",
            clock=self.world.clock,  # retries wait on the manual clock, not for real
        )

        async def hook(text: str) -> None:
            self.alerts.append(text)

        return UtaExchange(client, liquidation_level=D(1), on_bad_answer=hook)

    def calls(self, name: str) -> int:
        return self.world.sim.stats.requests.get(name, 0)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.world.http.aclose()


@pytest.fixture
async def rig(tmp_path: Path):
    r = Rig(tmp_path)
    yield r
    await r.aclose()


async def _intent(journal: Journal, rig: Rig, n: int, kind: str, **params: str) -> Intent:
    intent = Intent(
        intent_id=f"i{n}",
        at=rig.world.clock.now(),
        account="uta",
        scope=UTA,
        kind=kind,
        rule="r",
        action_id=f"a{n}",
        params={"kind": kind, "scope": UTA, **params},
    )
    await journal.begin_intent(intent, kind)
    return intent


def _reconciler(journal: Journal, rig: Rig) -> Reconciler:
    return Reconciler(journal, lambda account: rig.ex, rig.world.clock)


async def _reduce(rig: Rig, oid: str) -> None:
    with pytest.raises(CallUncertain):
        await rig.ex.place_market_autorepay(
            UTA, symbol="BTCUSDT", side="sell", amount=D("0.01"), client_oid=oid
        )


async def test_executed_order_with_lost_answer_is_settled_executed(rig: Rig, journal) -> None:
    """A MARGIN order the exchange placed but whose answer was lost is found by its clientOid
    (v3 order info): succeeded with the order id, and no order is sent again."""
    await _intent(journal, rig, 1, "reduce", symbol="BTCUSDT", clientOid="riskd-i1")
    rig.transport.lose_after.add(PLACE)
    await _reduce(rig, "riskd-i1")
    settled, still_open = await _reconciler(journal, rig).reconcile_all()
    order = rig.world.sim.exchange.account("uta").order("cross", None, "riskd-i1")
    assert order is not None and still_open == 0
    assert [(s.status, s.ref) for s in settled] == [(SUCCEEDED, str(order.id))]
    assert rig.calls("uta_order_info") == 1 and rig.calls("uta_place_order") == 1
    assert await journal.open_intents() == []


async def test_order_never_received_is_settled_not_executed(rig: Rig, journal) -> None:
    """A MARGIN order that never reached the exchange: order info knows no such clientOid
    (43001), so the intent is settled not executed."""
    await _intent(journal, rig, 2, "reduce", symbol="BTCUSDT", clientOid="riskd-i2")
    rig.transport.lose_before.add(PLACE)
    await _reduce(rig, "riskd-i2")
    settled, still_open = await _reconciler(journal, rig).reconcile_all()
    assert [s.status for s in settled] == [NOT_EXECUTED] and still_open == 0
    assert "no order with clientOid riskd-i2" in settled[0].detail
    assert rig.calls("uta_place_order") == 0


async def test_order_lookup_failing_keeps_the_intent_open(rig: Rig, journal) -> None:
    """Order info without an answer is no answer: the intent stays open (the scope is held)."""
    rec = await _intent(journal, rig, 3, "reduce", symbol="BTCUSDT", clientOid="riskd-i3")
    rig.transport.lose_before.add(ORDER_INFO)
    settled, still_open = await _reconciler(journal, rig).reconcile_all()
    assert settled == [] and still_open == 1
    got = await journal.intent(rec.intent_id)
    assert got is not None and got.status == PENDING


async def test_executed_repay_with_lost_answer_is_settled_by_debt(rig: Rig, journal) -> None:
    """A v3 repay executed but unanswered: the debt read before sending is above the debt
    now, so it is settled executed, the journal line naming the debt comparison."""
    await rig.ex.client.uta_place_margin_order(
        symbol="BTCUSDT", side="sell", order_type="market", qty=D("0.01")
    )  # some USDT to repay with
    before = (await rig.ex.read()).debts()["USDT"]
    await _intent(journal, rig, 4, "repay", coin="USDT", amount="290")
    rig.transport.lose_after.add(REPAY)
    with pytest.raises(CallUncertain):
        await rig.ex.repay(UTA, coin="USDT", amount=D(290), symbol=None)
    repays = rig.calls("uta_repay")
    settled, still_open = await _reconciler(journal, rig).reconcile_all()
    assert [s.status for s in settled] == [SUCCEEDED] and still_open == 0
    assert "by debt comparison" in settled[0].detail and str(before) in settled[0].detail
    rec = await journal.intent("i4")
    assert rec is not None and "by debt comparison" in rec.outcome["detail"]
    assert rig.calls("uta_repay") == repays


async def test_repay_never_received_is_settled_not_executed(rig: Rig, journal) -> None:
    """A v3 repay that never reached the exchange: the debt is not lower, so once the grace
    after the intent has passed it is settled not executed (open until then)."""
    await _intent(journal, rig, 5, "repay", coin="USDT", amount="10")
    rig.transport.lose_before.add(REPAY)
    with pytest.raises(CallUncertain):
        await rig.ex.repay(UTA, coin="USDT", amount=D(10), symbol=None)
    reconciler = _reconciler(journal, rig)
    assert await reconciler.reconcile_all() == ([], 1)  # maybe still being processed
    rig.world.clock.advance(6)
    settled, _ = await reconciler.reconcile_all()
    assert [s.status for s in settled] == [NOT_EXECUTED]
    assert "not executed, by debt comparison" in settled[0].detail
    assert rig.calls("uta_repay") == 0


async def test_repay_without_a_figure_from_before_stays_open_with_one_alert(
    rig: Rig, journal
) -> None:
    """After a restart (no debt figure from before) a repay of a coin still owed is kept
    open with one critical alert, never guessed not executed."""
    await _intent(journal, rig, 6, "repay", coin="USDT", amount="10")
    rig.ex = rig.exchange()  # a fresh process: nothing remembered
    for _ in range(2):
        settled, still_open = await _reconciler(journal, rig).reconcile_all()
        assert settled == [] and still_open == 1
    assert len(rig.alerts) == 1 and "cannot be told" in rig.alerts[0]
    assert rig.calls("uta_repay") == 0


async def test_journaled_debt_before_settles_after_a_restart(rig: Rig, journal) -> None:
    """An intent carrying ``debtBefore`` is settled from it with no remembered figure."""
    owed = (await rig.ex.read()).debts()["USDT"]
    await _intent(journal, rig, 8, "repay", coin="USDT", amount="10", debtBefore=str(owed + 5))
    rig.ex = rig.exchange()
    settled, _ = await _reconciler(journal, rig).reconcile_all()
    assert [s.status for s in settled] == [SUCCEEDED]
    assert "read just before" not in settled[0].detail and "journaled" in settled[0].detail


async def test_account_wide_repay_with_lost_answer_is_settled_by_debts(rig: Rig, journal) -> None:
    """The account-wide repay of a "*" flashRepay, executed but unanswered and without an id,
    is settled executed from the debts before and now (not after a timeout guess)."""
    await rig.ex.read()
    await _intent(journal, rig, 9, "flashRepay")
    rig.transport.lose_after.add(REPAY)
    with pytest.raises(CallUncertain):
        await rig.ex.flash_repay(UTA, coin=None, symbol=None)
    settled, still_open = await _reconciler(journal, rig).reconcile_all()
    assert [s.status for s in settled] == [SUCCEEDED] and still_open == 0
    assert "uta repay of every debt executed, by debt comparison" in settled[0].detail


async def test_daemon_settles_a_lost_reduce_answer_and_does_not_send_it_again(
    tmp_path: Path,
) -> None:
    """In the running daemon, a reduce whose answer is lost is settled executed from v3 order
    info (the order found by its clientOid), and no second order is sent for it."""
    world = World(tmp_path, {"uta": {"uta_liquidation_level": "1"}})
    plain = world.http
    transport = LosingTransport(httpx.ASGITransport(app=world.sim.app))
    world.http = httpx.AsyncClient(transport=transport, base_url="http://sim")
    built = await world.build()
    try:
        daemon = built.daemon
        await daemon.start()
        await daemon.run_cycle()
        world.clock.advance(1.0)
        world.sim.control.set_price("BTCUSDT", D(23400))
        transport.lose_after.add(PLACE)
        for _ in range(3):
            world.clock.advance(1.0)
            await daemon.run_cycle()
            transport.lose_after.clear()
        reduces = [r for r in await daemon.journal.intents(since=0) if r.intent.kind == "reduce"]
        assert [r.status for r in reduces] == [SUCCEEDED]
        assert "found" in reduces[0].outcome["detail"]
        assert world.sim.stats.requests["uta_place_order"] == 1
        assert world.sim.stats.requests["uta_order_info"] >= 1
        assert world.sim.stats.liquidations == 0
    finally:
        await built.aclose()
        await world.http.aclose()
        await plain.aclose()
