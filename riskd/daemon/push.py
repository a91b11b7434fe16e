"""The push path: WebSocket pushes decide *when* to poll a scope; REST stays the truth.

Two kinds of push reach :class:`PushReactor`:

- **index prices** (:meth:`PushReactor.on_prices`, a listener of
  :class:`~riskd.daemon.prices.BitgetIndexPriceFeed`): every scope holding or owing a coin
  whose price came gets a local estimate of its risk rate
  (:func:`riskd.risk.estimate.estimate_risk_rate`, from its last polled balances). The scope
  is polled **at once** (:meth:`AccountPoller.request_poll`, then :attr:`PushReactor.wake`)
  when the estimate, compared with the last polled rate (:func:`riskd.risk.estimate.trigger`):

  - reaches a *line* the polled rate was below. The lines of a scope are every ``riskRate``
    threshold of the rules that apply to it (``riskRate >= 0.7`` → 0.7, also inside
    ``and``/``or``), the lowest threshold of an *acting* rule less ``push.near`` (the rate is
    getting close to where riskd acts), and ``push.lines``;
  - or rose ``push.rise`` or more (a gap between lines, or above all of them).

  The baseline is always the last poll: a scope whose estimate sits above a line does not
  trigger again until a poll has seen it, or it rises further. The poll goes at
  ``Priority.PROTECTIVE`` when the estimate is at or above the lowest threshold of an acting
  rule (it is the read that decides a protective call, like the re-poll after an action, so
  it may use the budget's reserve), else at ``Priority.URGENT``.
- **account and order changes** (:meth:`PushReactor.on_account_push`, from
  :class:`~riskd.daemon.account_push.AccountPushClient`): the scope they concern is polled at
  once (URGENT), unless it was polled within ``push.account_min_gap`` (its own action's
  re-poll has just seen the change the push reports) or a push polled it within that gap.

``wake`` is an ``asyncio.Event`` the service (:mod:`riskd.daemon.service`) awaits beside its
scheduler: set, it runs a cycle now, which polls the requested scopes (URGENT priority),
evaluates the rules on the fresh answer and acts. Nothing here calls the exchange.
"""

from __future__ import annotations

import ast
import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from riskd.bitget.gate import Priority
from riskd.clock import Clock
from riskd.daemon.poller import AccountPoller
from riskd.risk.estimate import estimate_risk_rate, trigger
from riskd.rules.expressions import ExpressionError, parse
from riskd.rules.model import RuleSet
from riskd.settings import PushSettings

log = logging.getLogger(__name__)

RISK_RATE = "riskRate"
#: Triggers kept for status and tests.
HISTORY = 256


@dataclass(frozen=True, slots=True)
class PushTrigger:
    """One scope polled at once because of a push."""

    at: float
    account: str
    scope: str
    reason: str
    #: The estimated risk rate (None: an account or order push).
    estimate: Decimal | None = None
    priority: Priority = Priority.URGENT


def _number(node: ast.AST) -> Decimal | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return Decimal(repr(node.value))
    return None


def _is_rate(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == RISK_RATE


def thresholds(source: str) -> set[Decimal]:
    """Every literal ``riskRate`` is compared to from above (``riskRate >= 0.7``,
    ``riskRate > 0.7``, ``0.7 <= riskRate``), anywhere in the expression."""
    try:
        tree = parse(source)
    except ExpressionError:
        return set()
    out: set[Decimal] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        items = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, items[:-1], items[1:], strict=True):
            if isinstance(op, ast.Gt | ast.GtE) and _is_rate(left):
                value = _number(right)
            elif isinstance(op, ast.Lt | ast.LtE) and _is_rate(right):
                value = _number(left)
            else:
                continue
            if value is not None and value > 0:
                out.add(value)
    return out


@dataclass(frozen=True, slots=True)
class ScopeLines:
    """A scope's lines, ascending, and the lowest threshold of an acting rule (None: none)."""

    lines: tuple[Decimal, ...]
    acting: Decimal | None


