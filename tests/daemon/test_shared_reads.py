"""The node's shared reads (symbol list, tier data): one read for every account asking at once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from riskd.daemon.exchange import ExchangeError, SymbolInfo
from riskd.daemon.poll_reference import SharedReads


def _symbols() -> list[SymbolInfo]:
    return [SymbolInfo("BTCUSDT", "BTC", "USDT", Decimal("0.8"), Decimal("1"), quantity_scale=6)]


async def test_thirty_accounts_asking_at_once_make_one_read() -> None:
    """Concurrent askers share the read in flight; a fresh answer is reused within the ttl."""
    calls = 0

    async def fetch() -> list[SymbolInfo]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return _symbols()

    shared = SharedReads()
    got = await asyncio.gather(*(shared.get("v2", 100.0, 300.0, fetch) for _ in range(30)))
    assert calls == 1 and all(g[0].symbol == "BTCUSDT" for g in got)
    await shared.get("v2", 200.0, 300.0, fetch)
    assert calls == 1
    await shared.get("v1", 200.0, 300.0, fetch)  # another API version: its own read
    await shared.get("v2", 401.0, 300.0, fetch)  # past the ttl: read again
    assert calls == 3


async def test_a_failed_read_fails_every_asker_and_is_tried_again() -> None:
    """An exchange error reaches each asker (who logs it); the next ask reads again."""
    calls = 0

    async def fetch() -> list[SymbolInfo]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ExchangeError("429 too many requests")
        return _symbols()

    shared = SharedReads()
    results = await asyncio.gather(
        *(shared.get("v2", 0.0, 300.0, fetch) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ExchangeError) for r in results)
    assert (await shared.get("v2", 1.0, 300.0, fetch))[0].quantity_scale == 6
    assert calls == 2


async def test_one_asker_cancelled_does_not_cancel_the_others() -> None:
    """A cycle cut short while waiting leaves the shared read running for the rest."""
    release = asyncio.Event()

    async def fetch() -> list[SymbolInfo]:
        await release.wait()
        return _symbols()

    shared = SharedReads()
    first = asyncio.ensure_future(shared.get("v2", 0.0, 300.0, fetch))
    second = asyncio.ensure_future(shared.get("v2", 0.0, 300.0, fetch))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert (await second)[0].symbol == "BTCUSDT"
    with pytest.raises(asyncio.CancelledError):
        await first
