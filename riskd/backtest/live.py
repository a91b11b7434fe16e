"""``--from-account NAME``: the starting snapshot read from a live account (read-only).

Only GET endpoints are called, through the project's client: the cross and isolated assets,
and the tier data for each scope's maintenance margin rate (the first tier). Coins other than
USDT and the symbol's base coin are left out (the candle file prices nothing else) and said.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
from pydantic import ValidationError

from riskd.backtest.snapshot import AccountSnapshot, SnapshotError
from riskd.bitget.client import BitgetClient
from riskd.bitget.models import CrossAsset
from riskd.clock import Clock
from riskd.risk.snapshot import USDT, isolated_scope
from riskd.settings import Settings

ZERO = Decimal(0)


def _balances(assets: tuple[CrossAsset, ...], keep: set[str]) -> tuple[dict[str, object], set[str]]:
    out: dict[str, object] = {}
    dropped: set[str] = set()
    for a in assets:
        if a.available == 0 and a.frozen == 0 and a.borrow == 0 and a.interest == 0:
            continue
        if a.coin not in keep:
            dropped.add(a.coin)
            continue
        out[a.coin] = {
            "available": a.available,
            "frozen": a.frozen,
            "borrow": a.borrow,
            "interest": a.interest,
        }
    return out, dropped


async def snapshot_from_account(
    settings: Settings,
    name: str,
    symbol: str,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
) -> tuple[AccountSnapshot, list[str]]:
    """The account's cross scope and ``isolated:symbol`` as a snapshot, and notes to show."""
    if name not in settings.accounts:
        known = ", ".join(sorted(settings.accounts)) or "none"
        raise SnapshotError(f"--from-account {name}: no such account in the config ({known})")
    acc = settings.accounts[name]
    base = symbol.removesuffix(USDT)
    keep = {USDT, base}
    notes: list[str] = []
    scopes: dict[str, object] = {}
    async with BitgetClient(
        settings.credentials(name),
        http=http,
        base_url=settings.base_url,
        clock=clock,
        timeout_s=settings.poll.request_timeout,
        api=acc.api,
    ) as client:
        cross, dropped = _balances(await client.cross_assets(), keep)
        iso_assets = await client.isolated_assets(symbol=symbol)
        iso, dropped_iso = _balances(tuple(a for a in iso_assets if a.symbol == symbol), keep)
        if cross:
            mmr = {}
            for coin in cross:
                tiers = await client.cross_tier_data(coin=coin)
                if tiers:
                    mmr[coin] = min(tiers, key=lambda t: t.tier).maintain_margin_rate
            scopes["cross"] = {"balances": cross, **({"mmr": mmr} if mmr else {})}
        if iso:
            itiers = await client.isolated_tier_data(symbol=symbol)
            entry: dict[str, object] = {"balances": iso}
            if itiers:
                entry["mmr"] = min(itiers, key=lambda t: t.tier).maintain_margin_rate
            scopes[isolated_scope(symbol)] = entry
    if dropped | dropped_iso:
        notes.append(
            f"left out (no price in the candle file): {', '.join(sorted(dropped | dropped_iso))}"
        )
    if not scopes:
        raise SnapshotError(
            f"--from-account {name}: nothing held or owed in cross or isolated:{symbol}"
        )
    try:
        snap = AccountSnapshot.model_validate({"account": name, "symbol": symbol, "scopes": scopes})
    except ValidationError as exc:
        raise SnapshotError(f"--from-account {name}: {exc}") from None
    return snap, notes
