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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from riskd.risk.math import INFINITE, ZERO, value
from riskd.risk.snapshot import USDT, ScopeSnapshot


def estimate_risk_rate(snap: ScopeSnapshot, prices: Mapping[str, Decimal]) -> Decimal | None:
    """The risk rate ``snap``'s balances would have at ``prices`` (see the module docstring);
    0 without debt, ``Infinity`` when the equity is gone, ``None`` when it cannot be told."""
    balances = [b for b in snap.balances.values() if b.total_amount != 0 or b.liability != 0]
    if not any(b.liability > 0 for b in balances):
        return ZERO
    then: dict[str, Decimal] = {}
    now: dict[str, Decimal] = {}
    for b in balances:
        if b.coin == USDT:
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
    if any(b.liability > 0 and b.coin not in mmr for b in balances):
        return None
    mmr_all = {b.coin: mmr.get(b.coin, ZERO) for b in balances}
    model_now = value(balances, now, mmr_all).risk_rate
    if len(then) < len(now) or snap.risk_rate <= 0:
        return model_now
    model_then = value(balances, then, mmr_all).risk_rate
    if model_then <= 0 or model_then == INFINITE or model_now == INFINITE:
        return model_now
    return snap.risk_rate * (model_now / model_then)


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
