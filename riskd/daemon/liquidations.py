"""Noticing that the exchange liquidated a scope, and saying so.

Two sources, each cross-checking the other:

- **Records.** The exchange's liquidation history of the account (cross and isolated), read
  every ``poll.liquidation_check`` and at once after a sharp rise (a scope at or above its
  warning ratio, or a scope that vanished while it owed something).
- **Account state**, when the records lag: a scope that owed something and was at risk
  (at or above half its liquidation ratio) whose debt is gone at the next poll (or which
  vanished) while no action of riskd on it could explain it (a repay or flash repay
  journaled since). The records are then read at once; when they still show nothing, the
  liquidation is announced as seen in the account state, and the record, once it appears,
  is journaled without a second alert.

Each liquidation is announced once (critical ``LIQUIDATED`` alert on every route, journal
kind ``liquidated``, metric ``riskd_liquidations_total``); liquidation ids and scopes already
announced are remembered across restarts through the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from riskd.bitget.client import BitgetClient
from riskd.bitget.models_records import LiquidationRecord
from riskd.daemon.journal import NOT_EXECUTED, IntentRecord
from riskd.risk.snapshot import CROSS, ScopeSnapshot, isolated_scope

log = logging.getLogger(__name__)

Margin = Literal["cross", "isolated"]
#: Kinds of action of riskd that take a scope's debt away.
_DEBT_CLEARING = frozenset({"repay", "flashRepay"})
#: A record this much older than the last check is still looked at (record times lag).
SLACK_S = 120.0
#: While a scope is at risk, the records are read again after this long.
SOON_S = 10.0
#: A coin's debt falling by this share without riskd acting makes the records read at once.
PARTIAL_CUT = Decimal("0.1")
#: After such a fall, the records are read every cycle for this long (they may lag).
WATCH_S = 30.0


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A liquidation of one scope, from a record or from the account state."""

    account: str
    scope: str
    at: float
    source: Literal["record", "state"]
    liq_id: str | None = None
    fee: Decimal | None = None
    total_debt: Decimal | None = None
    total_assets: Decimal | None = None
    risk: Decimal | None = None
    #: The index price of the scope's coin when riskd noticed (not the exchange's fill).
    price: Decimal | None = None
    price_coin: str | None = None

    def describe(self) -> str:
        parts = [f"{self.account}/{self.scope} liquidated"]
        if self.price is not None and self.price_coin:
            parts.append(f"{self.price_coin} index {self.price}")
        if self.fee is not None:
            parts.append(f"fee {self.fee}")
        if self.total_debt is not None:
            parts.append(f"debt {self.total_debt}")
        if self.source == "state":
            parts.append("seen in the account state; the exchange's record is not out yet")
        return "; ".join(parts)


class LiquidationSource(Protocol):
    """The account's liquidation history since ``since_ms`` (isolated: one symbol's; the
    v2 isolated history requires the symbol)."""

    async def liquidations(
        self, margin: Margin, since_ms: int, symbol: str | None = None
    ) -> list[LiquidationRecord]: ...


class ClientLiquidations:
    """:class:`LiquidationSource` over the signed client (v1 or v2, the same methods)."""

    def __init__(self, client: BitgetClient) -> None:
        self._client = client

    async def liquidations(
        self, margin: Margin, since_ms: int, symbol: str | None = None
    ) -> list[LiquidationRecord]:
        if margin == "cross":
            page = await self._client.cross_liquidations(start_time=since_ms)
        else:
            page = await self._client.isolated_liquidations(symbol=symbol, start_time=since_ms)
        return list(page.items)


def _owes(snap: ScopeSnapshot) -> bool:
    return any(b.liability > 0 for b in snap.balances.values())


def _at_risk(snap: ScopeSnapshot) -> bool:
    return _owes(snap) and snap.risk_rate >= snap.liquidation_risk_ratio / 2


def _debt(snap: ScopeSnapshot) -> dict[str, Decimal]:
    return {c: b.liability for c, b in snap.balances.items() if b.liability > 0}


def suspects(
    before: Mapping[str, ScopeSnapshot],
    after: Mapping[str, ScopeSnapshot],
    removed: Iterable[str],
    intents: Sequence[IntentRecord],
) -> tuple[set[str], set[str]]:
    """Scopes at risk whose debt fell with no action of riskd to explain it (pure):
    ``(gone, cut)`` — the debt vanished (or the scope did), or a coin's debt fell by
    :data:`PARTIAL_CUT` or more (a partial liquidation, or the owner repaying by hand)."""
    explained = {
        r.intent.scope
        for r in intents
        if r.intent.kind in _DEBT_CLEARING and not r.intent.dry_run and r.status != NOT_EXECUTED
    }
    vanished = set(removed)
    gone: set[str] = set()
    cut: set[str] = set()
    for scope, prev in before.items():
        if not _at_risk(prev) or scope in explained:
            continue
        now = after.get(scope)
        if scope in vanished or now is None or not _owes(now):
            gone.add(scope)
            continue
        owed = _debt(now)
        if any(owed.get(c, Decimal(0)) <= d * (1 - PARTIAL_CUT) for c, d in _debt(prev).items()):
            cut.add(scope)
    return gone, cut


