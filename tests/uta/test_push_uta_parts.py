"""The UTA push path's parts: the mgnRatio estimate's formula, reading the v3 ``account`` push
in every accepted shape, the v3 URL, and the private socket client (login, subscription,
refusals) against the simulator over loopback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from decimal import Decimal as D
from types import MappingProxyType

import pytest

from riskd.daemon.push_uta import (
    ACCOUNT_TOPIC,
    UtaAccountPushClient,
    estimate_uta_risk_rate,
    pushed_mgn_ratio,
    uta_ws_url,
)
from riskd.daemon.ws_conn import SocketRefused
from riskd.risk.math import INFINITE
from riskd.risk.snapshot import UTA, CoinBalance, ScopeSnapshot, UtaFigures
from riskd.sim.serve import serve_in_thread
from riskd.sim.ws_v3 import account_item
from tests.uta.conftest import Env


def _snap(
    *, eff: D, mmr: D, level: D = D(1), usdt: D = D(1000), debt: D = D(2000), btc: D = D("0.1")
) -> ScopeSnapshot:
    """A ``uta`` snapshot: USDT (held, owed) and BTC (held) at BTC 30000, USDT rate 0.1."""
    balances = {
        "USDT": CoinBalance("USDT", usdt, D(0), debt, D(0)),
        "BTC": CoinBalance("BTC", btc, D(0), D(0), D(0)),
    }
    figures = UtaFigures(
        mgn_ratio=mmr / eff, mmr=mmr, imr=D(0), eff_equity=eff, account_equity=eff,
        liquidation_level=level,
    )  # fmt: skip
    return ScopeSnapshot(
        account="a",
        scope=UTA,
        risk_rate=mmr / eff / level,
        balances=MappingProxyType(balances),
        observed_at=0.0,
        maintain_margin_rate=MappingProxyType({"USDT": D("0.1") / level}),
        prices_usdt=MappingProxyType({"BTC": D(30000)}),
        uta=figures,
    )


def test_the_estimate_moves_eff_equity_by_the_price_change_and_scales_mmr() -> None:
    """Without a haircut (effEquity = equity 2000) BTC 30000 → 25000 takes effEquity to 1500:
    mgnRatio 200 / 1500; the level divides it; a coin without a new price keeps its own."""
    snap = _snap(eff=D(2000), mmr=D(200))
    assert estimate_uta_risk_rate(snap, {"BTC": D(25000)}) == D(200) / D(1500)
    assert estimate_uta_risk_rate(snap, {"ETH": D(1)}) == D("0.1")
    low = _snap(eff=D(2000), mmr=D(200), level=D("0.5"))
    assert estimate_uta_risk_rate(low, {"BTC": D(25000)}) == D(200) / D(1500) / D("0.5")


def test_the_implied_haircut_weighs_held_coins() -> None:
    """effEquity 1700 of equity 2000 (BTC equity 3000 USD, USDT equity −1000): haircut
    (1700 + 1000) / 3000 = 0.9, so a BTC loss of 500 USD takes effEquity down by 450."""
    snap = _snap(eff=D(1700), mmr=D(200))
    got = estimate_uta_risk_rate(snap, {"BTC": D(25000)})
    assert got == D(200) / (D(1700) - D(450))


def test_no_debt_no_price_and_no_equity() -> None:
    """No debt → 0; a held coin without any price → unknown; equity gone → Infinity; a
    classic snapshot is not estimated here."""
    assert estimate_uta_risk_rate(_snap(eff=D(3000), mmr=D(0), debt=D(0)), {}) == 0
    snap = _snap(eff=D(2000), mmr=D(200))
    no_price = ScopeSnapshot(**{**_fields(snap), "prices_usdt": MappingProxyType({})})
    assert estimate_uta_risk_rate(no_price, {}) is None
    assert estimate_uta_risk_rate(snap, {"BTC": D(9000)}) == INFINITE
    classic = ScopeSnapshot(**{**_fields(snap), "uta": None, "scope": "cross"})
    assert estimate_uta_risk_rate(classic, {"BTC": D(25000)}) is None


def _fields(snap: ScopeSnapshot) -> dict[str, object]:
    return {f: getattr(snap, f) for f in snap.__dataclass_fields__}


def _push(data: object, arg: dict[str, str] | None = None) -> str:
    arg = ACCOUNT_TOPIC if arg is None else arg
    return json.dumps({"action": "update", "arg": arg, "data": data, "ts": 1})


def test_every_listed_shape_of_the_account_push_is_read() -> None:
    """The simulator's item (ccxt's captured shape), an object instead of a list, ``channel``
    instead of ``topic``, several items (highest kept); a push without a readable mgnRatio is
    still an account event; acks, errors, pong and other topics are not pushes."""
    env = Env()
    item = account_item(env.sim, env.sim.exchange.account("uta"))
    got = pushed_mgn_ratio(_push([item]))
    assert got is not None and got.mgn_ratio == D(str(item["mgnRatio"]))
    assert pushed_mgn_ratio(_push({"mgnRatio": "0.4"})) == pushed_mgn_ratio(
        _push([{"mgnRatio": "0.4"}])
    )
    channel = {"instType": "UTA", "channel": "account"}
    assert pushed_mgn_ratio(_push([{"mgnRatio": "0.3"}], channel)).mgn_ratio == D("0.3")  # type: ignore[union-attr]
    several = pushed_mgn_ratio(_push([{"mgnRatio": "0.3"}, {"mgnRatio": "0.5"}]))
    assert several is not None and several.mgn_ratio == D("0.5")
    for figureless in ([], [{"marginRatio": "0.3"}], [{"mgnRatio": 0.3}], [{"mgnRatio": "x"}]):
        seen = pushed_mgn_ratio(_push(figureless))
        assert seen is not None and seen.mgn_ratio is None
    for other in (
        "pong",
        json.dumps({"event": "subscribe", "arg": ACCOUNT_TOPIC}),
        json.dumps({"event": "error", "code": 30001, "msg": "x"}),
        _push([{"mgnRatio": "0.3"}], {"instType": "UTA", "topic": "order"}),
    ):
        assert pushed_mgn_ratio(other) is None


def test_the_v3_url_sits_beside_v2s() -> None:
    """/v2/ws/private → /v3/ws/private on the same host; anything else is refused."""
    assert uta_ws_url("wss://ws.bitget.com/v2/ws/private") == "wss://ws.bitget.com/v3/ws/private"
    assert uta_ws_url("ws://127.0.0.1:8/v2/ws/private/") == "ws://127.0.0.1:8/v3/ws/private"
    with pytest.raises(ValueError, match="v3 private"):
        uta_ws_url("wss://example.org/private")


async def test_the_client_logs_in_subscribes_and_reports_pushes() -> None:
    """Opened → the login (never logged); the ack → one subscription to the account topic; a
    push → on_push with its mgnRatio; a refusal before login closes, after it is logged once."""
    env = Env()
    sent: list[str] = []
    got: list[tuple[str, D | None]] = []

    async def send(text: str) -> None:
        sent.append(text)

    client = UtaAccountPushClient(
        "uta",
        env.credentials("uta"),
        url="ws://x/v3/ws/private",
        timestamp_s=lambda: 1_700_000_000,
        on_push=lambda a, r: got.append((a, r)),
    )
    await client.opened(send)
    assert json.loads(sent[0])["op"] == "login"
    await client.message(json.dumps({"event": "login", "code": 0}), send)
    assert json.loads(sent[1]) == {"op": "subscribe", "args": [ACCOUNT_TOPIC]}
    await client.message(_push([{"mgnRatio": "0.61"}]), send)
    await client.message(_push([]), send)
    assert got == [("uta", D("0.61")), ("uta", None)] and client.pushes == 2
    await client.message(json.dumps({"event": "error", "code": 30001, "msg": "no"}), send)
    await client.opened(send)  # a reconnection: logged out until the next ack
    with pytest.raises(SocketRefused, match="30015"):
        await client.message(json.dumps({"event": "error", "code": 30015, "msg": "sign"}), send)


async def _until(cond: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_over_loopback_the_topic_pushes_mgn_ratio_on_account_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Against the simulator's /v3/ws/private: login, the snapshot's mgnRatio, then a repay
    (an account event) pushes the lower one; no key, passphrase or secret is logged."""
    caplog.set_level(logging.DEBUG)
    env = Env()
    env.sim.ws_push_interval_s = 0.02
    got: list[D | None] = []
    with serve_in_thread(env.sim) as server:
        client = UtaAccountPushClient(
            "uta",
            env.credentials("uta"),
            url=uta_ws_url(server.url.replace("http://", "ws://") + "/v2/ws/private"),
            timestamp_s=lambda: env.sim.server_time_ms() // 1000,
            on_push=lambda _a, r: got.append(r),
        )
        await client.start()
        try:
            await _until(lambda: len(got) >= 1)
            ex = env.sim.exchange
            account = ex.account("uta")
            with env.sim.lock:
                ex.ledger.repay(account, account.cross(), "USDT", D(500), ex.now())
            await _until(lambda: len(got) >= 2)
        finally:
            await client.stop()
        await env.http.aclose()
    first, second = got[0], got[1]
    assert first is not None and second is not None and D("0.2") < first and second < first
    keys = env.keys["uta"]
    for secret in (keys.api_key, keys.passphrase, keys.secret):
        assert secret not in caplog.text
