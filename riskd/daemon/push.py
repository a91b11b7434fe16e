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
  A Unified Trading Account's ``uta`` scope is estimated by
  :func:`riskd.daemon.push_uta.estimate_uta_risk_rate` (its mgnRatio from the exchange's
  ``mmr`` and ``effEquity``, ÷ the liquidation level) instead.
- **account and order changes** (:meth:`PushReactor.on_account_push`, from
  :class:`~riskd.daemon.account_push.AccountPushClient`): the scope they concern is polled at
  once (URGENT), unless it was polled within ``push.account_min_gap`` (its own action's
  re-poll has just seen the change the push reports) or a push polled it within that gap.
- **a UTA account push** (:meth:`PushReactor.on_uta_push`, from
  :class:`~riskd.daemon.push_uta.UtaAccountPushClient`): a pushed ``mgnRatio`` whose risk rate
  (÷ the level) crosses a line or rises ``push.rise`` above the last poll polls ``uta`` at once,
  whatever the gap (PROTECTIVE at an acting line); any other account push is an account change
  as above.

Staleness per source (:meth:`PushReactor.sources`): when the last index-price push came, when
the account's last private push came, and when each scope was last polled. When a socket is
down its pushes stop and only the polls (the fallback, on their own schedule) move.

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
from riskd.daemon.push_uta import estimate_uta_risk_rate
from riskd.risk.estimate import estimate_risk_rate, trigger
from riskd.risk.snapshot import UTA, ScopeSnapshot
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
    #: The estimated risk rate, or a pushed mgnRatio's (None: an account or order push).
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


@dataclass(frozen=True, slots=True)
class PushSources:
    """When each source last spoke for one account (clock seconds; ``None``: never)."""

    #: The last index-price push (any coin).
    price_push_at: float | None
    #: The account's last private push (v2 account/orders, or the v3 ``account`` topic).
    account_push_at: float | None
    #: Scope → when its last polled snapshot was observed.
    polled_at: Mapping[str, float]

    def ages(self, now: float) -> dict[str, float | None]:
        """Seconds since each source spoke (``poll:<scope>`` per scope)."""
        out: dict[str, float | None] = {
            "price_push": None if self.price_push_at is None else now - self.price_push_at,
            "account_push": None if self.account_push_at is None else now - self.account_push_at,
        }
        out.update({f"poll:{s}": now - at for s, at in sorted(self.polled_at.items())})
        return out


def estimate(snap: ScopeSnapshot, prices: Mapping[str, Decimal]) -> Decimal | None:
    """A scope's risk rate at ``prices``: the UTA estimate for ``uta``, else the classic one."""
    if snap.uta is not None:
        return estimate_uta_risk_rate(snap, prices)
    return estimate_risk_rate(snap, prices)


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
        self._price_at: float | None = None
        self._account_at: dict[str, float] = {}
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
        self._price_at = now
        for account, w in self._accounts.items():
            poller = w.poller
            if poller.stopped is not None:
                continue
            for scope, snap in list(poller.snapshots.items()):
                if scope in poller.wanted or not any(c in update for c in snap.balances):
                    continue
                rate = estimate(snap, self._prices)
                if rate is None:
                    continue
                self._compare(now, account, w, snap, rate, "estimated riskRate")

    def _compare(
        self, now: float, account: str, w: _Watched, snap: ScopeSnapshot, rate: Decimal, what: str
    ) -> bool:
        """Poll ``snap``'s scope now if ``rate`` crosses a line above the last poll."""
        lines = self._lines(w, snap.scope)
        why = trigger(snap.risk_rate, rate, lines.lines, self._settings.rise)
        if why is None:
            return False
        acting = lines.acting is not None and rate >= lines.acting
        priority = Priority.PROTECTIVE if acting else Priority.URGENT
        reason = f"{what} {rate:.4f} {why} (polled {snap.risk_rate})"
        self._poll_now(now, account, snap.scope, reason, rate, priority)
        return True

    def on_uta_push(self, account: str, mgn_ratio: Decimal | None) -> None:
        """The exchange pushed ``account``'s UTA figures (``mgn_ratio``: the pushed mgnRatio,
        ``None`` when the push carried none that could be read)."""
        now = self._clock.now()
        self._account_at[account] = now
        w = self._accounts.get(account)
        if w is None or w.poller.stopped is not None:
            return
        snap = w.poller.snapshots.get(UTA)
        if (
            mgn_ratio is not None
            and snap is not None
            and snap.uta is not None
            and snap.uta.liquidation_level > 0
            and UTA not in w.poller.wanted
        ):
            rate = mgn_ratio / snap.uta.liquidation_level
            if self._compare(now, account, w, snap, rate, f"pushed mgnRatio {mgn_ratio}: riskRate"):
                self._pushed[(account, UTA)] = now
                return
        self.on_account_push(account, {UTA})

    def sources(self, account: str) -> PushSources:
        """When each source last spoke for ``account`` (staleness per source)."""
        w = self._accounts.get(account)
        polled = {s: snap.observed_at for s, snap in w.poller.snapshots.items()} if w else {}
        return PushSources(self._price_at, self._account_at.get(account), polled)

    def on_account_push(self, account: str, scopes: Iterable[str]) -> None:
        """The exchange pushed a change of ``account``'s balances or orders in ``scopes``."""
        now = self._clock.now()
        self._account_at[account] = now
        w = self._accounts.get(account)
        if w is None or w.poller.stopped is not None:
            return
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
