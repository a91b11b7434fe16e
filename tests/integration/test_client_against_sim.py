"""The client against the simulated exchange through httpx.ASGITransport: every endpoint,
signatures verified by the simulator (HMAC and RSA), wrong credentials refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.bitget.endpoints import ENDPOINTS
from riskd.bitget.errors import (
    AuthenticationError,
    ExchangeUnavailableError,
    InvalidRequestError,
    NotFoundError,
    RiskdExchangeError,
)
from riskd.bitget.models_orders import OrderRequest
from riskd.cli.api import ApiDeps, api
from riskd.clock import ManualClock
from riskd.sim import FaultSpec, Simulator

START = 1_700_000_000.0
SINCE_MS = int(START * 1000) - 86_400_000


class Env:
    def __init__(self) -> None:
        self.clock = ManualClock(start=START)
        self.sim = Simulator(clock=self.clock)
        self.keys = self.sim.add_account("alice")
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.sim.app))

    def client(self, credentials: Credentials | None = None, **kw: Any) -> BitgetClient:
        if credentials is None:
            k = self.keys
            credentials = Credentials.hmac(k.api_key, k.secret, k.passphrase)
        return BitgetClient(credentials, http=self.http, base_url="http://sim", **kw)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e = Env()
    yield e
    await e.http.aclose()


def _limit(side: str, price: str, qty: str = "0.001") -> OrderRequest:
    return OrderRequest(
        side=side, order_type="limit", price=Decimal(price), base_quantity=Decimal(qty)
    )


async def _orders(client: BitgetClient, m: str, symbol: str) -> None:
    """Every order endpoint of margin mode ``m``."""
    call = lambda name: getattr(client, f"{m}_{name}")  # noqa: E731
    placed = await call("place_order")(symbol=symbol, order=_limit("buy", "10000"))
    assert placed.order_id
    page = await call("open_orders")(symbol=symbol)
    assert placed.order_id in [o.order_id for o in page.items]
    cancelled = await call("cancel_order")(symbol=symbol, order_id=placed.order_id)
    assert [a.order_id for a in cancelled.result_list] == [placed.order_id]
    batch = await call("batch_place_order")(
        symbol=symbol, orders=[_limit("buy", "10000"), _limit("buy", "10001")]
    )
    ids = [a.order_id for a in batch.result_list]
    assert len(ids) == 2 and not batch.failure
    undone = await call("batch_cancel_order")(symbol=symbol, order_ids=ids)
    assert sorted(a.order_id for a in undone.result_list) == sorted(ids)
    market = OrderRequest(side="buy", order_type="market", quote_amount=Decimal("50"))
    await call("place_order")(symbol=symbol, order=market)
    history = await call("order_history")(symbol=symbol, start_time=SINCE_MS)
    assert len(history.items) >= 4
    fills = await call("fills")(symbol=symbol, start_time=SINCE_MS)
    assert fills.items and all(f.fill_price is not None for f in fills.items)


async def test_every_endpoint_through_the_client(env: Env) -> None:
    """All 46 endpoints answer through their typed method with verified signatures."""
    async with env.client() as c:
        assert await c.server_time() > 0
        assert {x.symbol for x in await c.currencies()} >= {"BTCUSDT", "ETHUSDT"}
        assert (await c.cross_interest_rate_and_limit(coin="USDT"))[0].coin == "USDT"
        assert (await c.isolated_interest_rate_and_limit(symbol="BTCUSDT"))[0].symbol == "BTCUSDT"
        assert (await c.cross_tier_data(coin="USDT"))[0].maintain_margin_rate > 0
        assert (await c.isolated_tier_data(symbol="BTCUSDT"))[0].maintain_margin_rate > 0
        usdt = (await c.cross_assets(coin="USDT"))[0]
        assert usdt.total_amount == Decimal(10000)
        assert {a.coin for a in await c.isolated_assets(symbol="BTCUSDT")} == {"BTC", "USDT"}
        b = await c.cross_borrow(coin="USDT", borrow_amount=Decimal("100"))
        assert b.borrow_amount == Decimal(100)
        ib = await c.isolated_borrow(symbol="BTCUSDT", coin="USDT", borrow_amount=Decimal("50"))
        assert ib.symbol == "BTCUSDT"
        assert (await c.cross_risk_rate(coin="USDT")).risk_rate >= 0
        assert (await c.isolated_risk_rate(symbol="BTCUSDT"))[0].symbol == "BTCUSDT"
        assert (await c.cross_max_borrowable(coin="USDT")).max_borrowable_amount > 0
        assert (await c.isolated_max_borrowable(symbol="BTCUSDT", coin="USDT")).coin == "USDT"
        assert (await c.cross_max_transfer_out(coin="USDT")).max_transfer_out_amount > 0
        await c.isolated_max_transfer_out(symbol="BTCUSDT", coin="USDT")
        r = await c.cross_repay(coin="USDT", repay_amount=Decimal("40"))
        assert r.repay_amount == Decimal(40) and r.remain_debt_amount > 0
        ir = await c.isolated_repay(symbol="BTCUSDT", coin="USDT", repay_amount=Decimal("20"))
        assert ir.remain_debt_amount > 0
        for m, symbol in (("cross", "BTCUSDT"), ("isolated", "BTCUSDT")):
            await _orders(c, m, symbol)
        for m in ("cross", "isolated"):
            kw: dict[str, Any] = {"start_time": SINCE_MS}
            if m == "isolated":
                kw["symbol"] = "BTCUSDT"
            loans = await getattr(c, f"{m}_loans")(**kw)
            assert loans.items and loans.items[0].amount == Decimal(100 if m == "cross" else 50)
            assert (await getattr(c, f"{m}_repays")(**kw)).items
            await getattr(c, f"{m}_interests")(**kw)
            await getattr(c, f"{m}_liquidations")(**kw)
            assert (await getattr(c, f"{m}_fin_flows")(**kw)).items
        flash = await c.cross_flash_repay(coin="USDT")
        (status,) = await c.cross_flash_repay_status(id_list=[flash.id])
        assert status.id == flash.id
        iso = await c.isolated_flash_repay(symbols=["BTCUSDT"])
        assert [x.symbol for x in iso] == ["BTCUSDT"]
        (istatus,) = await c.isolated_flash_repay_status(id_list=[iso[0].id])
        assert istatus.status in ("BEGIN", "REPAYING", "FINISH")
    seen = {name for name, n in env.sim.counters.requests.items() if n}
    assert seen >= {e.name for e in ENDPOINTS}
    assert env.sim.counters.errors == 0


async def test_generic_call_returns_raw_data(env: Env) -> None:
    """client.call returns the answer's data as the exchange sent it."""
    async with env.client() as c:
        data = await c.call("cross_assets", {"coin": "USDT"})
    assert data[0]["coin"] == "USDT" and data[0]["totalAmount"] == "10000.00000000"