def lines_for(rules: RuleSet, scope: str, push: PushSettings) -> ScopeLines:
    """The lines of ``scope`` (see the module docstring)."""
    lines: set[Decimal] = set(push.lines)
    acting: set[Decimal] = set()
    for rule in rules.rules:
        if not rule.scope.matches(scope):
            continue
        found = thresholds(rule.when.source)
        lines |= found
        if not rule.notify_only:
            acting |= found
    if acting and push.near > 0 and min(acting) - push.near > 0:
        lines.add(min(acting) - push.near)
    return ScopeLines(tuple(sorted(lines)), min(acting) if acting else None)


@dataclass
class _Watched:
    poller: AccountPoller
    rules: Callable[[], RuleSet]
    cached: RuleSet | None = None
    lines: dict[str, ScopeLines] | None = None


class PushReactor:
    """Turns pushes into immediate polls (see the module docstring)."""

    def __init__(self, clock: Clock, settings: PushSettings) -> None:
        self._clock = clock
        self._settings = settings
        self._accounts: dict[str, _Watched] = {}
        self._prices: dict[str, Decimal] = {}
        self._pushed: dict[tuple[str, str], float] = {}
        #: Set when a scope is to be polled now; the service runs a cycle and clears it.
        self.wake = asyncio.Event()
        self.triggers: deque[PushTrigger] = deque(maxlen=HISTORY)

    def watch(self, account: str, poller: AccountPoller, rules: Callable[[], RuleSet]) -> None:
        """Estimate ``account``'s scopes (``rules`` gives its current rule set)."""
        self._accounts[account] = _Watched(poller, rules)

    def _lines(self, w: _Watched, scope: str) -> ScopeLines:
        current = w.rules()
        if w.cached is not current or w.lines is None:
            w.cached, w.lines = current, {}
        found = w.lines.get(scope)
        if found is None:
            found = w.lines[scope] = lines_for(current, scope, self._settings)
        return found

    # --- pushes ---------------------------------------------------------------------------
    def on_prices(self, update: Mapping[str, Decimal]) -> None:
        """New index prices (coin → USDT): estimate the scopes holding or owing them."""
        self._prices.update(update)
        now = self._clock.now()
        for account, w in self._accounts.items():
            poller = w.poller
            if poller.stopped is not None:
                continue
            for scope, snap in list(poller.snapshots.items()):
                if scope in poller.wanted or not any(c in update for c in snap.balances):
                    continue
                estimate = estimate_risk_rate(snap, self._prices)
                if estimate is None:
                    continue
                lines = self._lines(w, scope)
                why = trigger(snap.risk_rate, estimate, lines.lines, self._settings.rise)
                if why is None:
                    continue
                acting = lines.acting is not None and estimate >= lines.acting
                priority = Priority.PROTECTIVE if acting else Priority.URGENT
                reason = f"estimated riskRate {estimate:.4f} {why} (polled {snap.risk_rate})"
                self._poll_now(now, account, scope, reason, estimate, priority)

    def on_account_push(self, account: str, scopes: Iterable[str]) -> None:
        """The exchange pushed a change of ``account``'s balances or orders in ``scopes``."""
        w = self._accounts.get(account)
        if w is None or w.poller.stopped is not None:
            return
        now = self._clock.now()
        gap = self._settings.account_min_gap
        for scope in scopes:
            pushed = self._pushed.get((account, scope))
            snap = w.poller.snapshots.get(scope)
            if (
                scope in w.poller.wanted
                or (pushed is not None and now - pushed < gap)
                or (snap is not None and now - snap.observed_at < gap)
            ):
                continue
            self._pushed[(account, scope)] = now
            reason = "the exchange pushed a change"
            self._poll_now(now, account, scope, reason, None, Priority.URGENT)

    def _poll_now(
        self,
        now: float,
        account: str,
        scope: str,
        reason: str,
        estimate: Decimal | None,
        priority: Priority,
    ) -> None:
        self._accounts[account].poller.request_poll([scope], priority)
        self.triggers.append(PushTrigger(now, account, scope, reason, estimate, priority))
        log.info("push: %s %s polled now: %s", account, scope, reason)
        self.wake.set()
