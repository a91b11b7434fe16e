"""When a scope is polled again (pure; :class:`riskd.daemon.poller.AccountPoller` stretches
it to the rate budget's pace): its interval, and at once when a price it depends on moved.

A scope is *calm* only when it is far from liquidation by the gap-aware measure the shipped
ladder uses: at least twice ``near_distance`` and at least twice the largest jump of its
coins' prices seen in the last :data:`STEP_WINDOW` seconds (:class:`PriceSteps`, from the
feed's prices the poller loads) — the largest jump seen, even twice it, cannot carry a calm
scope to liquidation before its next read. A scope that is not calm is polled at the normal
interval, not the slow one, and its reads are urgent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from riskd.bitget.gate import Priority
from riskd.risk.derived import DISTANCE_CAP, debt_coins, min_distance_or_cap
from riskd.risk.estimate import estimate_risk_rate
from riskd.risk.snapshot import CROSS, ScopeSnapshot
from riskd.settings import PollSettings

#: How long a price jump counts for :func:`calm` (as the ladder's ``maxPriceStep("2m")``).
STEP_WINDOW = 120.0
ZERO = Decimal(0)


@dataclass
class PriceSteps:
    """The jumps of each coin's price between consecutive loads of the feed's prices, kept
    for :data:`STEP_WINDOW` seconds."""

    window: float = STEP_WINDOW
    _last: dict[str, Decimal] = field(default_factory=dict)
    _steps: dict[str, deque[tuple[float, Decimal]]] = field(default_factory=dict)

    def observe(self, prices: Mapping[str, Decimal], now: float) -> None:
        """Prices loaded at ``now``: each coin's change since its last load is a step."""
        for coin, price in prices.items():
            before = self._last.get(coin)
            self._last[coin] = price
            if before is None or before <= 0 or price == before:
                continue
            steps = self._steps.setdefault(coin, deque())
            steps.append((now, abs(price / before - 1)))
            while steps and steps[0][0] < now - self.window:
                steps.popleft()

    def largest(self, snap: ScopeSnapshot, now: float) -> Decimal:
        """The largest step of a coin ``snap`` holds or owes within the window (0: none)."""
        best = ZERO
        for coin, b in snap.balances.items():
            if b.total_amount == 0 and b.liability == 0:
                continue
            for at, step in self._steps.get(coin, ()):
                if at >= now - self.window and step > best:
                    best = step
        return best


def interval_for(
    snap: ScopeSnapshot,
    poll: PollSettings,
    previous: ScopeSnapshot | None = None,
    step: Decimal = ZERO,
) -> float:
    """Seconds until the scope should be polled again (before budget stretching).

    ``fast_interval`` at or above the near line (warning ratio − ``near_margin``) or closer
    to liquidation than ``near_distance`` (the move against the scope that liquidates it);
    ``slow_interval`` with no debt or when :func:`calm`; ``interval`` in between. Then,
    if the risk rate rose (or the distance shrank) since ``previous``, never longer than half
    the time the last change would take to reach the near line (a crash is seen early, not
    one slow poll late).

    The distance matters because the risk rate does not say how near liquidation is: a 7x
    isolated short can be 4 % from liquidation at a rate of 0.56, well under any rate line.
    """
    near_line = snap.warning_risk_ratio - poll.near_margin
    distance = min_distance_or_cap(snap)
    if snap.risk_rate >= near_line or distance < poll.near_distance:
        return poll.fast_interval
    if not debt_coins(snap):
        return poll.slow_interval
    base = poll.slow_interval if calm(snap, poll, distance, step) else poll.interval
    if previous is None:
        return base
    elapsed = snap.observed_at - previous.observed_at
    if elapsed <= 0:
        return base
    etas = []
    rise = snap.risk_rate - previous.risk_rate
    if rise > 0:
        etas.append(float((near_line - snap.risk_rate) / rise) * elapsed)
    shrink = min_distance_or_cap(previous) - distance
    if shrink > 0 and distance < DISTANCE_CAP:
        etas.append(float((distance - poll.near_distance) / shrink) * elapsed)
    if not etas:
        return base
    return max(poll.fast_interval, min(base, min(etas) / 2))


def calm(
    snap: ScopeSnapshot,
    poll: PollSettings,
    distance: Decimal | None = None,
    step: Decimal = ZERO,
) -> bool:
    """A scope that owes is calm below ``calm_below`` and at least twice ``near_distance``
    from liquidation (a high-leverage scope reads a low rate close to liquidation: a 7.8x
    long 7 % from it, just after a repay, reads about 0.25) — and at least twice ``step``,
    the largest recent jump of its coins' prices. ``distance``: already known."""
    far = min_distance_or_cap(snap) if distance is None else distance
    return snap.risk_rate < poll.calm_below and far >= 2 * max(poll.near_distance, step)


