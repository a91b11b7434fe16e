"""The dry-run shadow ledger (pure): what a dry-run account's would-be actions would have done.

A dry-run account sends nothing, so its balances never show the effect of what riskd decided:
without a shadow it decides the same repay again every cycle. The shadow keeps, per scope,
one :class:`ShadowEntry` per dry-run action — its effect on each coin as **deltas**
(:class:`CoinDelta`, Decimal) — and :meth:`ShadowLedger.apply` adds them to every fresh
reading of the scope before the rules see it. Effects, sized on the scope as the action saw it
(:func:`effects_of`):

- ``repay`` *a* of coin *c*: *c* available −a; interest −min(a, interest), borrow −the rest;
- ``reduce`` (market order, ``loanType=autoRepay``): a sale of *q* base brings
  q × price × (1 − taker fee) quote, a buy with *Q* quote brings Q ÷ price × (1 − fee) base
  (the price the plan used: the scope's index prices with the freshest over them); what is
  spent leaves ``available``; what is bought repays the bought coin's interest, then its
  borrow, and the rest is ``available``;
- ``flashRepay``: each owed coin's whole debt, paid from the coin itself, then from the
  scope's USDT, then from its other coins (largest value first) at index prices, no fee;
- ``cancelOrders``: the orders gone (:meth:`ShadowLedger.cancelled` hides their ids) and the
  frozen balance of the coins they freeze back in ``available``.

The shadow never lies about the real account:

- **Deltas, never copies.** Each entry is a change on top of the *fresh* reading: a repay
  by hand, a liquidation, interest accrued all show through.
- **Clipped and said.** A delta that would take a balance below zero stops at zero;
  :attr:`Applied.clipped` names it (journaled once while it lasts).
- **Expiry.** When a coin's real debt falls below what the scope's entries would have repaid
  of it (the owner repaid by hand, a liquidation), the world has moved past the shadow: every
  entry of that scope that cuts that debt expires. An entry also expires after
  :data:`MAX_AGE_S`.

Clearing (switch to LIVE, ``riskd resume``) and persistence live in
:mod:`riskd.daemon.shadow_book`; the reads in :mod:`riskd.daemon.shadow_exchange`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from riskd.amounts import to_wire
from riskd.daemon.exchange import AssetRow
from riskd.daemon.plans import ActionPlan
from riskd.risk.snapshot import USDT, CoinBalance, ScopeSnapshot, SymbolTradeRule
from riskd.sizing.orders import fee, price_in_quote, usdt_price

ZERO = Decimal(0)
ONE = Decimal(1)
#: An entry older than this (seconds) expires: the shadow shows what *recent* decisions
#: would have done, not a parallel account that drifts for days.
MAX_AGE_S = 86_400.0
_FIELDS = ("available", "frozen", "borrow", "interest")


@dataclass(frozen=True, slots=True)
class CoinDelta:
    """A change of one coin's balance (negative: less)."""

    available: Decimal = ZERO
    frozen: Decimal = ZERO
    borrow: Decimal = ZERO
    interest: Decimal = ZERO

    def __add__(self, other: CoinDelta) -> CoinDelta:
        return CoinDelta(
            self.available + other.available,
            self.frozen + other.frozen,
            self.borrow + other.borrow,
            self.interest + other.interest,
        )

    @property
    def debt_cut(self) -> Decimal:
        """How much of the coin's debt (borrow + interest) it repays (≥ 0)."""
        return max(ZERO, -(self.borrow + self.interest))

    def to_json(self) -> dict[str, str]:
        return {f: str(getattr(self, f)) for f in _FIELDS if getattr(self, f) != 0}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CoinDelta:
        return cls(**{f: _dec(d.get(f, "0"), f) for f in _FIELDS})


