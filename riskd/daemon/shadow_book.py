"""One account's dry-run shadow: the ledger, kept in the journal, applied to every read.

:class:`ShadowBook` is what :class:`~riskd.daemon.shadow_exchange.ShadowExchange` (the reads)
and :class:`~riskd.daemon.executor.DryRunExecutor` (the would-be actions) share:

- :meth:`ShadowBook.record` turns a dry-run plan into a :class:`~riskd.daemon.shadow.ShadowEntry`,
  stores it, journals it (kind ``shadow``), re-polls the scope through the shadow and says
  what would have followed (``riskRate 0.76 → 0.60 in the shadow``);
- :meth:`ShadowBook.shadow_rows` and :meth:`ShadowBook.shadow_rate` put the entries on top of
  each fresh reading, the rate by the pure risk math (:func:`riskd.risk.math.value`): the
  exchange's figure scaled by how much riskd's own figure moves under the shadow;
  :meth:`ShadowBook.shadow_uta` does both for a Unified Trading Account's one read (its coins,
  and its ``mgnRatio`` and ``mmr`` scaled the same way);
- :meth:`ShadowBook.real_snapshot` undoes it for ``riskd status`` (the real rate first, the
  shadow's beside it).

**Kept.** The entries are the journal's ``meta`` value ``shadow:<account>`` (read back on the
first read after a start: a restart keeps the shadow); each change is an event of kind
``shadow``.

**Cleared** (every entry, journaled): when the account is LIVE (a reload or a restart switched
it: a LIVE account acts on its real balances only), and when ``riskd resume`` (for the account
or for all) or a mode switch was journaled after the entry — resuming is the owner's "go on
from the account as it is". Entries also expire one by one (:mod:`riskd.daemon.shadow`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from riskd.bitget.gate import Priority, request_priority
from riskd.bitget.models_uta import UtaAssets, UtaCoin
from riskd.clock import Clock
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import AssetRow, ExchangeError, Margin
from riskd.daemon.journal import Journal
from riskd.daemon.plans import ActionPlan
from riskd.daemon.shadow import Applied, ShadowEntry, ShadowLedger, describe, effects_of, rows_with
from riskd.daemon.snapshots import Reference, cross_snapshot, isolated_snapshot, own_risk_rate
from riskd.risk.reading import DIRECT, INVERSE, OWN, Reading, read_risk_rate
from riskd.risk.snapshot import CROSS, UTA, CoinBalance, ScopeSnapshot, parse_scope

log = logging.getLogger(__name__)

ZERO = Decimal(0)
EIGHT = Decimal("1e-8")


class ShadowPoller(Protocol):
    """The account's poller, as far as the shadow uses it."""

    @property
    def snapshots(self) -> Mapping[str, ScopeSnapshot]: ...
    @property
    def last_prices(self) -> Mapping[str, Decimal]: ...
    @property
    def ref(self) -> Reference: ...

    async def repoll(self, scope: str) -> ScopeSnapshot | None: ...


@dataclass(frozen=True, slots=True)
class ShadowReading:
    """A shadowed scope's real figures beside the shadow's (for ``riskd status``)."""

    #: The real risk rate (the exchange's, read as the poller reads it; riskd's own when the
    #: exchange was not asked), riskd's own real figure, the exchange's figure as sent.
    real_rate: Decimal | None
    own_real: Decimal | None
    reported: Decimal | None
    #: What the rules see.
    shadow_rate: Decimal | None