async def test_wrong_secret_is_refused_with_40009(env: Env) -> None:
    """A request signed with the wrong secret is an AuthenticationError 40009."""
    creds = Credentials.hmac(env.keys.api_key, "not-the-secret", env.keys.passphrase)
    async with env.client(creds) as c:
        with pytest.raises(AuthenticationError) as info:
            await c.cross_assets()
    assert info.value.code == "40009"


async def test_wrong_passphrase_and_unknown_key_are_authentication_errors(env: Env) -> None:
    """40012 and 40006 map to AuthenticationError too."""
    for creds, code in (
        (Credentials.hmac(env.keys.api_key, env.keys.secret, "wrong-pass"), "40012"),
        (Credentials.hmac("unknown-key", env.keys.secret, env.keys.passphrase), "40006"),
    ):
        async with env.client(creds) as c:
            with pytest.raises(AuthenticationError) as info:
                await c.cross_risk_rate(coin="USDT")
        assert info.value.code == code


async def test_rsa_key_is_accepted(env: Env) -> None:
    """An account registered with an RSA public key accepts the client's RSA signatures."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    keys = env.sim.add_account("rsa-user", rsa_public_key_pem=public)
    async with env.client(Credentials.rsa(keys.api_key, private, keys.passphrase)) as c:
        assert (await c.cross_assets(coin="USDT"))[0].total_amount > 0
        await c.cross_borrow(coin="USDT", borrow_amount=Decimal("1"))


async def test_odd_characters_are_signed_as_sent(env: Env) -> None:
    """Non-ASCII and $ in values pass signature checks; the sim then refuses the coin."""
    async with env.client() as c:
        for coin in ("US$DT", "ÜSDT€", "a b&c=d"):
            with pytest.raises(RiskdExchangeError) as info:
                await c.cross_assets(coin=coin)
            assert info.value.code != "40009", coin
            with pytest.raises(RiskdExchangeError) as info:
                await c.cross_borrow(coin=coin, borrow_amount=Decimal("1"))
            assert info.value.code != "40009", coin


async def test_clock_jump_is_recovered_by_one_resync(env: Env) -> None:
    """With the server's clock moved by a skew fault, a signed call resyncs and succeeds."""
    async with env.client(clock=env.clock) as c:
        await c.cross_borrow(coin="USDT", borrow_amount=Decimal("5"))
        syncs = c.server_clock.sync_count
        env.sim.control.inject_fault(FaultSpec(clock_skew_s=120.0))
        await c.cross_repay(coin="USDT", repay_amount=Decimal("1"))
        assert c.server_clock.sync_count == syncs + 1
    assert env.sim.counters.requests["cross_repay"] == 2


