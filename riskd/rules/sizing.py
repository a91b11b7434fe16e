"""Turn an action step into exchange parameters for one scope (pure, Decimal).

Repay to a target risk rate (``target_risk_rate = 0.5``) is sized, in order of preference:

1. ``proportional`` — the repaid coin is the scope's only debt: repaying ``x`` of a debt
   ``L`` scales the exchange's own risk rate by ``(L − x) / L`` (equity does not change
   when debt is repaid from the same coin's balance), so ``x = L × (1 − target / riskRate)``.
   Exact under the risk model and needs no prices.
2. ``valuation`` — several debt coins, prices and tier rates known: the USDT value from
   :func:`riskd.risk.math.repay_value_for_target`, divided by the coin's price.
3. ``all`` — several debt coins and no prices: repay all of the coin's debt. Repaying more
   than needed never raises risk; it only spends balance.

Every amount is then capped at the coin's ``available`` balance and its debt, and rounded
down to 8 decimals. Zero means there is nothing to do: the step is skipped with a reason.

``reduce`` to a target passes ``target_risk_rate`` on (skipped when the rate is already at or
below it): the daemon sizes the order when it sends it, on the freshest snapshot, with the
symbol's price and quantity decimals (:mod:`riskd.daemon.plans`).
"""

from __future__ import annotations

from decimal import Decimal

from riskd.amounts import quantize_down
from riskd.risk import derived
from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules.actions_parse import ANY_SYMBOL
from riskd.rules.model import Action, ActionKind
from riskd.rules.variables import EvalError, ScopeContext, resolve_coin
from riskd.sizing import Skip
from riskd.sizing.orders import DUST_SHARE
from riskd.sizing.targets import distance_reached, units_for_targets

ZERO = Decimal(0)
ONE = Decimal(1)


Params = dict[str, Decimal | str]


