"""The reads around one account's balances: reference data, open orders, risk figures.

- reference data (``currencies``, tier data per cross coin / isolated symbol): refreshed every
  ``poll.reference_ttl`` seconds (:meth:`ReferenceReader.refresh`), and the tiers of a newly
  seen coin or symbol fetched at once (:meth:`ReferenceReader.ensure_tiers`).
- open orders (:func:`count_orders`): asked only where a balance is frozen; an order list that
  cannot be read is logged and counted as none.
- an isolated symbol's reported risk figure (:func:`symbol_rate`): from the one call for every
  owing symbol where the exchange makes it (:func:`batch_rates`), else the symbol's own read.

Used by :class:`riskd.daemon.poller.AccountPoller`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar, cast

from riskd.bitget.gate import Priority, request_priority
from riskd.daemon.exchange import (
    AccountModeError,
    AssetRow,
    BatchRiskRates,
    Exchange,
    ExchangeError,
    MalformedAnswer,
    Margin,
    TierInfo,
)
from riskd.daemon.snapshots import Reference, has_debt
from riskd.risk.snapshot import isolated_scope

log = logging.getLogger("riskd.daemon.poller")

_T = TypeVar("_T")


class SharedReads:
    """Reads whose answer is the same for every account of a node — the symbol list
    (``currencies``) and each coin's or symbol's tier data — made once and shared: thirty
    accounts taken over at once ask them once, not thirty times out of the per-IP budget
    (cross configuration endpoints are limited per IP). Concurrent askers share the read in
    flight; a failed read fails each of them (and is tried again at their next poll)."""

    def __init__(self) -> None:
        self._read: dict[str, tuple[float, Any]] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str, now: float, ttl: float, fetch: Callable[[], Awaitable[_T]]) -> _T:
        hit = self._read.get(key)
        if hit is not None and now - hit[0] < ttl:
            return cast(_T, hit[1])
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(fetch())
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        # Shielded: one asker cancelled (its cycle cut short) does not cancel the others'.
        value = await asyncio.shield(pending)
        self._read[key] = (now, value)
        return cast(_T, value)


class ReferenceReader:
    """The latest reference data of one account (:attr:`ref`) and when it was read; the
    symbol list through the node's :class:`SharedSymbols` when given (``key``: the API
    version the account speaks)."""

    def __init__(
        self,
        account: str,
        exchange: Exchange,
        shared: SharedReads | None = None,
        key: str = "",
    ) -> None:
        self.account = account
        self._ex = exchange
        self._shared = shared
        self._key = key
        self.ref = Reference()
        self._ref_at: float | None = None
        #: The time and ttl of the latest refresh (the shared tier reads' validity).
        self._now = 0.0
        self._ttl = 0.0

    async def refresh(self, now: float, ttl: float) -> None:
        """Read ``currencies`` again when the last read is ``ttl`` seconds old (or none was
        made); the tiers are dropped, to be fetched again as needed."""
        self._now, self._ttl = now, ttl
        if self._ref_at is not None and now - self._ref_at < ttl:
            return
        try:
            if self._shared is not None:
                listed = await self._shared.get(f"{self._key}:symbols", now, ttl, self._ex.symbols)
            else:
                listed = await self._ex.symbols()
            symbols = {s.symbol: s for s in listed}
        except ExchangeError as exc:
            log.warning("%s: cannot refresh currencies: %s", self.account, exc)
            return
        self.ref = Reference(symbols, {}, {})  # tiers are fetched again below, as needed
        self._ref_at = now

    async def ensure_tiers(self, margin: str, keys: set[str]) -> None:
        """Fetch the tiers of the ``keys`` (cross coins or isolated symbols) not known yet."""
        have = self.ref.cross_tiers if margin == "cross" else self.ref.isolated_tiers
        missing = sorted(k for k in keys if k and k not in have)
        if not missing:
            return
        kind: Margin = "cross" if margin == "cross" else "isolated"

        async def fetch(key: str) -> TierInfo:
            if self._shared is None:
                return await self._ex.tier(kind, key)
            return await self._shared.get(
                f"{self._key}:tier:{kind}:{key}",
                self._now,
                self._ttl,
                lambda: self._ex.tier(kind, key),
            )

        async def one(key: str) -> tuple[str, TierInfo | None]:
            try:
                return key, await fetch(key)
            except ExchangeError as exc:
                log.warning("%s: no tier data for %s %s: %s", self.account, margin, key, exc)
                return key, None

        # Side by side (the budget paces them): a dozen new symbols on a slow exchange must
        # not hold the first risk reads up for a dozen round trips.
        got = {k: t for k, t in await asyncio.gather(*map(one, missing)) if t is not None}
        now_have = self.ref.cross_tiers if margin == "cross" else self.ref.isolated_tiers
        fetched = {**now_have, **got}
        if margin == "cross":
            self.ref = Reference(self.ref.symbols, fetched, self.ref.isolated_tiers)
        else:
            self.ref = Reference(self.ref.symbols, self.ref.cross_tiers, fetched)


async def count_orders(ex: Exchange, account: str, margin: Margin, symbols: set[str]) -> int:
    """Open orders on ``symbols`` (asked only where a balance is frozen)."""
    count = 0
    for symbol in sorted(symbols):
        try:
            count += len(await ex.open_orders(margin, symbol))
        except ExchangeError as exc:
            log.warning("%s: open orders of %s unknown: %s", account, symbol, exc)
    return count


async def symbol_rate(
    ex: Exchange,
    symbol: str,
    mine: list[AssetRow],
    batch: dict[str, Decimal] | ExchangeError | None,
) -> Decimal | None:
    """The exchange's figure for ``symbol`` (None: it owes nothing, none was asked): from the
    one-call ``batch`` where there is one, else its own ``isolated_risk_rate`` read."""
    if not has_debt(mine):
        return None
    if isinstance(batch, ExchangeError):
        raise batch
    if batch is None:
        return await ex.isolated_risk_rate(symbol)
    if symbol not in batch:
        raise MalformedAnswer(
            f"isolated_risk_rate: the list has no row for symbol {symbol}, which owes"
        )
    return batch[symbol]


def own_rate_may_stand_in(exc: ExchangeError) -> bool:
    """Whether riskd's own risk rate may stand in for the exchange's figure whose read failed
    with ``exc`` (the balances were read): a passing failure (429, maintenance, a 5xx, a
    budget wait), not a refusal of the account nor an answer riskd does not understand. In a
    429 storm a scope then needs one good read, not two, to be seen."""
    return exc.transient and not isinstance(exc, AccountModeError | MalformedAnswer)


async def batch_rates(
    ex: Exchange,
    rows: list[AssetRow],
    symbols: list[str],
    priority_of: Callable[[set[str]], Priority],
) -> dict[str, Decimal] | ExchangeError | None:
    """Every owing symbol's figure in one call, where the exchange can (else None), at the
    priority ``priority_of`` gives the owing symbols' scopes; a failed call is returned."""
    if not isinstance(ex, BatchRiskRates):
        return None
    owing = owing_symbols(rows, symbols)
    if not owing:
        return {}
    scopes = {isolated_scope(s) for s in owing}
    with request_priority(priority_of(scopes)):
        try:
            return await ex.isolated_risk_rates(owing)
        except ExchangeError as exc:
            return exc


