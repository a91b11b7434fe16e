"""Per-action and per-day caps on what protective actions move (pure; checked before a call).

An action moves one or more *legs* (coin → amount): a repay moves the repaid coin, a reduce
sells a base amount, a flash repay moves (at most) the scope's whole debt. Its USDT value is
Σ amount × index price (USDT is 1).

- Coin caps (``caps.coins.BTC.max_action`` / ``max_day``) are checked in coin units.
- USDT caps (``max_action_usdt`` / ``max_day_usdt``) need a price for every non-USDT leg;
  without one the action is blocked unless every leg has a coin cap of its own.
- An *adjustable* action (repay, reduce: one leg whose amount riskd chooses) is reduced to
  fit the caps rather than blocked; it is blocked only when nothing is left to spend.
- ``max_day`` counts the rolling 24 hours before the action, from the journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from riskd.amounts import quantize_down
from riskd.settings import CapsSettings

DAY_S = 86_400.0
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class CapDecision:
    """``amount`` to use (adjustable actions), or ``blocked`` with the reason."""

    legs: Mapping[str, Decimal]
    value_usdt: Decimal | None
    blocked: str | None = None
    #: Set when an adjustable action was reduced to fit; says which cap.
    capped: str | None = None


def price_of(coin: str, prices: Mapping[str, Decimal]) -> Decimal | None:
    if coin == "USDT":
        return ONE
    p = prices.get(coin)
    return p if p is not None and p > 0 else None


def value_usdt(legs: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> Decimal | None:
    total = ZERO
    for coin, amount in legs.items():
        p = price_of(coin, prices)
        if p is None:
            return None
        total += amount * p
    return total


def apply_caps(
    caps: CapsSettings,
    legs: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    *,
    spent_usdt: Decimal,
    spent_coins: Mapping[str, Decimal],
    adjustable: bool,
    run_spent_usdt: Decimal = ZERO,
) -> CapDecision:
    """Check ``legs`` against ``caps`` given what was spent in the last 24 hours.

    ``run_spent_usdt``: what earlier legs of the same action (one rule step split into
    several orders) already moved: ``max_action_usdt`` bounds the whole action."""
    legs = dict(legs)
    capped: list[str] = []
    # Coin caps.
    for coin, amount in list(legs.items()):
        cc = caps.coins.get(coin)
        if cc is None:
            continue
        limits: list[tuple[str, Decimal]] = []
        if cc.max_action is not None:
            limits.append((f"caps.coins.{coin}.max_action = {cc.max_action}", cc.max_action))
        if cc.max_day is not None:
            room = max(ZERO, cc.max_day - spent_coins.get(coin, ZERO))
            limits.append((f"caps.coins.{coin}.max_day = {cc.max_day} ({room} left)", room))
        for name, limit in limits:
            if amount <= limit:
                continue
            if adjustable and len(legs) == 1 and limit > 0:
                amount = quantize_down(limit)
                legs[coin] = amount
                capped.append(name)
            else:
                return CapDecision(legs, value_usdt(legs, prices), blocked=f"over {name}")
    # USDT caps.
    usdt_limits: list[tuple[str, Decimal]] = []
    if caps.max_action_usdt is not None:
        room = max(ZERO, caps.max_action_usdt - run_spent_usdt)
        name = f"caps.max_action_usdt = {caps.max_action_usdt}"
        if run_spent_usdt > 0:
            name += f" ({room} left for this action)"
        usdt_limits.append((name, room))
    if caps.max_day_usdt is not None:
        room = max(ZERO, caps.max_day_usdt - spent_usdt)
        usdt_limits.append((f"caps.max_day_usdt = {caps.max_day_usdt} ({room} left)", room))
    value = value_usdt(legs, prices)
    if usdt_limits and value is None:
        unpriced = [c for c in legs if price_of(c, prices) is None]
        if all(c in caps.coins for c in unpriced):
            return CapDecision(legs, None, capped="; ".join(capped) or None)
        return CapDecision(
            legs,
            None,
            blocked=f"no USDT price for {', '.join(sorted(unpriced))} to check the USDT caps"
            " (add a coin cap under caps.coins or configure a price source)",
        )
    for name, limit in usdt_limits:
        assert value is not None
        if value <= limit:
            continue
        if adjustable and len(legs) == 1 and limit > 0:
            (coin,) = legs
            p = price_of(coin, prices)
            assert p is not None
            legs[coin] = quantize_down(limit / p)
            value = legs[coin] * p
            capped.append(name)
        else:
            return CapDecision(legs, value, blocked=f"over {name}")
    if any(a <= 0 for a in legs.values()) and legs:
        return CapDecision(legs, value, blocked="nothing left under " + "; ".join(capped))
    return CapDecision(legs, value, capped="; ".join(capped) or None)