class ShadowBook:
    """The shadow of one dry-run account (see the module)."""

    def __init__(
        self,
        account: str,
        journal: Journal,
        clock: Clock,
        *,
        dry_run: Callable[[], bool],
        contested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.account = account
        self._journal = journal
        self._clock = clock
        self._dry_run = dry_run
        self._contested = contested
        self.ledger = ShadowLedger()
        self._loaded = False
        self._loading = asyncio.Lock()
        self._poller: ShadowPoller | None = None
        #: scope → (real balances, shadowed balances) at its last read.
        self._balances: dict[str, tuple[Mapping[str, CoinBalance], Mapping[str, CoinBalance]]] = {}
        #: scope → its real figures, while shadowed.
        self.readings: dict[str, ShadowReading] = {}
        self._clipped: dict[str, tuple[str, ...]] = {}
        #: A Unified Trading Account's liquidation level (set by its first shadowed read).
        self._uta_level = Decimal(1)

    @property
    def key(self) -> str:
        """The journal meta key holding the entries."""
        return f"shadow:{self.account}"

    def attach(self, poller: ShadowPoller) -> None:
        """The poller whose snapshots, prices and reference data the shadow reads."""
        self._poller = poller

    # --- keeping -------------------------------------------------------------------------
    async def _load(self) -> None:
        self._loaded = True
        raw = await self._journal.get_meta(self.key)
        if raw is None:
            return
        try:
            self.ledger = ShadowLedger.from_json(raw)
        except ValueError as exc:
            await self._note(f"shadow ledger unreadable, starting empty: {exc}", what="unreadable")
            log.error("%s: %s", self.account, exc)
            self.ledger = ShadowLedger()
            await self._save()

    async def _save(self) -> None:
        # Not essential: on a full disk the shadow is the first thing to go (a restart then
        # decides again what dry-run would do).
        await self._journal.set_meta(self.key, self.ledger.to_json(), essential=False)

    async def _note(
        self, summary: str, *, what: str, scope: str | None = None, **data: object
    ) -> None:
        await self._journal.record(
            EventKind.SHADOW,
            summary,
            at=self._clock.now(),
            account=self.account,
            scope=scope,
            data={"what": what, **data},
        )

    async def refresh(self) -> None:
        """Load the entries once; clear them when the account is LIVE, and drop those older
        than a resume, a mode switch or (for their scope) a liquidation journaled since."""
        async with self._loading:  # cross and isolated are read side by side
            if not self._loaded:
                await self._load()
        if not self.ledger:
            return
        if not self._dry_run():
            await self.clear("the account is LIVE: it acts on its real balances only")
            return
        since = min(e.at for e in self.ledger.entries)
        kinds = [EventKind.RESUMED, EventKind.MODE, EventKind.LIQUIDATED]
        for event in await self._journal.events(since=since, kinds=kinds):
            if event.account not in (None, self.account):
                continue
            if event.kind == EventKind.LIQUIDATED:
                gone = [e for e in self.ledger.entries if e.scope == event.scope]
                why = f"the scope was liquidated ({event.summary})"
            else:
                gone = list(self.ledger.entries)
                what = "actions resumed" if event.kind == EventKind.RESUMED else "mode changed"
                why = f"{what} ({event.summary})"
            # An entry made at or after the event stays: it follows it.
            await self._drop([e for e in gone if e.at < event.at], why)

    async def clear(self, why: str) -> None:
        """Drop every entry, journaled with ``why``."""
        await self._drop(list(self.ledger.entries), why)
        self.readings.clear()
        self._balances.clear()
        self._clipped.clear()

    async def _drop(self, gone: Sequence[ShadowEntry], why: str) -> None:
        if not gone:
            return
        self.ledger.entries = [e for e in self.ledger.entries if e not in gone]
        text = f"shadow ledger cleared ({len(gone)} would-be action(s)): {why}"
        log.info("%s: %s", self.account, text)
        scopes = sorted({e.scope for e in gone})
        await self._note(
            text,
            what="cleared",
            scope=scopes[0] if len(scopes) == 1 else None,
            intents=[e.intent_id for e in gone],
        )
        await self._save()

    # --- reads ----------------------------------------------------------------------------
    async def shadow_rows(self, margin: Margin, rows: list[AssetRow]) -> list[AssetRow]:
        """``rows`` (a fresh read of ``margin``) with the shadow on top."""
        await self.refresh()
        scopes = [s for s in sorted(self.ledger.scopes()) if parse_scope(s)[0] == margin]
        return await self._on_top(scopes, rows)

    async def shadow_uta(self, got: UtaAssets, level: Decimal) -> UtaAssets:
        """``got`` (a fresh read of a Unified Trading Account, liquidated at ``mgnRatio``
        ``level``) with the shadow on top: each coin's balance and debt as the would-be
        actions leave them, and ``mgnRatio`` and ``mmr`` scaled by how much riskd's own figure
        moves under the shadow (:meth:`shadow_rate`). Equity is left as read (a repay or an
        autoRepay order moves assets and debt together)."""
        await self.refresh()
        self._uta_level = level
        if UTA not in self.ledger.scopes():
            self._forget_unshadowed()
            return got
        rows = [
            AssetRow(c.coin, c.available, max(c.balance - c.available, ZERO), c.debt, ZERO)
            for c in got.assets
        ]
        shadowed = {r.coin: r for r in await self._on_top([UTA], rows)}
        if UTA not in self.ledger.scopes():  # every entry expired on this read
            return got
        coins = [_uta_coin(c, shadowed.pop(c.coin, None)) for c in got.assets]
        # A coin only the shadow holds (bought by a would-be order) starts from nothing.
        coins += [_uta_coin(UtaCoin(coin=r.coin, **_NO_UTA_COIN), r) for r in shadowed.values()]
        ratio = self.shadow_rate(UTA, got.mgn_ratio / level) * level
        scale = ratio / got.mgn_ratio if got.mgn_ratio > 0 else Decimal(1)
        return got.model_copy(
            update={
                "mgn_ratio": ratio,
                "mmr": (got.mmr * scale).quantize(EIGHT),
                "assets": tuple(coins),
            }
        )

    async def _on_top(self, scopes: Sequence[str], rows: list[AssetRow]) -> list[AssetRow]:
        """``rows`` with the entries of ``scopes`` applied (each expired first); scopes
        no longer shadowed are forgotten."""
        self._forget_unshadowed()
        out = rows
        for scope in scopes:
            symbol = parse_scope(scope)[1]
            real = _balances(rows, symbol)
            gone = self.ledger.expire(scope, real, self._clock.now())
            if gone:
                await self._expired(scope, gone)
            if scope not in self.ledger.scopes():
                self._balances.pop(scope, None)
                self.readings.pop(scope, None)
                continue
            applied = self.ledger.apply(scope, real)
            await self._say_clipped(scope, applied)
            out = rows_with(out, applied, symbol)
            self._balances[scope] = (real, applied.balances)
            self.readings.pop(scope, None)  # figured out when the rate is read (tiers known)
        return out

    def _forget_unshadowed(self) -> None:
        """Drop the figures kept for scopes the ledger no longer shadows."""
        for scope in [s for s in list(self._balances) if s not in self.ledger.scopes()]:
            self._balances.pop(scope, None)
            self.readings.pop(scope, None)

    def _reading(self, scope: str) -> ShadowReading | None:
        """riskd's own real and shadowed figures of a shadowed scope (no exchange figure)."""
        found = self._balances.get(scope)
        if found is None or scope not in self.ledger.scopes():
            return None
        own_real = self._own(scope, found[0])
        return ShadowReading(own_real, own_real, None, self._own(scope, found[1]))

    def shadow_rate(self, scope: str, reported: Decimal) -> Decimal:
        """The exchange's figure for ``scope`` as it would read under the shadow: the real
        rate scaled by riskd's own figure under the shadow over its own real one, sent back in
        the form the exchange's figure takes (as is, or its inverse)."""
        reading = self._reading(scope)
        if reading is None:
            return reported
        own_real, own_shadow = reading.own_real, reading.shadow_rate
        previous = self._poller.snapshots.get(scope) if self._poller is not None else None
        settled = read_risk_rate(
            reported,
            own_real,
            owes=True,
            contested=self._contested(),
            previous=None if previous is None else _reading_of(previous),
        )
        real = settled.risk_rate
        if own_real is None or own_shadow is None or settled.reading == OWN:
            # Nothing to scale by (no price or tier yet), or the figures disagree already
            # (the poller then acts on its own figure, from the shadowed balances).
            self.readings[scope] = replace(reading, real_rate=real, reported=reported)
            return reported
        if own_real > 0 and own_real.is_finite() and real.is_finite():
            shadow = real * own_shadow / own_real
        else:
            shadow = own_shadow
        if shadow.is_finite():
            shadow = shadow.quantize(EIGHT)  # as the exchange sends its figures
        self.readings[scope] = ShadowReading(real, own_real, reported, shadow)
        if settled.reading == INVERSE and self._contested():
            return (Decimal(1) / shadow).quantize(EIGHT) if shadow > 0 else reported
        return shadow

    def cancelled(self, margin: Margin, symbol: str) -> frozenset[str]:
        """Order ids a shadowed ``cancelOrders`` took away on ``symbol``."""
        scope = CROSS if margin == "cross" else f"isolated:{symbol}"
        return self.ledger.cancelled(scope)

    def real_snapshot(self, snap: ScopeSnapshot) -> ScopeSnapshot:
        """``snap`` as the real account shows it (``snap`` itself when not shadowed)."""
        reading = self.readings.get(snap.scope) or self._reading(snap.scope)
        found = self._balances.get(snap.scope)
        if reading is None or found is None:
            return snap
        real = dict(found[0])
        for coin in snap.balances:
            real.setdefault(coin, CoinBalance(coin, ZERO, ZERO, ZERO, ZERO))
        return replace(
            snap,
            balances=real,
            risk_rate=reading.real_rate if reading.real_rate is not None else snap.risk_rate,
            reported_risk_rate=reading.reported,
            local_risk_rate=reading.own_real,
        )

    def _own(self, scope: str, balances: Mapping[str, CoinBalance]) -> Decimal | None:
        """riskd's own risk rate of ``balances`` with the poller's prices and tiers."""
        if self._poller is None:
            return None
        rows = [
            AssetRow(b.coin, b.available, b.frozen, b.borrow, b.interest, parse_scope(scope)[1])
            for b in balances.values()
        ]
        ref, prices = self._poller.ref, self._poller.last_prices
        kind, symbol = parse_scope(scope)
        if symbol is None:
            snap = cross_snapshot(self.account, rows, ZERO, 0.0, ref, prices)
            if kind == "uta":  # its coins' rates on the mgnRatio ÷ level scale, as polled
                mmr = {c: r / self._uta_level for c, r in snap.maintain_margin_rate.items()}
                snap = replace(snap, maintain_margin_rate=MappingProxyType(mmr))
        else:
            snap = isolated_snapshot(self.account, symbol, rows, ZERO, 0.0, ref, prices)
        return own_risk_rate(snap)

    async def _expired(self, scope: str, gone: Sequence[ShadowEntry]) -> None:
        for e in gone:
            text = (
                f"shadow entry expired: {e.summary} (the real account moved past it: its debt"
                " is below what the shadow would have repaid, or the entry is a day old)"
            )
            log.info("%s: %s", self.account, text)
            await self._note(text, what="expired", scope=scope, intent_id=e.intent_id)
        await self._save()

    async def _say_clipped(self, scope: str, applied: Applied) -> None:
        """Say once (while it lasts) that a delta was clipped at zero."""
        before = self._clipped.get(scope, ())
        self._clipped[scope] = applied.clipped
        new = [c for c in applied.clipped if c not in before]
        if new:
            text = (
                f"shadow clipped at zero: {', '.join(new)} of {scope} (the real balance is"
                " already below what the would-be actions take)"
            )
            log.warning("%s: %s", self.account, text)
            await self._note(text, what="clipped", scope=scope, balances=new)

    # --- the would-be actions -------------------------------------------------------------
    async def record(self, plan: ActionPlan, cancelled: Sequence[str] = ()) -> str:
        """Add ``plan``'s effect; returns the text the outcome carries (what would have
        followed, or why the shadow cannot follow it)."""
        await self.refresh()
        poller = self._poller
        snap = poller.snapshots.get(plan.scope) if poller is not None else None
        if poller is None or snap is None:
            return "; the shadow has no reading of the scope: not applied"
        now = self._clock.now()
        entry = effects_of(plan, snap, poller.last_prices, at=now, cancelled=cancelled)
        if isinstance(entry, str):
            await self._note(
                f"shadow cannot follow {plan.describe()}: {entry}",
                what="not_applied",
                scope=plan.scope,
                intent_id=plan.intent_id,
            )
            return f"; the shadow cannot follow it ({entry}): it may be decided again"
        self.ledger.add(entry)
        before = snap.risk_rate
        try:
            with request_priority(Priority.URGENT):
                after_snap = await poller.repoll(plan.scope)
        except ExchangeError as exc:
            log.warning("%s/%s: shadow re-poll failed: %s", self.account, plan.scope, exc)
            after_snap = None
        if after_snap is None:
            # Never a shadowed change the rules (and the liquidation check) first see at a
            # later poll, as a debt gone with no action to explain it: not applied.
            self.ledger.entries.remove(entry)
            why = "the scope could not be read again through the shadow"
            await self._note(
                f"shadow cannot follow {plan.describe()}: {why}",
                what="not_applied",
                scope=plan.scope,
                intent_id=plan.intent_id,
            )
            return f"; the shadow cannot follow it ({why}): it may be decided again"
        await self._save()
        effect = describe(entry)
        followed = f"riskRate {before} → {after_snap.risk_rate}"
        await self._note(
            f"would have: {plan.describe()} ({effect}); {followed} in the shadow",
            what="applied",
            scope=plan.scope,
            intent_id=plan.intent_id,
            before=before,
            after=after_snap.risk_rate,
            deltas={c: d.to_json() for c, d in entry.deltas.items()},
        )
        return f"; would have followed: {followed} in the shadow ledger ({effect})"


async def discard_saved(journal: Journal, account: str, at: float) -> None:
    """A LIVE account's saved shadow (left by an earlier dry-run start) is dropped, journaled:
    a later dry-run start must not put it on balances its live actions already changed."""
    raw = await journal.get_meta(f"shadow:{account}")
    try:
        count = len(ShadowLedger.from_json(raw).entries) if raw is not None else 0
    except ValueError:
        count = -1
    if count == 0:
        return
    text = "shadow ledger cleared: the account started LIVE: it acts on its real balances only"
    await journal.record(EventKind.SHADOW, text, at=at, account=account, data={"what": "cleared"})
    await journal.set_meta(f"shadow:{account}", ShadowLedger().to_json(), essential=False)


def _balances(rows: Sequence[AssetRow], symbol: str | None) -> dict[str, CoinBalance]:
    return {
        r.coin: CoinBalance(r.coin, r.available, r.frozen, r.borrow, r.interest)
        for r in rows
        if r.symbol == symbol
    }


#: The amounts of a coin the real account does not hold.
_NO_UTA_COIN = {"equity": ZERO, "balance": ZERO, "available": ZERO, "debt": ZERO}


def _uta_coin(real: UtaCoin, row: AssetRow | None) -> UtaCoin:
    """A UTA coin as its shadowed row leaves it (equity moves with the balance and debt; its
    USD value keeps the coin's price)."""
    if row is None:
        return real
    balance = row.available + row.frozen
    equity = balance - row.borrow
    usd = real.usd_value
    if usd is not None and real.equity != 0:
        usd = (usd / real.equity * equity).quantize(EIGHT)
    update = {"equity": equity, "balance": balance, "available": row.available}
    return real.model_copy(update={**update, "debt": row.borrow, "usd_value": usd})


def _reading_of(snap: ScopeSnapshot) -> Reading | None:
    before = snap.risk_reading
    return DIRECT if before == DIRECT else INVERSE if before == INVERSE else None


__all__ = ["ShadowBook", "ShadowPoller", "ShadowReading", "discard_saved"]