@dataclass(frozen=True, slots=True)
class ShadowEntry:
    """The would-be effect of one dry-run action on one scope."""

    intent_id: str
    at: float
    scope: str
    kind: str
    #: What would have been sent (``ActionPlan.describe()``).
    summary: str
    deltas: Mapping[str, CoinDelta] = field(default_factory=lambda: MappingProxyType({}))
    #: ``cancelOrders``: the order ids it would have cancelled.
    cancelled: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "intent_id": self.intent_id,
            "at": self.at,
            "scope": self.scope,
            "kind": self.kind,
            "summary": self.summary,
            "deltas": {c: d.to_json() for c, d in sorted(self.deltas.items())},
            "cancelled": list(self.cancelled),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ShadowEntry:
        raw = d.get("deltas")
        deltas = {str(c): CoinDelta.from_json(v) for c, v in (raw or {}).items()}
        at = d.get("at")
        if not isinstance(at, int | float) or isinstance(at, bool):
            raise ValueError(f"shadow entry {d.get('intent_id')!r}: 'at' is not a time")
        return cls(
            intent_id=str(d["intent_id"]),
            at=float(at),
            scope=str(d["scope"]),
            kind=str(d["kind"]),
            summary=str(d.get("summary", "")),
            deltas=MappingProxyType(deltas),
            cancelled=tuple(str(i) for i in d.get("cancelled") or ()),
        )


@dataclass(frozen=True, slots=True)
class Applied:
    """A scope's fresh balances with the shadow on top."""

    balances: Mapping[str, CoinBalance]
    #: ``"USDT available"``-style names of balances a delta would have taken below zero.
    clipped: tuple[str, ...] = ()


def _dec(value: object, what: str) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"shadow delta {what}: {value!r} is not a decimal string")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"shadow delta {what}: {value!r} is not a decimal") from None
    if not out.is_finite():
        raise ValueError(f"shadow delta {what}: {value!r} is not finite")
    return out


