"""The UTA client methods against the simulator over httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D

import httpx
import pytest

from riskd.amounts import fmt8
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoints_v3 import UTA_PLACE_ORDER
from riskd.bitget.errors import MalformedResponseError, RequestParamError, RiskdExchangeError
from riskd.sim.uta import uta_book, uta_figures
from tests.uta.conftest import Env, UtaClient


async def test_assets_are_the_simulators_account_wide_figures(env: Env) -> None:
    """uta_assets returns the sim's mgnRatio, mmr, imr, equities and per-coin debt as Decimals."""
    async with env.uta() as client:
        assets = await client.uta_assets()
    ex = env.sim.exchange
    truth = uta_figures(ex.ledger, uta_book(ex.account("uta")), ex.now())
    assert assets.mgn_ratio == D(fmt8(truth.mgn_ratio)) > 0
    assert assets.mmr == D(fmt8(truth.mmr))
    assert assets.account_equity == D(fmt8(truth.account_equity))
    assert assets.eff_equity == assets.account_equity and assets.imr > assets.mmr > 0
    usdt = assets.coin("USDT")
    assert usdt is not None and usdt.debt > D(2000) and usdt.available == D(1000)
    assert set(assets.debts()) == {"USDT"}


async def test_repay_with_the_debt_coin_then_with_btc(env: Env) -> None:
    """Repaying USDT with USDT pays 1000; then paying with BTC sells BTC and clears the debt."""
    async with env.uta() as client:
        before = await client.uta_assets()
        first = await client.uta_repay(repayable_coins=["USDT"], payment_coins=["USDT"])
        mid = await client.uta_assets()
        second = await client.uta_repay(repayable_coins=["USDT"], payment_coins=["BTC"])
        after = await client.uta_assets()
    assert first.repaid and first.repay_amount == D(1000)
    debt = {a.coin: a.debt for a in before.assets}["USDT"]
    assert mid.debts() == {"USDT": debt - D(1000)}
    assert second.repaid and after.debts() == {} and after.mgn_ratio == 0
    btc_before, btc_after = mid.coin("BTC"), after.coin("BTC")
    assert btc_before is not None and btc_after is not None
    assert btc_after.balance < btc_before.balance


async def test_repay_with_nothing_to_repay_answers_no(env: Env) -> None:
    """A repay of a coin without debt repays nothing: result NO."""
    async with env.uta() as client:
        result = await client.uta_repay(repayable_coins=["BTC"], payment_coins=["USDT"])
    assert not result.repaid and result.repay_amount == 0


async def test_margin_order_with_client_oid_listed_then_cancelled(env: Env) -> None:
    """A resting MARGIN sell keeps its clientOid, shows in open orders, and cancels by it."""
    async with env.uta() as client:
        placed = await client.uta_place_margin_order(
            symbol="BTCUSDT",
            side="sell",
            order_type="limit",
            qty=D("0.01"),
            price=D("40000"),
            client_oid="riskd-test-1",
        )
        listed = await client.uta_open_orders(symbol="BTCUSDT")
        cancelled = await client.uta_cancel_order(client_oid="riskd-test-1")
        after = await client.uta_open_orders()
    assert placed.client_oid == "riskd-test-1" and placed.order_id
    assert [(o.order_id, o.client_oid, o.status) for o in listed] == [
        (placed.order_id, "riskd-test-1", "new")
    ]
    assert listed[0].qty == D("0.01") and listed[0].price == D(40000)
    assert cancelled.order_id == placed.order_id and after == ()


async def test_market_sell_reduces_and_a_client_oid_is_generated(env: Env) -> None:
    """A market sell without clientOid gets a riskd- one and lowers the BTC balance."""
    async with env.uta() as client:
        before = await client.uta_assets()
        placed = await client.uta_place_margin_order(
            symbol="BTCUSDT", side="sell", order_type="market", qty=D("0.03")
        )
        after = await client.uta_assets()
    assert placed.client_oid is not None and placed.client_oid.startswith("riskd-")
    btc_before, btc_after = before.coin("BTC"), after.coin("BTC")
    assert btc_before is not None and btc_after is not None
    assert btc_before.balance - btc_after.balance == D("0.03")


async def test_open_orders_follow_the_cursor_across_pages(env: Env) -> None:
    """More open orders than one page are all read, newest first, through ``cursor``."""
    async with env.uta() as client:
        for i in range(5):
            await client.uta_place_margin_order(
                symbol="BTCUSDT",
                side="sell",
                order_type="limit",
                qty=D("0.001"),
                price=D(40000 + i),
                client_oid=f"page-{i}",
            )
        orders = await client.uta_open_orders(page_size=2)
    assert [o.client_oid for o in orders] == [f"page-{i}" for i in reversed(range(5))]


async def test_classic_endpoint_on_a_uta_account_answers_40085(env: Env) -> None:
    """A v2 classic call for the UTA account is refused with 40085."""
    async with env.classic("uta") as client:
        with pytest.raises(RiskdExchangeError) as info:
            await client.cross_assets()
    assert info.value.code == "40085"


async def test_v3_endpoint_on_a_classic_account_answers_40084(env: Env) -> None:
    """A v3 call for a classic account is refused with 40084, and the mode reads classic."""
    async with env.uta("classic") as client:
        with pytest.raises(RiskdExchangeError) as info:
            await client.uta_assets()
        assert info.value.code == "40084" and "Classic Account mode" in info.value.msg
        assert await client.uta_account_mode() == "classic"
    async with env.uta("uta") as client:
        assert await client.uta_account_mode() == "unified"


