"""Index prices in USDT per coin, for snapshots (``prices_usdt``) and USDT caps.

The margin REST API has no price endpoint: the real exchange publishes index prices only on
its WebSocket ``indexPrice`` channel (instType ``mabl``, instId ``default``). A
:class:`PriceSource` hides where prices come from:

- :class:`NoPrices`: none (rules that use prices degrade as the rules engine documents;
  USDT caps need a coin cap for non-USDT coins);
- :class:`StaticPrices`: fixed values (tests);
- :class:`SimPriceSource`: the in-process simulator's index prices (tests, demo);
- :class:`BitgetIndexPriceFeed`: the real exchange's WebSocket feed (``riskd run`` uses it
  unless ``[prices] enabled = false``; the simulator serves the same channel). A coin's
  price older than ``max_age`` seconds is dropped, never returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Protocol

from riskd.clock import Clock

log = logging.getLogger(__name__)

QUOTE = "USDT"
WS_PATH = "/spot/v1/stream"
WS_URL = "wss://ws.bitget.com" + WS_PATH
#: The REST base URL of the real exchange, whose WebSocket lives on another host.
BITGET_REST_URL = "https://api.bitget.com"
#: Default for ``[prices] max_age``: older prices are dropped.
MAX_AGE_S = 30.0
SUBSCRIBE = {
    "op": "subscribe",
    "args": [{"instType": "mabl", "channel": "indexPrice", "instId": "default"}],
}
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


def ws_url_for(base_url: str) -> str:
    """The ``indexPrice`` WebSocket URL that goes with a REST ``base_url``.

    The real exchange (``https://api.bitget.com``) → :data:`WS_URL`; anything else (the
    simulator) → the same host with ``http`` → ``ws``, ``https`` → ``wss`` and the path
    ``/spot/v1/stream``.
    """
    base = base_url.rstrip("/")
    if base == BITGET_REST_URL:
        return WS_URL
    for rest, ws in (("https://", "wss://"), ("http://", "ws://")):
        if base.startswith(rest):
            return ws + base[len(rest) :] + WS_PATH
    raise ValueError(f"base_url {base_url!r} does not start with http:// or https://")


@dataclass(frozen=True, slots=True)
class IndexPrice:
    symbol: str
    base_coin: str
    quote_coin: str
    price: Decimal
    timestamp_ms: int


def parse_index_prices(text: str) -> list[IndexPrice]:
    """Index prices in one ``indexPrice`` channel message; [] for anything else (pong, acks).

    Malformed items are skipped with a warning; a float never becomes a price (strings only).
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
    if not isinstance(arg, dict) or arg.get("channel") != "indexPrice":
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
                    timestamp_ms=int(item.get("timestamp") or 0),
                )
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            log.warning("index price feed: skipping a malformed item: %s", exc)
    return out


class BitgetIndexPriceFeed:
    """Keeps the latest USDT index price per coin from Bitget's public WebSocket.

    ``start()`` runs a background task that connects, subscribes, pings every 25 s and
    reconnects with backoff; ``prices()`` returns what was received within the last
    ``max_age`` seconds (by the clock, when it arrived): an older price is dropped, so a
    dead feed means no prices rather than stale ones.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        url: str = WS_URL,
        ping_s: float = 25.0,
        max_age: float = MAX_AGE_S,
    ) -> None:
        if max_age <= 0:
            raise ValueError(f"max_age must be > 0 seconds, got {max_age}")
        self._clock = clock
        self._url = url
        self._ping_s = ping_s
        self._max_age = max_age
        self._prices: dict[str, tuple[Decimal, float]] = {}
        self._at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._stale_logged: set[str] = set()

    @property
    def url(self) -> str:
        return self._url

    def feed(self, text: str) -> None:
        """Apply one received message (public for tests)."""
        items = [p for p in parse_index_prices(text) if p.quote_coin == QUOTE and p.price > 0]
        now = self._clock.now()
        for p in items:
            self._prices[p.base_coin] = (p.price, now)
            self._stale_logged.discard(p.base_coin)
        if items:
            self._at = now

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
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="riskd-index-prices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import websockets  # imported here: only the real-exchange feed needs it

        delay = 1.0
        while True:
            try:
                async with websockets.connect(self._url) as ws:
                    await ws.send(json.dumps(SUBSCRIBE))
                    delay = 1.0
                    while True:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=self._ping_s)
                        except TimeoutError:
                            await ws.send("ping")
                            continue
                        self.feed(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning("index price feed disconnected (%s); retrying in %.0fs", exc, delay)
            except Exception:  # a feed bug must not end the feed: log it, reconnect
                log.exception("index price feed failed; retrying in %.0fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
