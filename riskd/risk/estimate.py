"""A scope's risk rate estimated between polls, from new index prices (pure, Decimal).

The push path (:mod:`riskd.daemon.push`) calls this on every index-price push: the estimate
only decides *when to look* (poll the scope at once); what riskd acts on is always the
exchange's answer to that poll.

The estimate starts from the last polled snapshot: its balances, its maintenance margin
rates and the prices it was valued at. With :func:`riskd.risk.math.value` riskd's own formula
gives the rate at the snapshot's prices (``model_then``) and at the new prices
(``model_now``); the estimate is the polled rate scaled by their ratio,

    estimate = risk_rate_polled × model_now / model_then

so that what the formula does not model (interest accrued since, a different reading of the
exchange's figure) scales along instead of showing up as a jump. Where ``model_then`` is 0 or
unknown (no prices at the poll) the formula's own ``model_now`` is the estimate. A coin
without a new price keeps the snapshot's price; a coin with no price at all, or a debt coin
without a maintenance margin rate, makes the scope unestimable (``None``).

:func:`trigger` says whether an estimate warrants a poll now: it crosses a line upwards
(a rule's threshold) since the last poll, or rose by ``rise`` or more since the last poll.

:func:`after_repay` is the same scaling for a change riskd knows exactly without reading the
scope: a repayment the exchange confirmed (its answer says how much is still owed). The
snapshot's balances take the repayment (interest first, then the principal, from the free
balance of the coin) and are valued at the feed's latest prices, as a poll's answer is; its
rate is the polled figure scaled by the model's figure for the new balances at those prices
over its figure as polled. ``observed_at`` stays that of the read (the rest of the data is
as old as it was) and ``adjusted_at`` says when the answer came.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from riskd.risk.math import INFINITE, ZERO, value
from riskd.risk.snapshot import USDT, CoinBalance, ScopeSnapshot

EIGHT = Decimal("1e-8")


def estimate_risk_rate(snap: ScopeSnapshot, prices: Mapping[str, Decimal]) -> Decimal | None:
    """The risk rate ``snap``'s balances would have at ``prices`` (see the module docstring);
    0 without debt, ``Infinity`` when the equity is gone, ``None`` when it cannot be told."""
    scaled = _scaled(snap, snap.balances.values(), prices)
    return None if scaled is None else scaled[0]


def _scaled(
    snap: ScopeSnapshot, balances_now: Iterable[CoinBalance], prices: Mapping[str, Decimal]
) -> tuple[Decimal, Decimal] | None:
    """The rate of ``balances_now`` at ``prices``: ``snap``'s polled figure scaled by the
    model's figure now over its figure for ``snap`` as polled (the model's own when that
    cannot be scaled), and the model's figure now; ``None`` when a coin has no price or a
    debt coin no tier."""
    then_bal = [b for b in snap.balances.values() if b.total_amount != 0 or b.liability != 0]
    balances = [b for b in balances_now if b.total_amount != 0 or b.liability != 0]
    if not any(b.liability > 0 for b in balances):
        return ZERO, ZERO
    then: dict[str, Decimal] = {}
    now: dict[str, Decimal] = {}
    for b in [*then_bal, *balances]:
        if b.coin == USDT or b.coin in now:
            continue
        old, new = snap.prices_usdt.get(b.coin), prices.get(b.coin)
        if old is not None and old > 0:
            then[b.coin] = old
        if new is not None and new > 0:
            now[b.coin] = new
        elif old is not None and old > 0:
            now[b.coin] = old
        else:
            return None
    mmr = snap.maintain_margin_rate
    if any(b.liability > 0 and b.coin not in mmr for b in [*then_bal, *balances]):
        return None
    mmr_all = {b.coin: mmr.get(b.coin, ZERO) for b in [*then_bal, *balances]}
    model_now = value(balances, now, mmr_all).risk_rate
    if len(then) < len(now) or snap.risk_rate <= 0:
        return model_now, model_now
    model_then = value(then_bal, then, mmr_all).risk_rate
    if model_then <= 0 or model_then == INFINITE or model_now == INFINITE:
        return model_now, model_now
    return snap.risk_rate * (model_now / model_then), model_now


def after_repay(
    snap: ScopeSnapshot,
    coin: str,
    amount: Decimal,
    remain: Decimal | None,
    prices: Mapping[str, Decimal],
    *,
    at: float,
) -> ScopeSnapshot | None:
    """``snap`` after ``amount`` of ``coin`` was repaid from its free balance, ``remain``
    still owed by the exchange's answer (``None``: not said), valued at ``prices`` (the
    feed's latest; a coin without one keeps the snapshot's); see the module docstring.
    ``None`` when it cannot be told (a coin without a price or tier, an answer that does not
    fit the snapshot: more repaid than was free or owed)."""
    b = snap.balance(coin)
    if amount <= 0 or amount > b.available or amount > b.liability:
        return None
    owed = b.liability - amount if remain is None else remain
    if owed < 0 or owed > b.liability:
        return None
    interest = max(ZERO, b.interest - amount)
    interest = min(interest, owed)
    repaid = CoinBalance(coin, b.available - amount, b.frozen, owed - interest, interest)
    balances = {**snap.balances, coin: repaid}
    scaled = _scaled(snap, balances.values(), prices)
    if scaled is None:
        return None
    rate, own = scaled
    if rate.is_finite():
        rate = rate.quantize(EIGHT)  # as the exchange sends its figures
    priced = dict(snap.prices_usdt)
    priced.update({c: prices[c] for c in balances if c != USDT and prices.get(c, ZERO) > 0})
    return replace(
        snap,
        balances=MappingProxyType(balances),
        prices_usdt=MappingProxyType(priced),
        risk_rate=rate,
        local_risk_rate=own,
        adjusted_at=at,
    )


def trigger(
    polled: Decimal, estimate: Decimal, lines: Iterable[Decimal], rise: Decimal
) -> str | None:
    """Why a scope polled at ``polled`` and now estimated at ``estimate`` should be polled
    at once, or ``None``: the estimate reached a line the polled rate was below (the highest
    such line is named), or rose ``rise`` or more above it (``rise`` 0: off). A falling
    estimate never triggers."""
    if estimate <= polled:
        return None
    crossed = [line for line in lines if polled < line <= estimate]
    if crossed:
        return f"crosses {max(crossed)}"
    if rise > 0 and estimate - polled >= rise:
        return f"rose {estimate - polled:.4f} (>= {rise})"
    return None
