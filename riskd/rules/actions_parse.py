"""Parse a rule's ``then``: a list of action names or small tables.

::

    then = [
      "cancelOrders",
      { action = "repay", coin = "USDT", amount = "min(available, borrow + interest)" },
      "flashRepay",
    ]
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from riskd.risk.snapshot import UTA
from riskd.rules.expressions import Env, Expression, ExpressionError, Kind, check_coin
from riskd.rules.expressions import compile_expression as _compile
from riskd.rules.model import Action, ActionKind, ScopeSelector, decimal_literal
from riskd.rules.suggest import suggest
from riskd.rules.templates import compile_template
from riskd.rules.variables import BASE, QUOTE

ACTION_KEYS: Mapping[ActionKind, tuple[str, ...]] = {
    ActionKind.NOTIFY: ("message",),
    ActionKind.REPAY: ("coin", "amount", "target_risk_rate", "target_distance"),
    ActionKind.FLASH_REPAY: ("coin",),
    ActionKind.CANCEL_ORDERS: ("symbol",),
    ActionKind.REDUCE: ("amount", "target_risk_rate", "target_distance", "symbol", "coin"),
}
EXAMPLES: Mapping[ActionKind, str] = {
    ActionKind.NOTIFY: '"notify"',
    ActionKind.REPAY: '{ action = "repay", coin = "USDT", amount = "min(available, borrow)" }',
    ActionKind.FLASH_REPAY: '"flashRepay"',
    ActionKind.CANCEL_ORDERS: '"cancelOrders"',
    ActionKind.REDUCE: '{ action = "reduce", amount = "available * 0.5" }',
}
#: ``reduce`` in the cross scope with ``symbol = "*"``: any coin the scope holds or owes.
ANY_SYMBOL = "*"
#: Quote coins recognised when a cross ``reduce`` names only a symbol.
QUOTES = ("USDT", "USDC")
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
_KINDS = [k.value for k in ActionKind]


def _kind(name: object, errors: list[str], where: str) -> ActionKind | None:
    if isinstance(name, str) and name in _KINDS:
        return ActionKind(name)
    hint = suggest(name, _KINDS) if isinstance(name, str) else ""
    errors.append(f"{where}: unknown action {name!r}{hint}; actions: {', '.join(_KINDS)}")
    return None


def _number(raw: object, env: Env, where: str, errors: list[str]) -> Expression | None:
    literal = decimal_literal(raw)
    text = format(literal, "f") if literal is not None else raw
    if not isinstance(text, str):
        errors.append(f"{where}: expected a number or an expression in quotes")
        return None
    try:
        return _compile(text, Kind.NUMBER, env)
    except ExpressionError as exc:
        errors.append(f"{where}: {exc}")
        return None


def _coin(raw: object, scope: ScopeSelector, where: str, errors: list[str]) -> str | None:
    if raw in ("base", "quote"):
        if not scope.isolated_only:
            errors.append(f'{where}: coin = "{raw}" needs a rule whose scopes are all isolated')
            return None
        return BASE if raw == "base" else QUOTE
    if not isinstance(raw, str):
        errors.append(f'{where}: coin must be text such as "USDT"')
        return None
    try:
        return check_coin(raw)
    except ExpressionError as exc:
        errors.append(f"{where}: {exc}")
        return None


def _parse_one(i: int, raw: object, scope: ScopeSelector, errors: list[str]) -> Action | None:
    where = f"then[{i}]"
    table: dict[str, object]
    if isinstance(raw, str):
        table = {"action": raw}
    elif isinstance(raw, dict):
        table = dict(raw)
        if "action" not in table:
            errors.append(f"{where}: missing 'action', e.g. {EXAMPLES[ActionKind.REPAY]}")
            return None
    else:
        errors.append(f"{where}: an action is a name in quotes or a table with action = ...")
        return None
    kind = _kind(table.pop("action"), errors, where)
    if kind is None:
        return None
    where = f"then[{i}] ({kind})"
    allowed = ACTION_KEYS[kind]
    before = len(errors)
    for key in table:
        if key not in allowed:
            takes = ", ".join(allowed) if allowed else "nothing"
            errors.append(
                f"{where}: unknown parameter '{key}'{suggest(key, allowed)}; takes {takes}"
            )
    cross_only = all(p in ("cross", UTA) for p in scope.patterns)  # uta: account-wide, like cross
    env_rule = Env(action_coin=False, isolated=scope.isolated_only)
    env_coin = Env(action_coin=True, isolated=scope.isolated_only)
    action = Action(kind, i)
    if kind == ActionKind.NOTIFY:
        if "message" in table:
            try:
                action = Action(kind, i, message=compile_template(table["message"], env_rule))
            except ExpressionError as exc:
                errors.append(f"{where} message: {exc}")
    elif kind == ActionKind.REPAY:
        action = _repay(i, table, scope, env_coin, where, errors)
    elif kind == ActionKind.FLASH_REPAY:
        coin = None
        if UTA in scope.patterns:
            errors.append(
                f"{where}: a Unified Trading Account has no flash repay; use"
                ' "repay" in the uta scope (a flashRepay of a "*" rule is sent to a uta'
                " scope as an account-wide repay)"
            )
        if "coin" in table:
            if not cross_only:
                errors.append(
                    f"{where}: coin only applies in the cross scope (an isolated flash repay"
                    ' repays the whole symbol); set scope = "cross" or remove coin'
                )
            else:
                coin = _coin(table["coin"], scope, where, errors)
        action = Action(kind, i, coin=coin)
    elif kind == ActionKind.CANCEL_ORDERS:
        symbol = None
        if "symbol" in table:
            symbol = _symbol(table["symbol"], cross_only, where, errors)
        action = Action(kind, i, symbol=symbol)
    else:
        action = _reduce(i, table, scope, cross_only, env_coin, where, errors)
    return action if len(errors) == before else None


def _symbol(raw: object, cross_only: bool, where: str, errors: list[str]) -> str | None:
    if not cross_only:
        errors.append(f"{where}: symbol only applies in the cross scope (isolated: the scope's)")
        return None
    if not isinstance(raw, str) or not _SYMBOL.fullmatch(raw):
        errors.append(f'{where}: symbol {raw!r} is not like "BTCUSDT"')
        return None
    return raw


def _repay(
    i: int, table: dict[str, object], scope: ScopeSelector, env: Env, where: str, errors: list[str]
) -> Action:
    if "coin" not in table:
        errors.append(f"{where}: missing coin, e.g. {EXAMPLES[ActionKind.REPAY]}")
        return Action(ActionKind.REPAY, i)
    coin = _coin(table["coin"], scope, where, errors)
    has_amount = "amount" in table
    has_target = "target_risk_rate" in table or "target_distance" in table
    if has_amount == has_target:
        errors.append(
            f'{where}: give exactly one of amount = "..." or target_risk_rate = 0.5'
            ' (and/or target_distance = "0.1")'
        )
        return Action(ActionKind.REPAY, i, coin=coin)
    if has_amount:
        amount = _number(table["amount"], env, f"{where} amount", errors)
        return Action(ActionKind.REPAY, i, coin=coin, amount=amount)
    rate, distance = _targets(table, env, where, errors)
    return Action(ActionKind.REPAY, i, coin=coin, target_risk_rate=rate, target_distance=distance)


def _targets(
    table: dict[str, object], env: Env, where: str, errors: list[str]
) -> tuple[Expression | None, Expression | None]:
    """``target_risk_rate`` and ``target_distance`` (either or both)."""
    rate = distance = None
    if "target_risk_rate" in table:
        rate = _number(table["target_risk_rate"], env, f"{where} target_risk_rate", errors)
    if "target_distance" in table:
        distance = _number(table["target_distance"], env, f"{where} target_distance", errors)
    return rate, distance


def _reduce(
    i: int,
    table: dict[str, object],
    scope: ScopeSelector,
    cross_only: bool,
    env: Env,
    where: str,
    errors: list[str],
) -> Action:
    if not cross_only and not scope.isolated_only:
        errors.append(
            f"{where}: reduce needs a rule that is cross only (with symbol) or isolated only;"
            " split the rule"
        )
        return Action(ActionKind.REDUCE, i)
    symbol = coin = None
    if cross_only:
        if "symbol" not in table:
            errors.append(f'{where}: in the cross scope, reduce needs symbol = "BTCUSDT"')
            return Action(ActionKind.REDUCE, i)
        if table["symbol"] == ANY_SYMBOL:
            if "coin" in table:
                errors.append(f'{where}: symbol = "*" picks the coins itself; remove coin')
            symbol = ANY_SYMBOL
        else:
            symbol = _symbol(table["symbol"], True, where, errors)
        if symbol == ANY_SYMBOL:
            if "amount" in table:
                errors.append(
                    f'{where}: symbol = "*" needs a target (target_risk_rate or target_distance)'
                )
        elif "coin" in table:
            coin = _coin(table["coin"], scope, where, errors)
        elif symbol is not None:
            coin = next((symbol[: -len(q)] for q in QUOTES if symbol.endswith(q)), None)
            if not coin:
                errors.append(f"{where}: cannot tell the base coin of {symbol}; add coin = ...")
    else:
        if "symbol" in table or "coin" in table:
            errors.append(
                f"{where}: in an isolated scope reduce sells the scope's base coin;"
                " remove symbol / coin"
            )
        coin = BASE
    has_amount = "amount" in table
    has_target = "target_risk_rate" in table or "target_distance" in table
    if has_amount == has_target:
        errors.append(
            f"{where}: give exactly one of amount (of the base coin to sell), e.g."
            ' amount = "available", or target_risk_rate = 0.5 (and/or'
            ' target_distance = "0.1")'
        )
        return Action(ActionKind.REDUCE, i, coin=coin, symbol=symbol)
    if has_target:
        rate, distance = _targets(table, env, where, errors)
        return Action(
            ActionKind.REDUCE,
            i,
            coin=coin,
            symbol=symbol,
            target_risk_rate=rate,
            target_distance=distance,
        )
    amount = _number(table["amount"], env, f"{where} amount", errors)
    return Action(ActionKind.REDUCE, i, coin=coin, symbol=symbol, amount=amount)


def parse_then(raw: object, scope: ScopeSelector, errors: list[str]) -> tuple[Action, ...]:
    """Parse ``then``; appends readable messages to ``errors``."""
    if isinstance(raw, (str, dict)):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        errors.append('then must list at least one action, e.g. then = ["notify"]')
        return ()
    if len(raw) > 10:
        errors.append("then lists more than 10 actions")
        return ()
    actions = [_parse_one(i, item, scope, errors) for i, item in enumerate(raw)]
    return tuple(a for a in actions if a is not None)