def calm_at(
    snap: ScopeSnapshot,
    prices: Mapping[str, Decimal],
    poll: PollSettings,
    step: Decimal = ZERO,
) -> bool:
    """Whether a scope that owes would still be :func:`calm` with its last polled balances
    valued at ``prices`` (the feed's latest; a coin without one keeps the snapshot's price):
    the rate estimated as the push path does (:func:`riskd.risk.estimate.estimate_risk_rate`)
    and the distance at those prices. Only decides how urgently the scope is read; ``True``
    when it cannot be told (no estimate, a Unified Trading Account's scope)."""
    if snap.uta is not None or not prices:
        return True
    rate = estimate_risk_rate(snap, prices)
    if rate is None:
        return True
    now = {c: prices.get(c, p) for c, p in snap.prices_usdt.items()}
    return calm(replace(snap, risk_rate=rate, prices_usdt=now), poll, step=step)


def not_calm_at(
    scopes: Iterable[str],
    snapshots: Mapping[str, ScopeSnapshot],
    prices: Mapping[str, Decimal],
    poll: PollSettings,
    step: Callable[[ScopeSnapshot], Decimal] = lambda snap: ZERO,
) -> set[str]:
    """Those of ``scopes`` that owe and would no longer be calm at ``prices``
    (:func:`calm_at`; ``step``: a scope's largest recent price jump): a crash the price
    feed saw before any read."""
    out: set[str] = set()
    for scope in scopes:
        snap = snapshots.get(scope)
        if snap is not None and owes(snap) and not calm_at(snap, prices, poll, step(snap)):
            out.add(scope)
    return out


def owes(snap: ScopeSnapshot | None) -> bool:
    """Whether the scope owed something at its last read (False when never read)."""
    return snap is not None and bool(debt_coins(snap))


def read_priority(
    scopes: set[str],
    base: Priority,
    urgent: set[str],
    snapshots: Mapping[str, ScopeSnapshot],
) -> Priority:
    """The priority of the daemon's read of ``scopes``: URGENT when one of them is urgent;
    the caller's ``base`` when it asked for more than a poll (a pipeline's re-poll, the push
    path); else IDLE when each of them is known and owes nothing, SCHEDULED otherwise (both
    refused at once during a 429 back-off rather than holding up the cycle)."""
    if scopes & urgent:
        return max(Priority.URGENT, base)
    if base > Priority.POLL:
        return base
    if all(s in snapshots and not owes(snapshots[s]) for s in scopes):
        return Priority.IDLE
    return Priority.SCHEDULED


def moved_scopes(
    snapshots: Mapping[str, ScopeSnapshot], prices: Mapping[str, Decimal], limit: Decimal
) -> set[str]:
    """Scopes holding or owing a coin whose price in ``prices`` moved ``limit`` or more since
    the scope's snapshot (none when ``limit`` is 0 or no prices are known)."""
    if limit <= 0 or not prices:
        return set()
    out: set[str] = set()
    for scope, snap in snapshots.items():
        for coin, bal in snap.balances.items():
            then, now = snap.prices_usdt.get(coin), prices.get(coin)
            if not then or not now or (bal.total_amount == 0 and bal.liability == 0):
                continue
            if abs(now / then - 1) >= limit:
                out.add(scope)
                break
    return out


def poll_calls(
    snapshots: Mapping[str, ScopeSnapshot], *, cross: bool, batch: bool
) -> dict[str, int]:
    """Calls one poll of every known classic scope makes, by endpoint (the budget's pacing):
    one isolated assets read, and one risk figure per owing symbol or one for all (``batch``)."""
    iso = [s for s in snapshots if s != CROSS]
    owing = [s for s in iso if debt_coins(snapshots[s])]
    per_cycle = min(len(owing), 1) if batch else len(owing)
    calls = {"isolated_assets": 1, "isolated_risk_rate": per_cycle} if iso else {}
    if cross:
        calls.update({"cross_assets": 1, "cross_risk_rate": 1})
    return calls


def poll_order(snap: ScopeSnapshot | None, symbol: str) -> tuple[int, Decimal, str]:
    """Sort key of the isolated symbols one poll reads: never seen first, then the highest
    risk rate against its warning ratio."""
    if snap is None:
        return (0, Decimal(0), symbol)
    return (1, -(snap.risk_rate - snap.warning_risk_ratio), symbol)
