"""Account pushes: one v2 private WebSocket per account, logged in with the account's key.

ENDPOINTS-v2.md §4: on ``/v2/ws/private`` riskd sends
``{"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}`` with ``timestamp`` in
**seconds** (three clients agree; one translated page says milliseconds) and ``sign`` =
base64 HMAC-SHA256 (or SHA256withRSA) of ``timestamp + "GET" + "/user/verify"``, signed by
:func:`riskd.bitget.auth.signer_for` — the very signer of the account's REST calls. The ack is
``{"event": "login", "code": 0}``; a refusal (``{"event": "error", "code": 3001x}``) closes
the connection and the next attempt waits a minute (:class:`SocketRefused`).

After the ack riskd subscribes (instType ``MARGIN``) to ``account-crossed`` and
``account-isolated`` (coin ``default``, the only value), and to ``orders-crossed`` /
``orders-isolated`` for each symbol the account trades (instId = symbol; cross: ``<COIN>USDT``
of each coin it holds or owes, isolated: each symbol), adding symbols as they appear (checked
at each ping). Every push that carries rows calls ``on_push(account, scopes)`` with the
scopes it concerns: the push path (:mod:`riskd.daemon.push`) polls them at once. Nothing in a
push is used as data: the poll that follows is the truth.

The login message holds the API key and passphrase: it is sent and never logged; what the
server answers is logged through :func:`riskd.redact.redact`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Literal

from riskd.bitget.auth import prehash, signer_for
from riskd.bitget.credentials import Credentials
from riskd.daemon.ws_conn import PING_S, ReconnectingSocket, Send, SocketRefused
from riskd.redact import redact
from riskd.risk.snapshot import CROSS, isolated_scope

log = logging.getLogger(__name__)

INST_TYPE = "MARGIN"
VERIFY_PATH = "/user/verify"
ACCOUNT_CHANNELS = ("account-crossed", "account-isolated")
ORDER_CHANNELS = {"cross": "orders-crossed", "isolated": "orders-isolated"}
Margin = Literal["cross", "isolated"]
#: (account, scopes a push concerns)
PushHook = Callable[[str, frozenset[str]], None]


def login_message(credentials: Credentials, timestamp_s: int) -> str:
    """The v2 login request (holds secrets: send it, never log it)."""
    ts = str(timestamp_s)
    sign = signer_for(credentials).sign(prehash(ts, "GET", VERIFY_PATH, b""))
    arg = {
        "apiKey": credentials.api_key.get_secret_value(),
        "passphrase": credentials.passphrase.get_secret_value(),
        "timestamp": ts,
        "sign": sign,
    }
    return json.dumps({"op": "login", "args": [arg]})


def push_scopes(text: str) -> frozenset[str]:
    """The scopes one private push concerns (empty for acks, errors and empty pushes)."""
    try:
        msg = json.loads(text)
    except ValueError:
        return frozenset()
    if not isinstance(msg, dict) or "action" not in msg:
        return frozenset()
    arg, data = msg.get("arg"), msg.get("data")
    if not isinstance(arg, dict) or not isinstance(data, list) or not data:
        return frozenset()
    channel = arg.get("channel")
    if channel in ("account-crossed", "orders-crossed"):
        return frozenset({CROSS})
    if channel == "orders-isolated" and isinstance(arg.get("instId"), str):
        return frozenset({isolated_scope(arg["instId"])})
    if channel == "account-isolated":
        return frozenset(
            isolated_scope(row["symbol"])
            for row in data
            if isinstance(row, dict) and isinstance(row.get("symbol"), str) and row["symbol"]
        )
    return frozenset()


class PrivateSocketClient:
    """One account's private socket: logs in when it opens, subscribes once logged in
    (:meth:`_logged_in`), hands each push to :meth:`_push`, says an error the exchange sends
    once, and stops on a refused login. :class:`AccountPushClient` (v2) and
    :class:`riskd.daemon.push_uta.UtaAccountPushClient` (v3) differ only in those hooks."""

    #: What the socket carries, for its name and log lines.
    what = "account pushes"

    def __init__(
        self,
        account: str,
        credentials: Credentials,
        *,
        url: str,
        timestamp_s: Callable[[], int],
        ping_s: float = PING_S,
    ) -> None:
        self.account = account
        self._credentials = credentials
        self._url = url
        self._timestamp_s = timestamp_s
        self._ping_s = ping_s
        self._socket: ReconnectingSocket | None = None
        self._refused: set[str] = set()
        self.logged_in = False
        #: Pushes that carried something (status and tests).
        self.pushes = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.account!r}, {self._url!r})"

    @property
    def url(self) -> str:
        return self._url

    @property
    def socket(self) -> ReconnectingSocket | None:
        return self._socket

    async def start(self) -> None:
        if self._socket is None:
            self._socket = ReconnectingSocket(
                self._url, self, name=f"{self.what} of {self.account}", ping_s=self._ping_s
            )
            self._socket.start()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.stop()
            self._socket = None

    # --- hooks ----------------------------------------------------------------------------
    def _opening(self) -> None:
        """A new connection: forget what the last one subscribed."""

    def _push(self, text: str) -> bool:
        """Hand a push on; False when ``text`` is no push (an ack, an error, a login)."""
        raise NotImplementedError

    async def _logged_in(self, send: Send) -> None:
        """Subscribe, once the exchange accepted the login."""
        raise NotImplementedError

    # --- SocketHandler ----------------------------------------------------------------------
    async def opened(self, send: Send) -> None:
        self.logged_in = False
        self._opening()
        await send(login_message(self._credentials, self._timestamp_s()))

    async def message(self, text: str, send: Send) -> None:
        if self._push(text):
            self.pushes += 1
            return
        try:
            msg = json.loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        event = msg.get("event")
        if event == "login" and str(msg.get("code")) == "0":
            self.logged_in = True
            log.info("%s: logged in on %s", self.account, self._url)
            await self._logged_in(send)
        elif event == "error":
            said = redact(f"{msg.get('code')} {msg.get('msg', '')}".strip())
            if not self.logged_in:
                raise SocketRefused(f"{self.account}: login refused by the exchange ({said})")
            if said not in self._refused:  # e.g. a symbol the channel does not know: once
                self._refused.add(said)
                log.warning("%s: %s: the exchange answered %s", self.account, self.what, said)

    async def tick(self, send: Send) -> None:
        return None


class AccountPushClient(PrivateSocketClient):
    """The v2 private socket of one account (see the module docstring)."""

    def __init__(
        self,
        account: str,
        credentials: Credentials,
        *,
        url: str,
        timestamp_s: Callable[[], int],
        on_push: PushHook,
        symbols: Callable[[], Iterable[tuple[Margin, str]]] = lambda: (),
        ping_s: float = PING_S,
    ) -> None:
        super().__init__(account, credentials, url=url, timestamp_s=timestamp_s, ping_s=ping_s)
        self._on_push = on_push
        self._symbols = symbols
        self._subscribed: set[tuple[Margin, str]] = set()

    def _opening(self) -> None:
        self._subscribed.clear()

    def _push(self, text: str) -> bool:
        scopes = push_scopes(text)
        if scopes:
            self._on_push(self.account, scopes)
        return bool(scopes)

    async def _logged_in(self, send: Send) -> None:
        await self._subscribe(send, first=True)

    async def tick(self, send: Send) -> None:
        if self.logged_in:
            await self._subscribe(send, first=False)

    async def _subscribe(self, send: Send, *, first: bool) -> None:
        """Subscribe to what is not subscribed yet, in one request (240 per hour allowed)."""
        args: list[dict[str, str]] = []
        if first:
            args += [
                {"instType": INST_TYPE, "channel": c, "coin": "default"} for c in ACCOUNT_CHANNELS
            ]
        new = sorted(set(self._symbols()) - self._subscribed)
        args += [
            {"instType": INST_TYPE, "channel": ORDER_CHANNELS[margin], "instId": symbol}
            for margin, symbol in new
        ]
        if args:
            await send(json.dumps({"op": "subscribe", "args": args}))
            self._subscribed.update(new)