def _number(value: object, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise EvalError(f"{what} is {value!r}, not a finite number")
    return value


def _positive(amount: Decimal, why_zero: str) -> Decimal:
    q = quantize_down(amount) if amount > 0 else ZERO
    if q <= 0:
        raise Skip(why_zero)
    return q


def action_params(action: Action, ctx: ScopeContext) -> Params:
    """Parameters for ``action`` in ``ctx``'s scope; raises Skip or EvalError/ArithmeticError."""
    snap = ctx.snap
    kind = action.kind
    if kind == ActionKind.REPAY:
        return _repay(action, ctx)
    if kind == ActionKind.FLASH_REPAY:
        if snap.kind == "isolated":
            return {"symbol": snap.symbol or ""}
        return {"coin": action.coin} if action.coin else {}
    if kind == ActionKind.CANCEL_ORDERS:
        has_frozen = any(b.frozen > 0 for b in snap.balances.values())
        if snap.open_orders == 0 and not has_frozen:
            raise Skip("no open orders and no frozen balance")
        symbol = snap.symbol if snap.kind == "isolated" else action.symbol
        return {"symbol": symbol} if symbol else {}
    if kind == ActionKind.REDUCE:
        if action.symbol == ANY_SYMBOL:
            return _reduce_any(action, ctx)
        assert action.coin is not None
        coin = resolve_coin(snap, action.coin)
        symbol = action.symbol or snap.symbol or ""
        if action.target_risk_rate is not None or action.target_distance is not None:
            return _reduce_to_target(action, ctx, coin, symbol)
        assert action.amount is not None
        if _debt_side(snap, coin, symbol) == "buy":
            # Selling base the scope owes (a short) would deepen the short, not repay it.
            raise Skip(
                f"reduce with amount sells {coin}, but this scope owes {coin} (a short): "
                "use target_risk_rate, which buys it back"
            )
        amount = _number(action.amount.evaluate(ctx, coin), "amount")
        return {
            "symbol": symbol,
            "coin": coin,
            "amount": _positive(amount, f"amount of {coin} to sell is 0"),
            "side": "sell",
            "orderType": "market",
            "loanType": "autoRepay",
        }
    raise EvalError(f"{kind} has no exchange parameters")


def _targets(
    action: Action, ctx: ScopeContext, coin: str | None
) -> tuple[Decimal | None, Decimal | None]:
    """The step's target rate and target distance (either may be absent); raises Skip when
    the scope already meets every target it has."""
    rate = distance = None
    if action.target_risk_rate is not None:
        rate = _number(action.target_risk_rate.evaluate(ctx, coin), "target_risk_rate")
        if rate < 0:
            raise EvalError(f"target_risk_rate {rate} is negative")
    if action.target_distance is not None:
        distance = _number(action.target_distance.evaluate(ctx, coin), "target_distance")
        if distance < 0:
            raise EvalError(f"target_distance {distance} is negative")
    snap = ctx.snap
    rate_met = rate is None or snap.risk_rate <= rate
    distance_met = distance is None or distance_reached(snap, distance)
    if rate_met and distance_met:
        said = []
        if rate is not None:
            said.append(f"riskRate {snap.risk_rate} is already at or below the target {rate}")
        if distance is not None:
            said.append(f"the distance to liquidation is at least the target {distance}")
        raise Skip(" and ".join(said) + ": nothing to do", met=True)
    return (None if rate_met else rate), (None if distance_met else distance)


def _target_params(rate: Decimal | None, distance: Decimal | None) -> Params:
    params: Params = {}
    if rate is not None:
        params["target_risk_rate"] = rate
    if distance is not None:
        params["target_distance"] = distance
    return params


def _reduce_to_target(action: Action, ctx: ScopeContext, coin: str, symbol: str) -> Params:
    """reduce to a target: the daemon sizes the order (side, amount, the symbol's decimals)
    on the freshest data when it sends it (:mod:`riskd.daemon.plans`)."""
    rate, distance = _targets(action, ctx, coin)
    held = ctx.snap.balance(coin)
    if held.total_amount == 0 and held.liability == 0:
        raise Skip(f"no {coin} held or owed: nothing to reduce on {symbol}")
    params: Params = {
        "symbol": symbol,
        "coin": coin,
        **_target_params(rate, distance),
        "orderType": "market",
        "loanType": "autoRepay",
        "sizing": "target",
    }
    side = _debt_side(ctx.snap, coin, symbol)
    if side is not None:
        params["side"] = side
    return params


def _reduce_any(action: Action, ctx: ScopeContext) -> Params:
    """reduce with ``symbol = "*"`` (cross): the daemon picks the coins and the legs."""
    rate, distance = _targets(action, ctx, None)
    if not derived.debt_coins(ctx.snap):
        raise Skip("no debt: nothing to reduce")
    return {
        "symbol": ANY_SYMBOL,
        **_target_params(rate, distance),
        "orderType": "market",
        "loanType": "autoRepay",
        "sizing": "target",
    }


def _debt_side(snap: ScopeSnapshot, base: str, symbol: str) -> str | None:
    """The trade that repays the scope's debt on ``symbol``: ``sell`` base when only the
    quote coin is owed (a long), ``buy`` it back when only ``base`` is (a short); ``None``
    when both or neither are owed (the daemon decides on prices when it sends the order)."""
    quote = snap.quote_coin or (symbol[len(base) :] if symbol.startswith(base) else "USDT")
    base_owed = snap.balance(base).liability > 0
    quote_owed = snap.balance(quote).liability > 0
    if quote_owed and not base_owed:
        return "sell"
    if base_owed and not quote_owed:
        return "buy"
    return None


def _repay(action: Action, ctx: ScopeContext) -> Params:
    snap = ctx.snap
    assert action.coin is not None
    coin = resolve_coin(snap, action.coin)
    bal = snap.balance(coin)
    if action.amount is not None:
        amount = _number(action.amount.evaluate(ctx, coin), "amount")
        return {
            "coin": coin,
            "amount": _positive(amount, f"amount of {coin} is 0"),
            "sizing": "amount",
        }
    debt = bal.liability
    if debt <= 0:
        raise Skip(f"no {coin} debt to repay")
    rate, distance = _targets(action, ctx, coin)
    amount, sizing = units_for_targets(snap, coin, coin, rate=rate, distance=distance)
    wanted = min(amount, debt)
    amount = min(wanted, bal.available)
    if 0 < amount < wanted * DUST_SHARE:
        # A crumb of free balance would cost a call (and, in a crash, a cycle) for nothing:
        # leave it to the next step.
        raise Skip(
            f"only {amount} {coin} free of the {wanted} the target needs: too little to matter"
        )
    return {
        "coin": coin,
        "amount": _positive(amount, f"no available {coin} to repay with"),
        "sizing": sizing,
        # The daemon sizes it again on the freshest data just before it leaves.
        **_target_params(rate, distance),
    }