class EarlyRates:
    """The isolated risk figures read *beside* the balances' read instead of after it: one
    call's latency per poll instead of two (with 1.5 s per call, a scope is seen 1.5 s
    sooner). Started for the due symbols that owed at their last read; it serves the poll
    when the balances show no other symbol owing (a new debt: read after, as before)."""

    def __init__(self, task: asyncio.Task[dict[str, Decimal] | ExchangeError], symbols: set[str]):
        self._task = task
        self._symbols = symbols

    @classmethod
    def start(
        cls,
        ex: Exchange,
        symbols: set[str],
        priority_of: Callable[[set[str]], Priority],
    ) -> EarlyRates | None:
        """The read of ``symbols``' figures, started now (None: nothing to read, or the
        exchange has no list of every symbol's figure)."""
        if not symbols or not isinstance(ex, BatchRiskRates):
            return None
        batch = ex

        async def read() -> dict[str, Decimal] | ExchangeError:
            with request_priority(priority_of({isolated_scope(s) for s in symbols})):
                try:
                    return await batch.isolated_risk_rates(sorted(symbols))
                except ExchangeError as exc:
                    return exc

        return cls(asyncio.ensure_future(read()), set(symbols))

    async def rates(
        self, rows: list[AssetRow], symbols: list[str]
    ) -> dict[str, Decimal] | ExchangeError | None:
        """The figures for ``symbols`` that owe in ``rows`` (a failed read is returned);
        None when one of them was not asked for: the caller reads them itself."""
        if not set(owing_symbols(rows, symbols)) <= self._symbols:
            self.cancel()
            return None
        return await self._task

    def cancel(self) -> None:
        """Stop the read if it still runs (the poll no longer needs it)."""
        drop_read(self._task)


def owing_symbols(rows: list[AssetRow], symbols: list[str]) -> list[str]:
    """Those of ``symbols`` that owe something in ``rows``."""
    return [s for s in symbols if has_debt(r for r in rows if r.symbol == s)]


def drop_read(task: asyncio.Future[Any] | None) -> None:
    """Stop a read started beside another one that no longer needs it; an error it already
    ended with is collected (an exchange error is expected and dropped, anything else is
    logged)."""
    if task is None:
        return
    if not task.done():
        task.cancel()
        return
    exc = None if task.cancelled() else task.exception()
    if exc is not None and not isinstance(exc, ExchangeError):
        log.error("a read beside the balances' read failed: %r", exc)