async def test_settings_and_tiers_are_read(env: Env) -> None:
    """Settings carry the account mode; MARGIN tiers carry the coin's maintenance rate."""
    async with env.uta() as client:
        settings = await client.uta_settings()
        tiers = await client.uta_position_tiers(coin="BTC")
    assert settings.account_mode == "advanced" and settings.raw["holdMode"] == "one_way_mode"
    assert [t.mmr for t in tiers] == [D("0.15")]


async def test_bad_arguments_are_refused_before_sending(env: Env) -> None:
    """Empty coin lists, a limit without price and a cancel without id are refused locally."""
    async with env.uta() as client:
        with pytest.raises(RequestParamError, match="must not be empty"):
            await client.uta_repay(repayable_coins=[], payment_coins=["USDT"])
        with pytest.raises(RequestParamError, match="needs a price"):
            await client.uta_place_margin_order(
                symbol="BTCUSDT", side="buy", order_type="limit", qty=D(1)
            )
        with pytest.raises(RequestParamError, match="order_id or client_oid"):
            await client.uta_cancel_order()
    assert env.sim.stats.requests.get("uta_repay", 0) == 0


def _answer(data: object) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/public/time"):
            body: object = {"serverTime": "1700000000000"}
        else:
            body = data
        return httpx.Response(200, json={"code": "00000", "msg": "success", "data": body})

    return httpx.MockTransport(handler)


@asynccontextmanager
async def _client(data: object) -> AsyncIterator[UtaClient]:
    creds = Credentials.hmac("uta-test-key", "uta-test-secret", "uta-test-passphrase")
    async with httpx.AsyncClient(transport=_answer(data)) as http:
        yield UtaClient(creds, http=http, base_url="http://x", sync_clock=False)


_ASSETS = {
    "accountEquity": "10",
    "effEquity": "9",
    "mmr": "1",
    "imr": "2",
    "mgnRatio": "0.1",
    "assets": [{"coin": "USDT", "equity": "10", "balance": "10", "available": "10", "debt": "0"}],
}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({k: v for k, v in _ASSETS.items() if k != "mgnRatio"}, "mgnRatio"),
        ({**_ASSETS, "mmr": "n/a"}, "mmr"),
        ({**_ASSETS, "assets": [{"coin": "BTC", "equity": "1"}]}, "assets.0.balance"),
        ([_ASSETS], "expected an object, got list"),
    ],
)
async def test_assets_in_an_unexpected_shape_are_refused(data: object, field: str) -> None:
    """A missing mgnRatio, a non-number mmr or a coin without balance name endpoint and field."""
    async with _client(data) as client:
        with pytest.raises(MalformedResponseError) as info:
            await client.uta_assets()
    text = str(info.value)
    assert "uta_assets (GET /api/v3/account/assets)" in text and field in text


@pytest.mark.parametrize(
    "data",
    [
        [{"coin": "USDT", "size": "5", "amount": "5"}],
        {"list": [{"coin": "USDT", "size": "5", "amount": "5"}]},
        {"repayableCoinList": ["USDT"]},
    ],
)
async def test_repayable_coins_accept_every_listed_shape(data: object) -> None:
    """A bare list, an object holding the list, or bare coin names are all read."""
    async with _client(data) as client:
        rows = await client.uta_repayable_coins()
    assert [r.coin for r in rows] == ["USDT"]


async def test_an_open_orders_answer_with_an_unknown_status_is_refused() -> None:
    """An order status outside the vocabulary is malformed, naming the endpoint."""
    row = {"orderId": "1", "symbol": "BTCUSDT", "side": "sell", "orderType": "limit"}
    async with _client({"list": [{**row, "orderStatus": "exploded"}], "cursor": ""}) as client:
        with pytest.raises(MalformedResponseError, match=r"uta_open_orders .*exploded"):
            await client.uta_open_orders()
    async with _client([{**row, "orderStatus": "live"}]) as bare:
        assert [o.status for o in await bare.uta_open_orders()] == ["new"]


async def test_a_repay_answer_without_result_is_refused_as_outcome_unknown() -> None:
    """A repay answer without ``result`` is malformed and flagged: re-read before acting."""
    async with _client({"repayAmount": "1"}) as client:
        with pytest.raises(MalformedResponseError) as info:
            await client.uta_repay(repayable_coins=["USDT"], payment_coins=["USDT"])
    assert info.value.outcome_unknown and "result" in str(info.value)


async def test_order_refusals_carry_the_documents_codes(env: Env) -> None:
    """A repeated clientOid is 50060, an unknown order 43001, a category but MARGIN 40020."""
    async with env.uta() as client:
        order = {"symbol": "BTCUSDT", "side": "sell", "order_type": "limit", "qty": D("0.01")}
        await client.uta_place_margin_order(**order, price=D(40000), client_oid="twice")
        with pytest.raises(RiskdExchangeError) as duplicate:
            await client.uta_place_margin_order(**order, price=D(41000), client_oid="twice")
        with pytest.raises(RiskdExchangeError) as unknown:
            await client.uta_cancel_order(order_id="999999999")
        body = {"category": "SPOT", "symbol": "BTCUSDT", "qty": "1", "side": "buy"}
        with pytest.raises(RiskdExchangeError) as category:
            await client.call(UTA_PLACE_ORDER, {**body, "orderType": "market"})
    assert (duplicate.value.code, unknown.value.code, category.value.code) == (
        "50060",
        "43001",
        "40020",
    )
    assert len(env.sim.exchange.account("uta").open_orders()) == 1
