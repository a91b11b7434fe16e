"""Which trade comes next when a cross ``reduce`` names no coin (``symbol = "*"``).

One leg at a time, each chosen on the freshest data (the daemon runs the next leg after the
re-poll shows the previous one took effect, until the target is met):

1. the debt to attack: the one weighing most in the risk rate (value × maintenance margin
   rate), so each USDT moved lowers the rate the most;
2. how to pay it:
   - a coin the scope owes and also holds free: ``repay`` it from that balance;
   - USDT owed: sell the largest-value coin the scope holds (``…USDT``, sell, autoRepay);
   - another coin owed (a short, a second borrowed coin): buy it with free USDT (``…USDT``,
     buy, autoRepay repays it); with no free USDT, first sell the largest other coin held
     for USDT (a funding leg, sized for what the buy-back will need).

Returns the next step as an action kind and its parameters (sized afterwards by
:func:`riskd.daemon.plans.plan_action`), or :class:`~riskd.sizing.kinds.Skip`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from riskd.risk import derived
from riskd.risk.snapshot import USDT, ScopeSnapshot
from riskd.sizing.kinds import ActionKind, Skip
from riskd.sizing.targets import units_for_targets

ZERO = Decimal(0)
ONE = Decimal(1)
#: A funding sale raises this much more USDT than the buy-back needs (fees, price moves).
FUNDING_SLACK = Decimal("1.01")

Leg = tuple[ActionKind, dict[str, object]]


def _value(snap: ScopeSnapshot, coin: str, amount: Decimal) -> Decimal:
    try:
        return amount * derived.price(snap, coin)
    except derived.MissingData:
        return ZERO


def _weight(snap: ScopeSnapshot, coin: str) -> Decimal:
    b = snap.balance(coin)
    mmr = snap.maintain_margin_rate.get(coin, ONE)
    return _value(snap, coin, b.liability) * mmr


def _largest_asset(snap: ScopeSnapshot, exclude: set[str]) -> str | None:
    """The non-USDT coin with the largest free value that the scope does not owe."""
    best: tuple[Decimal, str] | None = None
    for coin, b in snap.balances.items():
        if coin == USDT or coin in exclude or b.available <= 0 or b.liability > 0:
            continue
        v = _value(snap, coin, b.available)
        if v > 0 and (best is None or v > best[0]):
            best = (v, coin)
    return None if best is None else best[1]


def _unpriced(snap: ScopeSnapshot, exclude: set[str]) -> str:
    """`` (no USDT price for SOL, …)`` when free coins could not be valued, else ``""``."""
    missing = sorted(
        c
        for c, b in snap.balances.items()
        if c not in exclude and b.available > 0 and c not in snap.prices_usdt
    )
    return f" (no USDT price for {', '.join(missing)})" if missing else ""


def next_leg(snap: ScopeSnapshot, rate: Decimal | None, distance: Decimal | None) -> Leg | Skip:
    """The next step towards the targets in a cross scope (``snap`` carries fresh prices)."""
    debts = [c for c, b in snap.balances.items() if b.liability > 0]
    if not debts:
        return Skip("no debt: nothing to reduce")
    debt = max(debts, key=lambda c: (_weight(snap, c), c))
    targets: dict[str, object] = {}
    if rate is not None:
        targets["target_risk_rate"] = rate
    if distance is not None:
        targets["target_distance"] = distance
    owed = snap.balance(debt)
    if debt != USDT and owed.available > 0:
        return ActionKind.REPAY, {"coin": debt, **targets}
    if debt == USDT:
        if owed.available > 0:
            return ActionKind.REPAY, {"coin": USDT, **targets}
        asset = _largest_asset(snap, set())
        if asset is None:
            return Skip(
                "USDT is owed but the scope holds no other coin free to sell for it"
                + _unpriced(snap, {USDT})
            )
        return ActionKind.REDUCE, {"symbol": f"{asset}{USDT}", "side": "sell", **targets}
    usdt = snap.balance(USDT)
    if usdt.available > 0:
        return ActionKind.REDUCE, {"symbol": f"{debt}{USDT}", "side": "buy", **targets}
    asset = _largest_asset(snap, {debt})
    if asset is None:
        return Skip(
            f"{debt} is owed but there is no free USDT or other coin to buy it with"
            + _unpriced(snap, {USDT, debt})
        )
    units, _ = units_for_targets(snap, debt, asset, rate=rate, distance=distance)
    need = _value(snap, debt, units) * FUNDING_SLACK - usdt.available
    price = derived.price(snap, asset)
    if need <= 0:
        return Skip(f"buying back {debt} needs no more USDT than is free")
    return ActionKind.REDUCE, {
        "symbol": f"{asset}{USDT}",
        "side": "sell",
        "amount": need / price,
        "purpose": f"fund the buy-back of {debt}",
    }


def legs_params(params: Mapping[str, object]) -> tuple[Decimal | None, Decimal | None]:
    """The targets a ``symbol = "*"`` request carries."""

    def dec(name: str) -> Decimal | None:
        raw = params.get(name)
        if raw is None:
            return None
        if isinstance(raw, bool | float):
            raise ValueError(f"parameter {name}: {raw!r} is not a decimal")
        return raw if isinstance(raw, Decimal) else Decimal(str(raw))

    return dec("target_risk_rate"), dec("target_distance")