class ShadowLedger:
    """One account's shadow entries (oldest first). Mutated only through its methods."""

    def __init__(self, entries: Iterable[ShadowEntry] = ()) -> None:
        self.entries: list[ShadowEntry] = list(entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def of(self, scope: str) -> list[ShadowEntry]:
        return [e for e in self.entries if e.scope == scope]

    def scopes(self) -> set[str]:
        return {e.scope for e in self.entries}

    def add(self, entry: ShadowEntry) -> None:
        self.entries.append(entry)

    def clear(self) -> list[ShadowEntry]:
        gone, self.entries = self.entries, []
        return gone

    def delta(self, scope: str) -> dict[str, CoinDelta]:
        """The scope's entries summed per coin."""
        out: dict[str, CoinDelta] = {}
        for e in self.of(scope):
            for coin, d in e.deltas.items():
                out[coin] = out.get(coin, CoinDelta()) + d
        return out

    def cancelled(self, scope: str) -> frozenset[str]:
        return frozenset(i for e in self.of(scope) for i in e.cancelled)

    def expire(self, scope: str, real: Mapping[str, CoinBalance], now: float) -> list[ShadowEntry]:
        """Drop (and return) the scope's entries the real account has moved past: older than
        :data:`MAX_AGE_S`, or cutting a coin's debt that is now below the scope's total cut."""
        mine = self.of(scope)
        gone = [e for e in mine if now - e.at > MAX_AGE_S]
        live = [e for e in mine if e not in gone]
        for coin in {c for e in live for c in e.deltas}:
            cut = sum((e.deltas[coin].debt_cut for e in live if coin in e.deltas), ZERO)
            owed = real[coin].liability if coin in real else ZERO
            if cut > 0 and owed < cut:
                gone += [e for e in live if coin in e.deltas and e.deltas[coin].debt_cut > 0]
        if gone:
            self.entries = [e for e in self.entries if e not in gone]
        return gone

    def apply(self, scope: str, real: Mapping[str, CoinBalance]) -> Applied:
        """``real`` with the scope's deltas added, each field clipped at zero."""
        deltas = self.delta(scope)
        if not deltas:
            return Applied(real)
        out = dict(real)
        clipped: list[str] = []
        for coin, d in deltas.items():
            b = out.get(coin) or CoinBalance(coin, ZERO, ZERO, ZERO, ZERO)
            values = {}
            for f in _FIELDS:
                v = getattr(b, f) + getattr(d, f)
                if v < 0:
                    clipped.append(f"{coin} {f}")
                    v = ZERO
                values[f] = v
            out[coin] = CoinBalance(coin, **values)
        return Applied(MappingProxyType(out), tuple(clipped))

    def to_json(self) -> dict[str, object]:
        return {"entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, d: object) -> ShadowLedger:
        """Read back what :meth:`to_json` wrote; ValueError naming the bad part."""
        if not isinstance(d, Mapping) or not isinstance(d.get("entries"), list):
            raise ValueError("shadow ledger: expected an object with a list 'entries'")
        try:
            return cls(ShadowEntry.from_json(e) for e in d["entries"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"shadow ledger: an entry lacks {exc}") from None


def rows_with(rows: Sequence[AssetRow], applied: Applied, symbol: str | None) -> list[AssetRow]:
    """``rows`` with the balances of ``applied`` (rows of other symbols untouched; a coin the
    shadow gives a balance and the rows lack gets a row)."""
    out: list[AssetRow] = []
    seen: set[str] = set()
    for r in rows:
        if r.symbol != symbol:
            out.append(r)
            continue
        seen.add(r.coin)
        b = applied.balances.get(r.coin)
        if b is None:
            out.append(r)
            continue
        out.append(AssetRow(r.coin, b.available, b.frozen, b.borrow, b.interest, r.symbol))
    for coin, b in applied.balances.items():
        if coin not in seen and (b.total_amount != 0 or b.liability != 0):
            out.append(AssetRow(coin, b.available, b.frozen, b.borrow, b.interest, symbol))
    return out


# --- what an action would have done ---------------------------------------------------------
def _repaid(b: CoinBalance, amount: Decimal) -> CoinDelta:
    """``amount`` of the coin arriving for its debt: interest first, then borrow, the rest
    stays available (what autoRepay and a repay do)."""
    interest = min(amount, b.interest)
    borrow = min(amount - interest, b.borrow)
    return CoinDelta(available=amount - interest - borrow, borrow=-borrow, interest=-interest)


def _split(plan: ActionPlan, snap: ScopeSnapshot) -> tuple[str, str] | None:
    symbol = plan.symbol or ""
    if snap.symbol == symbol and snap.base_coin and snap.quote_coin:
        return snap.base_coin, snap.quote_coin
    if symbol.endswith(USDT) and len(symbol) > len(USDT):
        return symbol[: -len(USDT)], USDT
    return None


def _merge(*parts: tuple[str, CoinDelta]) -> dict[str, CoinDelta]:
    out: dict[str, CoinDelta] = {}
    for coin, d in parts:
        out[coin] = out.get(coin, CoinDelta()) + d
    return out


def effects_of(
    plan: ActionPlan,
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    *,
    at: float,
    cancelled: Sequence[str] = (),
) -> ShadowEntry | str:
    """The entry ``plan`` would have added on ``snap`` (as the rules saw it), or why the shadow
    cannot follow it (a missing price)."""
    prices = {**snap.prices_usdt, **{c: p for c, p in prices.items() if p > 0}}
    deltas: dict[str, CoinDelta]
    if plan.kind == "repay":
        if plan.coin is None or plan.amount is None:
            return "the repay names no coin or amount"
        d = _repaid(snap.balance(plan.coin), plan.amount)
        deltas = {plan.coin: replace(d, available=d.available - plan.amount)}
    elif plan.kind == "reduce":
        found = _reduce(plan, snap, prices)
        if isinstance(found, str):
            return found
        deltas = found
    elif plan.kind == "flashRepay":
        found = _flash(plan, snap, prices)
        if isinstance(found, str):
            return found
        deltas = found
    elif plan.kind == "cancelOrders":
        deltas = _unfrozen(plan, snap)
    else:
        return f"the shadow does not model {plan.kind!r}"
    return ShadowEntry(
        intent_id=plan.intent_id,
        at=at,
        scope=plan.scope,
        kind=str(plan.kind),
        summary=plan.describe(),
        deltas=MappingProxyType({c: d for c, d in deltas.items() if d != CoinDelta()}),
        cancelled=tuple(cancelled),
    )


def _reduce(
    plan: ActionPlan, snap: ScopeSnapshot, prices: Mapping[str, Decimal]
) -> dict[str, CoinDelta] | str:
    coins = _split(plan, snap)
    if coins is None or plan.amount is None or plan.side is None:
        return f"cannot tell the coins of {plan.symbol!r}"
    base, quote = coins
    price = price_in_quote(base, quote, prices)
    if price is None:
        return f"no {base} price in {quote}: the order's fill cannot be estimated"
    rate = ONE - fee(snap.trade_rules.get(plan.symbol or "", SymbolTradeRule()))
    if plan.side == "sell":
        bought = plan.amount * price * rate
        return _merge(
            (base, CoinDelta(available=-plan.amount)), (quote, _repaid(snap.balance(quote), bought))
        )
    bought = plan.amount / price * rate
    return _merge(
        (quote, CoinDelta(available=-plan.amount)), (base, _repaid(snap.balance(base), bought))
    )


def _flash(
    plan: ActionPlan, snap: ScopeSnapshot, prices: Mapping[str, Decimal]
) -> dict[str, CoinDelta] | str:
    owed = {
        c: b
        for c, b in snap.balances.items()
        if b.liability > 0 and (plan.coin is None or c == plan.coin)
    }
    if not owed:
        return "no debt to flash repay"
    left = {c: b.available for c, b in snap.balances.items()}
    parts: list[tuple[str, CoinDelta]] = []
    for coin, b in sorted(owed.items()):
        own = min(left.get(coin, ZERO), b.liability)
        left[coin] = left.get(coin, ZERO) - own
        need = b.liability - own
        parts.append((coin, CoinDelta(available=-own, borrow=-b.borrow, interest=-b.interest)))
        if need <= 0:
            continue
        debt_price = usdt_price(coin, prices)
        if debt_price is None:
            return f"no {coin} price: the flash repay's sales cannot be estimated"
        value = need * debt_price
        payers = sorted(
            (c for c in left if c != coin and left[c] > 0),
            key=lambda c: (c != USDT, -(left[c] * (usdt_price(c, prices) or ZERO))),
        )
        for payer in payers:
            p = usdt_price(payer, prices)
            if p is None:
                return f"no {payer} price: the flash repay's sales cannot be estimated"
            take = min(left[payer], value / p)
            left[payer] -= take
            value -= take * p
            parts.append((payer, CoinDelta(available=-take)))
            if value <= 0:
                break
    return _merge(*parts)


def _unfrozen(plan: ActionPlan, snap: ScopeSnapshot) -> dict[str, CoinDelta]:
    """The frozen balance the cancelled orders hold back in ``available``: every frozen coin
    of an isolated scope; in cross the symbols' base coins and, for ``…USDT`` symbols, USDT."""
    if snap.symbol is not None:
        coins = set(snap.balances)
    else:
        coins = {s[: -len(USDT)] for s in plan.symbols if s.endswith(USDT)}
        if any(s.endswith(USDT) for s in plan.symbols):
            coins.add(USDT)
    return {
        c: CoinDelta(available=snap.balance(c).frozen, frozen=-snap.balance(c).frozen)
        for c in coins
        if snap.balance(c).frozen > 0
    }


def describe(entry: ShadowEntry) -> str:
    """``USDT available -100, borrow -100`` — the entry's deltas in one line."""
    parts = []
    for coin, d in sorted(entry.deltas.items()):
        fields = ", ".join(
            f"{f} {'+' if getattr(d, f) > 0 else ''}{to_wire(getattr(d, f))}"
            for f in _FIELDS
            if getattr(d, f) != 0
        )
        parts.append(f"{coin} {fields}")
    if entry.cancelled:
        parts.append(f"{len(entry.cancelled)} order(s) gone")
    return "; ".join(parts) or "no balance change"


__all__ = [
    "MAX_AGE_S",
    "Applied",
    "CoinDelta",
    "ShadowEntry",
    "ShadowLedger",
    "describe",
    "effects_of",
    "rows_with",
]
