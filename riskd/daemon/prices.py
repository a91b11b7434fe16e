"""Index prices in USDT per coin, for snapshots (``prices_usdt``), USDT caps and the push path.

The margin REST API has no price endpoint: the real exchange publishes index prices only on
its WebSocket: v2's public ``index-price`` channel (instType ``MARGIN``, instId ``default``,
``/v2/ws/public``), or v1's ``indexPrice`` (instType ``mabl``, ``/spot/v1/stream``,
switched off upstream with the rest of v1). A :class:`PriceSource` hides where prices come
from:

- :class:`NoPrices`: none (rules that use prices degrade as the rules engine documents;
  USDT caps need a coin cap for non-USDT coins);
- :class:`StaticPrices`: fixed values (tests);
- :class:`SimPriceSource`: the in-process simulator's index prices (tests, demo);
- :class:`BitgetIndexPriceFeed`: the real exchange's WebSocket feed, v2 or v1 (``riskd run``
  uses it unless ``[prices] enabled = false``; the simulator serves both channels). A coin's
  price older than ``max_age`` seconds is dropped, never returned. Listeners
  (:meth:`BitgetIndexPriceFeed.add_listener`) see every update as it arrives: the push path
  (:mod:`riskd.daemon.push`) estimates risk rates from them. The connection, its ping/pong
  and reconnection are :class:`riskd.daemon.ws_conn.ReconnectingSocket`'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal, Protocol

from riskd.clock import Clock
from riskd.daemon.ws_conn import PING_S, ReconnectingSocket, Send

log = logging.getLogger(__name__)

Api = Literal["v1", "v2"]
QUOTE = "USDT"
WS_PATH = "/spot/v1/stream"
WS_URL = "wss://ws.bitget.com" + WS_PATH
WS_PATH_V2 = "/v2/ws/public"
WS_URL_V2 = "wss://ws.bitget.com" + WS_PATH_V2
WS_PATH_V2_PRIVATE = "/v2/ws/private"
#: The REST base URL of the real exchange, whose WebSocket lives on another host.
BITGET_REST_URL = "https://api.bitget.com"
#: Default for ``[prices] max_age``: older prices are dropped.
MAX_AGE_S = 30.0
SUBSCRIBE = {
    "op": "subscribe",
    "args": [{"instType": "mabl", "channel": "indexPrice", "instId": "default"}],
}
SUBSCRIBE_V2 = {
    "op": "subscribe",
    "args": [{"instType": "MARGIN", "channel": "index-price", "instId": "default"}],
}
_SUBSCRIBE: dict[Api, str] = {"v1": json.dumps(SUBSCRIBE), "v2": json.dumps(SUBSCRIBE_V2)}
#: The channel name each version's pushes carry in ``arg.channel``.
CHANNELS = ("indexPrice", "index-price")
#: Called with the coins (→ USDT price) one message updated.
PriceListener = Callable[[Mapping[str, Decimal]], None]
_EMPTY: Mapping[str, Decimal] = MappingProxyType({})


class PriceSource(Protocol):
    """Where USDT index prices come from."""

    async def prices(self) -> Mapping[str, Decimal]:
        """Coin → price in USDT (USDT itself may be absent; it is 1)."""
        ...

    @property
    def observed_at(self) -> float | None:
        """Clock time of the prices last returned (``None``: never any)."""
        ...


class NoPrices:
    """No price source: snapshots carry no prices."""

    async def prices(self) -> Mapping[str, Decimal]:
        return _EMPTY

    @property
    def observed_at(self) -> float | None:
        return None


class StaticPrices:
    """Fixed prices (tests); :meth:`set` changes one."""

    def __init__(self, prices: Mapping[str, Decimal], clock: Clock) -> None:
        self._prices = dict(prices)
        self._clock = clock
        self._at: float | None = None

    def set(self, coin: str, price: Decimal) -> None:
        self._prices[coin] = price

    async def prices(self) -> Mapping[str, Decimal]:
        self._at = self._clock.now()
        return MappingProxyType(dict(self._prices))

    @property
    def observed_at(self) -> float | None:
        return self._at


class SimPriceSource:
    """Index prices straight from an in-process simulator.

    ``index_price`` is the simulator's ``index_price(symbol)``; ``symbols`` lists the
    ``<COIN>USDT`` symbols to read (a callable, so symbols added later are seen).
    """

    def __init__(
        self,
        index_price: Callable[[str], Decimal],
        symbols: Callable[[], Iterable[str]],
        clock: Clock,
    ) -> None:
        self._index_price = index_price
        self._symbols = symbols
        self._clock = clock
        self._at: float | None = None

    async def prices(self) -> Mapping[str, Decimal]:
        out: dict[str, Decimal] = {}
        for symbol in self._symbols():
            if symbol.endswith(QUOTE) and len(symbol) > len(QUOTE):
                out[symbol[: -len(QUOTE)]] = self._index_price(symbol)
        self._at = self._clock.now()
        return MappingProxyType(out)

    @property
    def observed_at(self) -> float | None:
        return self._at


def ws_url_for(base_url: str, api: Api = "v1", *, private: bool = False) -> str:
    """The index-price WebSocket URL of ``api`` that goes with a REST ``base_url``
    (``private``: v2's private URL, for account pushes).

    The real exchange (``https://api.bitget.com``) → ``wss://ws.bitget.com`` and the path:
    ``/v2/ws/public`` (``/v2/ws/private``) for v2, ``/spot/v1/stream`` for v1; anything else
    (the simulator) → the same host with ``http`` → ``ws``, ``https`` → ``wss`` and that path.
    """
    if private and api != "v2":
        raise ValueError("account pushes need API v2 (/v2/ws/private)")
    path = WS_PATH if api == "v1" else WS_PATH_V2_PRIVATE if private else WS_PATH_V2
    base = base_url.rstrip("/")
    if base == BITGET_REST_URL:
        return "wss://ws.bitget.com" + path
    for rest, ws in (("https://", "wss://"), ("http://", "ws://")):
        if base.startswith(rest):
            return ws + base[len(rest) :] + path
    raise ValueError(f"base_url {base_url!r} does not start with http:// or https://")


@dataclass(frozen=True, slots=True)
class IndexPrice:
    symbol: str
    base_coin: str
    quote_coin: str
    price: Decimal
    timestamp_ms: int


def parse_index_prices(text: str) -> list[IndexPrice]:
    """Index prices in one v2 ``index-price`` or v1 ``indexPrice`` channel message; [] for
    anything else (pong, acks, errors).

    Malformed items are skipped with a warning; a float never becomes a price (strings only).
    The item's time is v2's ``ts`` or v1's ``timestamp`` (0 when absent).
    """
    if text == "pong":
        return []
    try:
        msg = json.loads(text)
    except ValueError:
        log.warning("index price feed: message is not JSON (%d bytes)", len(text))
        return []
    if not isinstance(msg, dict):
        return []
    arg = msg.get("arg")
    if not isinstance(arg, dict) or arg.get("channel") not in CHANNELS:
        return []
    data = msg.get("data")
    out: list[IndexPrice] = []
    for item in data if isinstance(data, list) else []:
        try:
            price = item["indexPrice"]
            if not isinstance(price, str):
                raise TypeError("indexPrice is not a string")
            out.append(
                IndexPrice(
                    symbol=str(item["symbol"]),
                    base_coin=str(item["baseCoin"]),
                    quote_coin=str(item["quoteCoin"]),
                    price=Decimal(price),
                    timestamp_ms=int(item.get("ts") or item.get("timestamp") or 0),
                )
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            log.warning("index price feed: skipping a malformed item: %s", exc)
    return out


class BitgetIndexPriceFeed:
    """Keeps the latest USDT index price per coin from Bitget's public WebSocket.

    ``api`` picks the protocol (``v2``: ``index-price`` on ``/v2/ws/public``; ``v1``:
    ``indexPrice`` on ``/spot/v1/stream``). ``start()`` keeps a connection open
    (:class:`~riskd.daemon.ws_conn.ReconnectingSocket`: subscribe on every connect, ping
    every ``ping_s``, reconnect with backoff); ``prices()`` returns what was received within
    the last ``max_age`` seconds (by the clock, when it arrived): an older price is dropped,
    so a dead feed means no prices rather than stale ones.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        url: str = WS_URL,
        api: Api = "v1",
        ping_s: float = PING_S,
        max_age: float = MAX_AGE_S,
    ) -> None:
        if max_age <= 0:
            raise ValueError(f"max_age must be > 0 seconds, got {max_age}")
        self._clock = clock
        self._url = url
        self._api: Api = api
        self._ping_s = ping_s
        self._max_age = max_age
        self._prices: dict[str, tuple[Decimal, float]] = {}
        self._at: float | None = None
        self._socket: ReconnectingSocket | None = None
        self._stale_logged: set[str] = set()
        self._listeners: list[PriceListener] = []

    @property
    def url(self) -> str:
        return self._url

    @property
    def api(self) -> Api:
        return self._api

    @property
    def socket(self) -> ReconnectingSocket | None:
        """The connection while started (its counters: connections, pings, pongs)."""
        return self._socket

    def add_listener(self, listener: PriceListener) -> None:
        """Call ``listener`` with the coins each message updates (right after they apply)."""
        self._listeners.append(listener)

    def feed(self, text: str) -> None:
        """Apply one received message (public for tests)."""
        items = [p for p in parse_index_prices(text) if p.quote_coin == QUOTE and p.price > 0]
        now = self._clock.now()
        for p in items:
            self._prices[p.base_coin] = (p.price, now)
            self._stale_logged.discard(p.base_coin)
        if items:
            self._at = now
            update = MappingProxyType({p.base_coin: p.price for p in items})
            for listener in self._listeners:
                try:
                    listener(update)
                except Exception:  # one listener's bug never stops the prices
                    log.exception("index price feed: a listener failed")

    async def prices(self) -> Mapping[str, Decimal]:
        now = self._clock.now()
        fresh: dict[str, Decimal] = {}
        for coin, (price, at) in self._prices.items():
            if now - at <= self._max_age:
                fresh[coin] = price
            elif coin not in self._stale_logged:
                self._stale_logged.add(coin)
                log.warning(
                    "index price of %s is %.0fs old (limit %gs): dropped until a new one comes",
                    coin,
                    now - at,
                    self._max_age,
                )
        return MappingProxyType(fresh)

    @property
    def observed_at(self) -> float | None:
        return self._at

    async def start(self) -> None:
        if self._socket is None:
            self._socket = ReconnectingSocket(
                self._url, self, name=f"index price feed ({self._api})", ping_s=self._ping_s
            )
            self._socket.start()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.stop()
            self._socket = None

    # --- SocketHandler ----------------------------------------------------------------------
    async def opened(self, send: Send) -> None:
        await send(_SUBSCRIBE[self._api])

    async def message(self, text: str, send: Send) -> None:
        if '"event"' in text and '"error"' in text:
            log.warning("index price feed: the server answered an error: %s", text[:200])
            return
        self.feed(text)

    async def tick(self, send: Send) -> None:
        return None