def _isolated_to_read(
    before: Mapping[str, ScopeSnapshot],
    after: Mapping[str, ScopeSnapshot],
    removed: Iterable[str],
    suspected: Iterable[str],
) -> list[str]:
    """Isolated symbols whose history is worth a call: only a scope at risk can have been
    liquidated (or one that vanished, or is suspected)."""
    scopes = {sc for sc, snap in {**before, **after}.items() if _at_risk(snap)}
    scopes |= set(removed) | set(suspected)
    return sorted(sc.split(":", 1)[1] for sc in scopes if sc.startswith("isolated:"))


def _scope_of(margin: Margin, record: LiquidationRecord, symbol: str | None = None) -> str:
    if margin == "cross":
        return CROSS
    return isolated_scope(record.symbol or symbol or "?")


def _price(snap: ScopeSnapshot | None) -> tuple[Decimal | None, str | None]:
    if snap is None:
        return None, None
    coins = [c for c in snap.balances if c != "USDT"]
    coin = snap.base_coin or (coins[0] if coins else None)
    if coin is None:
        return None, None
    return snap.prices_usdt.get(coin), coin


class LiquidationWatch:
    """Finds the liquidations of one account (records, cross-checked with the state)."""

    def __init__(
        self,
        account: str,
        source: LiquidationSource,
        *,
        interval: float,
        known_ids: Iterable[str] = (),
        started_at: float,
        lookback: float = 3600.0,
    ) -> None:
        self.account = account
        self._source = source
        self._interval = interval
        self._seen_ids: set[str] = set(known_ids)
        #: Scopes announced from the account state, waiting for their record (not alerted
        #: again when it comes).
        self._awaiting_record: set[str] = set()
        self._last_check: float | None = None
        #: Scopes whose debt fell unexplained → read the records every cycle until then.
        self._watch_until: dict[str, float] = {}
        self._since = started_at - lookback

    def remember(self, liq_ids: Iterable[str]) -> None:
        """Liquidations already announced (from the journal, across restarts)."""
        self._seen_ids.update(liq_ids)

    def due(self, now: float, snapshots: Mapping[str, ScopeSnapshot]) -> bool:
        """On schedule; and every :data:`SOON_S` while a scope is at or above its warning
        ratio (a sharp rise), without spending the poll budget every tick."""
        if self._last_check is None or now - self._last_check >= self._interval:
            return True
        if now - self._last_check < SOON_S:
            return False
        return any(_owes(s) and s.risk_rate >= s.warning_risk_ratio for s in snapshots.values())

    async def check(
        self,
        now: float,
        before: Mapping[str, ScopeSnapshot],
        after: Mapping[str, ScopeSnapshot],
        removed: Iterable[str],
        intents: Sequence[IntentRecord],
        *,
        scheduled: bool = True,
    ) -> list[Liquidation]:
        """New liquidations since the last check. Raises the exchange's errors (the caller
        logs them and tries again next cycle); the account state still speaks then.

        ``scheduled=False`` reads the records only on suspicion (a debt that fell with no
        action to explain it): the daemon calls it so before deciding, and with
        ``scheduled=True`` (the schedule too) after acting, so that routine reads never
        hold up a protective action."""
        gone, cut = suspects(before, after, removed, intents)
        for scope in gone | cut:
            self._watch_until[scope] = now + WATCH_S
        watched = {sc for sc, until in self._watch_until.items() if until >= now}
        self._watch_until = {sc: u for sc, u in self._watch_until.items() if u >= now}
        suspected = gone
        if not watched and not (scheduled and self.due(now, after)):
            return []
        found: list[Liquidation] = []
        since_ms = int((min(self._since, now - SLACK_S)) * 1000)
        records: list[tuple[Margin, str | None, LiquidationRecord]] = []
        try:
            got = await self._source.liquidations("cross", since_ms)
            records += [("cross", None, r) for r in got]
            for symbol in _isolated_to_read(before, after, removed, watched):
                got = await self._source.liquidations("isolated", since_ms, symbol)
                records += [("isolated", symbol, r) for r in got]
        finally:
            self._last_check = now
        self._since = now - SLACK_S
        recorded: set[str] = set()
        for margin, asked, rec in records:
            scope = _scope_of(margin, rec, asked)
            recorded.add(scope)
            if rec.liq_id in self._seen_ids:
                continue
            self._seen_ids.add(rec.liq_id)
            if scope in self._awaiting_record:
                self._awaiting_record.discard(scope)
                log.info("%s/%s: liquidation record %s arrived", self.account, scope, rec.liq_id)
                continue
            snap = before.get(scope) or after.get(scope)
            price, coin = _price(snap)
            at = (rec.liq_end_time or rec.liq_start_time or rec.c_time or int(now * 1000)) / 1000
            found.append(
                Liquidation(
                    self.account,
                    scope,
                    float(at),
                    "record",
                    liq_id=rec.liq_id,
                    fee=rec.liq_fee,
                    total_debt=rec.total_debt,
                    total_assets=rec.total_assets,
                    risk=rec.liq_risk,
                    price=price,
                    price_coin=coin,
                )
            )
        for scope in sorted(suspected - recorded - self._awaiting_record):
            prev = before[scope]
            price, coin = _price(after.get(scope) or prev)
            self._awaiting_record.add(scope)
            found.append(
                Liquidation(
                    self.account,
                    scope,
                    now,
                    "state",
                    risk=prev.risk_rate,
                    price=price,
                    price_coin=coin,
                )
            )
        return found


__all__ = [
    "ClientLiquidations",
    "Liquidation",
    "LiquidationSource",
    "LiquidationWatch",
    "suspects",
]
