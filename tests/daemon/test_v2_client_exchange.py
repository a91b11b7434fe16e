"""ClientExchange over a v2 client: UTA, malformed answers, duplicate clientOid, and the
repay a live executor sends with the intent's clientOid."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import httpx
import pytest

from riskd.bitget.client import BitgetClient, RetryPolicy
from riskd.bitget.credentials import Credentials
from riskd.clock import ManualClock
from riskd.daemon.client_exchange import ClientExchange
from riskd.daemon.exchange import (
    AccountModeError,
    BatchRiskRates,
    CallUncertain,
    IdempotentRepay,
    MalformedAnswer,
    RiskFigure,
)
from riskd.daemon.executor import LiveExecutor
from riskd.daemon.journal import SUCCEEDED
from riskd.daemon.plans import ActionPlan, client_oid

V2 = "/api/v2/margin"
Route = Callable[[httpx.Request], httpx.Response]


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": "00000", "msg": "success", "data": data})


def _fail(code: str, msg: str) -> httpx.Response:
    return httpx.Response(400, json={"code": code, "msg": msg, "data": None})


def _exchange(routes: dict[str, Route], seen: list[httpx.Request]) -> ClientExchange:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v2/public/time":
            return _ok({"serverTime": "1700000000000"})
        return routes[request.url.path](request)

    client = BitgetClient(
        Credentials.hmac("k", "s", "p"),
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        base_url="https://fake.test",
        clock=ManualClock(start=1_700_000_000.0),
        retry=RetryPolicy(max_attempts=1),
        api="v2",
    )
    return ClientExchange(client)


async def test_v2_exchange_offers_batch_rates_idempotent_repay_and_contested_figure() -> None:
    """On v2 the adapter has every capability; on v1 its figure is not contested."""
    ex = _exchange({}, [])
    assert isinstance(ex, BatchRiskRates) and isinstance(ex, IdempotentRepay)
    assert isinstance(ex, RiskFigure) and ex.risk_rate_contested
    v1 = ClientExchange(BitgetClient(None, api="v1"))
    assert not v1.risk_rate_contested
    await ex.client.aclose()
    await v1.client.aclose()


async def test_40085_is_an_account_mode_error_naming_uta() -> None:
    """A classic endpoint answering 40085 means a Unified Trading Account."""
    msg = "in Unified Account mode, Classic Account API not supported"
    ex = _exchange({f"{V2}/crossed/account/assets": lambda r: _fail("40085", msg)}, [])
    with pytest.raises(AccountModeError, match="Unified Trading Account") as info:
        await ex.assets("cross")
    assert "cross_assets" in str(info.value) and info.value.code == "40085"


async def test_malformed_answer_names_endpoint_and_field() -> None:
    """A risk-rate list without riskRateRatio is a MalformedAnswer naming both."""
    ex = _exchange({f"{V2}/isolated/account/risk-rate": lambda r: _ok([{"symbol": "BTCUSDT"}])}, [])
    with pytest.raises(MalformedAnswer) as info:
        await ex.isolated_risk_rates(["BTCUSDT"])
    assert "/api/v2/margin/isolated/account/risk-rate" in str(info.value)
    assert "riskRateRatio" in str(info.value)


async def test_a_cross_risk_rate_object_where_a_list_would_do_is_not_malformed() -> None:
    """The cross risk rate object with no coin is read as the account's figure."""
    ex = _exchange({f"{V2}/crossed/account/risk-rate": lambda r: _ok({"riskRateRatio": "0.3"})}, [])
    assert await ex.cross_risk_rate() == D("0.3")


async def test_duplicate_client_oid_is_uncertain_so_it_is_reconciled() -> None:
    """50060: a request with this id executed before; reconcile rather than resend."""
    ex = _exchange(
        {f"{V2}/isolated/account/repay": lambda r: _fail("50060", "Duplicated clientOid")}, []
    )
    with pytest.raises(CallUncertain, match="reconcile"):
        await ex.repay_once(
            "isolated", coin="USDT", amount=D(1), symbol="BTCUSDT", client_oid="riskd-1"
        )


async def test_live_isolated_repay_carries_the_intent_client_oid_and_keeps_repay_id() -> None:
    """The executor sends clientOid = client_oid(intent id) and journals the repayId."""
    seen: list[httpx.Request] = []
    answer = {"symbol": "BTCUSDT", "coin": "USDT", "repayId": "4242"}
    ex = _exchange(
        {
            f"{V2}/isolated/account/repay": lambda r: _ok(
                {**answer, "remainDebtAmount": "5", "repayAmount": "10"}
            )
        },
        seen,
    )
    plan = ActionPlan(
        intent_id="0123456789abcdef0123456789abcdef",
        kind="repay",
        account="alice",
        scope="isolated:BTCUSDT",
        symbol="BTCUSDT",
        coin="USDT",
        amount=D(10),
    )

    async def accepted(ref: str, summary: str) -> None:
        raise AssertionError("a repay is not followed")

    result = await LiveExecutor(ex).execute(plan, accepted)
    assert (result.status, result.ref) == (SUCCEEDED, "4242")
    (repay,) = [r for r in seen if r.url.path.endswith("/repay")]
    body = json.loads(repay.content)
    assert body["clientOid"] == client_oid(plan.intent_id)
    assert len(body["clientOid"]) <= 40


async def test_unknown_flash_status_while_reconciling_is_told_once() -> None:
    """An unknown flash repay status: MalformedAnswer each time, the hook told once."""
    told: list[str] = []

    async def hook(text: str) -> None:
        told.append(text)

    route = f"{V2}/crossed/account/query-flash-repay-status"
    ex = _exchange({route: lambda r: _ok([{"repayId": "7", "status": "MYSTERY"}])}, [])
    ex = ClientExchange(ex.client, on_bad_answer=hook)
    for _ in range(2):
        with pytest.raises(MalformedAnswer, match="status"):
            await ex.flash_repay_status("cross", "7")
    assert len(told) == 1 and "query-flash-repay-status" in told[0] and "MYSTERY" in told[0]
