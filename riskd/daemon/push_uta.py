"""The push path of a Unified Trading Account (issue 18): when to look at the ``uta`` scope.

Two things make :class:`~riskd.daemon.push.PushReactor` poll a UTA account at once (REST stays
the truth: what riskd acts on is always the fresh ``/api/v3/account/assets`` answer):

- **a local mgnRatio estimate** (:func:`estimate_uta_risk_rate`) from the last polled figures
  and the public index-price pushes — the private topic pushes nothing on a price move;
- **the private v3 ``account`` topic** (:class:`UtaAccountPushClient`): a pushed ``mgnRatio``
  crossing a line polls at once; any other account push polls at most once per
  ``push.account_min_gap`` (it changes the balances the estimate starts from).

The estimate, from the last poll's snapshot ``s`` (its ``uta`` figures: the exchange's ``mmr``
and ``effEquity``; per coin ``c`` its debt ``d_c``, equity ``e_c`` = balance − debt, its MARGIN
tier's maintenance rate ``m_c`` and the index price ``p_c`` it was valued at, USDT = 1) and the
index prices ``q_c`` pushed since (a coin without one keeps ``p_c``)::

    mmr'      = mmr × Σ d_c q_c m_c / Σ d_c p_c m_c       (the exchange's figure, scaled)
    h         = (effEquity − Σ_{e_c<0} e_c p_c) / Σ_{e_c>0} e_c p_c   (implied collateral
                ratio of the held coins, clamped to [0, 1]; 1 when nothing is held)
    effEquity' = effEquity + Σ_c e_c (q_c − p_c) × (h if e_c > 0 else 1)
    mgnRatio' = mmr' / effEquity'     (0 without debt, Infinity when effEquity' ≤ 0)
    riskRate' = mgnRatio' / uta_liquidation_level

The simulator (:mod:`riskd.sim.uta`) serves ``mmr = Σ d_c p_c m_c`` and ``effEquity =
Σ e_c p_c`` (collateral ratio 1), so there ``h = 1`` and the estimate is exactly the
simulator's ``mgnRatio`` at the new prices. On the real exchange the parts riskd does not model
(higher tiers, haircuts) scale along with the figure instead of showing up as a jump.

The v3 private socket logs in like v2 (:func:`riskd.daemon.account_push.login_message`: the
same signer as the account's REST calls, ``timestamp`` in seconds) on ``/v3/ws/private`` and
subscribes to ``{"instType": "UTA", "topic": "account"}``. The push's exact fields are
unconfirmed (one captured example, ENDPOINTS-v2.md §6): :func:`pushed_mgn_ratio` reads
``mgnRatio`` from a ``data`` list of items or a single object, under ``arg.topic`` or
``arg.channel`` ``account``; a push without a readable ``mgnRatio`` is still an account event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from riskd.bitget.client import BitgetClient
from riskd.bitget.credentials import Credentials
from riskd.daemon.account_push import PrivateSocketClient
from riskd.daemon.prices import ws_url_for
from riskd.daemon.ws_conn import PING_S, Send
from riskd.risk.math import INFINITE, ZERO
from riskd.risk.snapshot import USDT, ScopeSnapshot
from riskd.settings import Settings

ONE = Decimal(1)
ACCOUNT_TOPIC = {"instType": "UTA", "topic": "account"}
V2_PRIVATE = "/v2/ws/private"
V3_PRIVATE = "/v3/ws/private"
#: (account, the pushed mgnRatio or ``None``: an account event without a readable figure)
UtaPushHook = Callable[[str, Decimal | None], None]


def estimate_uta_risk_rate(snap: ScopeSnapshot, prices: Mapping[str, Decimal]) -> Decimal | None:
    """The ``uta`` scope's risk rate at ``prices`` (module docstring); ``None`` when ``snap``
    is not a UTA scope, or a held or owed coin has no price, or an owed coin no rate."""
    figures = snap.uta
    if figures is None or figures.liquidation_level <= 0:
        return None
    level = figures.liquidation_level
    rows = [b for b in snap.balances.values() if b.total_amount != 0 or b.liability != 0]
    if not any(b.liability > 0 for b in rows):
        return ZERO
    rates = snap.maintain_margin_rate
    mmr_then = mmr_now = pos = neg = ZERO
    moves: list[tuple[Decimal, Decimal]] = []  # (equity, price change)
    for b in rows:
        then = ONE if b.coin == USDT else snap.prices_usdt.get(b.coin)
        if then is None or then <= 0:
            return None
        pushed = prices.get(b.coin) if b.coin != USDT else None
        now = pushed if pushed is not None and pushed > 0 else then
        equity = b.total_amount - b.liability
        if b.liability > 0:
            rate = rates.get(b.coin)
            if rate is None:
                return None
            mmr_then += b.liability * then * rate
            mmr_now += b.liability * now * rate
        if equity > 0:
            pos += equity * then
        else:
            neg += equity * then
        moves.append((equity, now - then))
    haircut = ONE if pos <= 0 else min(ONE, max(ZERO, (figures.eff_equity - neg) / pos))
    eff = figures.eff_equity + sum(
        (e * dp * (haircut if e > 0 else ONE) for e, dp in moves), start=ZERO
    )
    if mmr_then > 0 and figures.mmr > 0:
        mmr = figures.mmr * (mmr_now / mmr_then)
    else:
        mmr = mmr_now * level  # the snapshot's rates are the tiers' ÷ level
    if mmr <= 0:
        return ZERO
    if eff <= 0:
        return INFINITE
    return mmr / eff / level


@dataclass(frozen=True, slots=True)
class UtaPush:
    """One push of the ``account`` topic: the highest ``mgnRatio`` it carried, if any."""

    mgn_ratio: Decimal | None


def _ratio(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None  # a float (or anything else) never becomes a figure
    try:
        out = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return out if out.is_finite() and out >= 0 else None


def pushed_mgn_ratio(text: str) -> UtaPush | None:
    """The ``account`` push in ``text`` (``None``: pong, acks, errors, another topic).

    Accepted shapes (the topic's exact payload is unconfirmed): ``arg`` naming ``topic`` or
    ``channel`` ``"account"``; ``data`` a list of items or one object; ``mgnRatio`` a decimal
    string (or an integer) in any item — the highest is kept. A push with no readable
    ``mgnRatio`` (an empty list, another field name, a float) is an account event without a
    figure."""
    try:
        msg = json.loads(text)
    except ValueError:
        return None
    if not isinstance(msg, dict) or "data" not in msg or "event" in msg:
        return None
    arg = msg.get("arg")
    if not isinstance(arg, dict) or "account" not in (arg.get("topic"), arg.get("channel")):
        return None
    data = msg["data"]
    items = data if isinstance(data, list) else [data]
    ratios = [
        r
        for r in (_ratio(i.get("mgnRatio")) for i in items if isinstance(i, dict))
        if r is not None
    ]
    return UtaPush(max(ratios) if ratios else None)


def uta_ws_url(v2_private_url: str) -> str:
    """The v3 private URL beside v2's (same host: ``/v2/ws/private`` → ``/v3/ws/private``).
    ``ValueError`` for a URL that is not a v2 private one (a custom ``push.private_ws_url``)."""
    base = v2_private_url.rstrip("/")
    if not base.endswith(V2_PRIVATE):
        raise ValueError(
            f"cannot tell the v3 private WebSocket URL from {v2_private_url!r}"
            f" (expected it to end in {V2_PRIVATE})"
        )
    return base[: -len(V2_PRIVATE)] + V3_PRIVATE


class UtaAccountPushClient(PrivateSocketClient):
    """The v3 private socket of one UTA account: login, the ``account`` topic, ``on_push``."""

    what = "UTA account pushes"

    def __init__(
        self,
        account: str,
        credentials: Credentials,
        *,
        url: str,
        timestamp_s: Callable[[], int],
        on_push: UtaPushHook,
        ping_s: float = PING_S,
    ) -> None:
        super().__init__(account, credentials, url=url, timestamp_s=timestamp_s, ping_s=ping_s)
        self._on_push = on_push

    def _push(self, text: str) -> bool:
        push = pushed_mgn_ratio(text)
        if push is not None:
            self._on_push(self.account, push.mgn_ratio)
        return push is not None

    async def _logged_in(self, send: Send) -> None:
        await send(json.dumps({"op": "subscribe", "args": [ACCOUNT_TOPIC]}))


def uta_account_push(
    settings: Settings, name: str, client: BitgetClient, on_push: UtaPushHook
) -> UtaAccountPushClient:
    """The v3 private socket of UTA account ``name`` (wiring): beside the v2 private URL
    (``push.private_ws_url`` or the one ``base_url`` gives), logged in with its key at the
    exchange's time."""
    try:
        url = uta_ws_url(settings.push_ws_url())
    except ValueError:
        url = uta_ws_url(ws_url_for(settings.base_url, "v2", private=True))
    return UtaAccountPushClient(
        name,
        settings.credentials(name),
        url=url,
        timestamp_s=lambda: client.server_clock.now_ms() // 1000,
        on_push=on_push,
    )