async def test_paging_through_simulated_records(env: Env) -> None:
    """iter_records walks every loan record page by page (pageId = minId)."""
    async with env.client() as c:
        for i in range(5):
            await c.cross_borrow(coin="USDT", borrow_amount=Decimal(i + 1))
        got = [r async for r in c.iter_records("cross_loans", start_time=SINCE_MS, page_size=2)]
    assert sorted(r.amount for r in got) == [Decimal(n) for n in range(1, 6)]
    assert env.sim.counters.requests["cross_loans"] >= 3


async def test_faults_retry_reads_but_never_repays(env: Env) -> None:
    """Under 5xx faults a read is retried until it gives up; a repay is sent once."""
    env.sim.control.inject_fault(
        FaultSpec(error_rate=1.0, endpoints=("cross_assets", "cross_repay"))
    )
    async with env.client(clock=env.clock) as c:
        with pytest.raises(ExchangeUnavailableError):
            await c.cross_assets()
        with pytest.raises(ExchangeUnavailableError):
            await c.cross_repay(coin="USDT", repay_amount=Decimal("1"))
    assert env.sim.counters.requests["cross_assets"] == 4
    assert env.sim.counters.requests["cross_repay"] == 1


async def test_business_refusals_map_to_their_classes(env: Env) -> None:
    """Unknown symbols are NotFound; over-borrowing and repaying no debt are InvalidRequest."""
    async with env.client() as c:
        with pytest.raises(NotFoundError):
            await c.isolated_tier_data(symbol="NOPEUSDT")
        with pytest.raises(NotFoundError):
            await c.cross_assets(coin="NOPE")
        with pytest.raises(InvalidRequestError) as info:
            await c.cross_borrow(coin="USDT", borrow_amount=Decimal("100000000"))
        assert info.value.code == "50035"
        with pytest.raises(InvalidRequestError) as info:
            await c.cross_repay(coin="USDT", repay_amount=Decimal("1"))  # no debt yet


def test_riskd_api_against_the_simulator() -> None:
    """`riskd api GET .../riskRate -f coin=USDT` prints the simulator's data."""
    sim = Simulator(clock=ManualClock(start=START))
    keys = sim.add_account("cli")
    env = {
        "RISKD_API_KEY": keys.api_key,
        "RISKD_API_SECRET": keys.secret,
        "RISKD_API_PASSPHRASE": keys.passphrase,
        "RISKD_API_RSA_KEY_FILE": "",
        "RISKD_BASE_URL": "http://sim",
    }
    deps = ApiDeps(transport=httpx.ASGITransport(app=sim.app))
    runner = CliRunner()
    result = runner.invoke(
        api, ["GET", "/api/margin/v1/cross/account/riskRate", "-f", "coin=USDT"], obj=deps, env=env
    )
    assert result.exit_code == 0, result.output
    assert "riskRate" in json.loads(result.stdout)
    bad = runner.invoke(
        api,
        ["GET", "/api/margin/v1/cross/account/riskRate", "-f", "coin=USDT"],
        obj=deps,
        env={**env, "RISKD_API_SECRET": "wrong"},
    )
    assert bad.exit_code == 1 and "error 40009" in bad.stderr
