"""Replay rules over a candle path, and the same path with no riskd.

The path inside each candle is conservative for the position at risk: a long (net base coin
held) meets the low before the high (open → low → high → close), a short the reverse. The
price moves in straight lines between these four points, at 0, ⅓, ⅔ and the end of the
candle. Liquidation is checked at every point (the risk rate of a one-coin scope is monotone
in the price, so the extremes are where it peaks) and at every poll.

Poll cadence, as the daemon's adaptive schedule (``[poll]`` settings): the rules see the
account every ``interval`` (5 s), every ``fast_interval`` (1 s) once a scope is within
``near_margin`` of its warning ratio, every ``slow_interval`` (10 s) when calm. For speed, a
*quiet candle* — no rule state open for the account (nothing pending, firing or cooling
down) and every scope under the quiet line (``warning − near_margin``, 0.65) even at the
candle's worst price — is not polled while its high and low stay within ``price_move``
(0.5 %) of the price the rules last saw; when they move further (the daemon's own trigger to
poll at once), it is polled once, at its worst point. A candle whose own range is
``price_move`` or more (a fast market) while a scope is not calm there (at or over
``calm_below``) is not quiet: it is polled at the cadence above. Gaps in the file: the price
holds the last close and nothing is polled inside.

Reused from the daemon: :func:`riskd.rules.evaluate` and :func:`riskd.rules.record_outcome`
(the rules' state machine), :func:`riskd.daemon.plans.plan_action` and :mod:`riskd.sizing`
(how much each action moves), :mod:`riskd.risk.math` (risk rate); from the simulator: its
ledger, orders, flash repay and liquidation (:mod:`riskd.backtest.ledger`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from riskd.backtest.actions import Done, execute
from riskd.backtest.ledger import BacktestExchange, Liquidation
from riskd.backtest.snapshot import AccountSnapshot
from riskd.candles.read import CandleSeries
from riskd.risk.snapshot import ScopeSnapshot
from riskd.rules import EngineState, NotificationKind, RuleSet, evaluate, record_outcome
from riskd.settings import PollSettings

ZERO = Decimal(0)
#: Evaluations at one poll while actions keep coming (each step of a run, then its next).
MAX_ROUNDS = 8
#: Timeline points kept for the plot (the path is sampled down to about this many).
TIMELINE_POINTS = 4000


class ScopeMismatch(ValueError):
    """The snapshot holds a scope no rule can see."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """Poll intervals in ms and the thresholds that pick one (from :class:`PollSettings`)."""

    interval_ms: int
    fast_ms: int
    slow_ms: int
    near_margin: Decimal
    calm_below: Decimal
    price_move: Decimal
    #: Quiet candles (see the module doc) are those under this risk rate (and under the
    #: rules' lowest riskRate threshold); 0 turns the skip off.
    quiet_below: Decimal

    @classmethod
    def from_settings(cls, poll: PollSettings, quiet_below: Decimal | None = None) -> Cadence:
        return cls(
            round(float(poll.interval) * 1000),
            round(float(poll.fast_interval) * 1000),
            round(float(poll.slow_interval) * 1000),
            poll.near_margin,
            poll.calm_below,
            poll.price_move,
            Decimal("0.8") - poll.near_margin if quiet_below is None else quiet_below,
        )

    def next_ms(self, rate: Decimal, warning: Decimal) -> int:
        if rate >= warning - self.near_margin:
            return self.fast_ms
        if rate < self.calm_below:
            return self.slow_ms
        return self.interval_ms


@dataclass(slots=True)
class RuleFigures:
    fired: int = 0
    actions: int = 0
    skipped: int = 0
    failed: int = 0
    capital_moved: Decimal = ZERO
    incidents: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ActionRecord:
    at: float
    rule: str
    scope: str
    kind: str
    capital: Decimal
    legs: tuple[str, ...]
    error: str | None
    skipped: str | None


@dataclass(slots=True)
class Timeline:
    """Sampled path for the plot: seconds, price, highest risk rate, equity (floats)."""

    t: list[float] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)


@dataclass(slots=True)
class RunResult:
    with_riskd: bool
    start_equity: Decimal
    end_equity: Decimal = ZERO
    end_price: Decimal = ZERO
    liquidations: list[Liquidation] = field(default_factory=list)
    rules: dict[str, RuleFigures] = field(default_factory=dict)
    actions: list[ActionRecord] = field(default_factory=list)
    polls: int = 0
    max_rate: Decimal = ZERO
    timeline: Timeline = field(default_factory=Timeline)

    @property
    def capital_moved(self) -> Decimal:
        return sum((f.capital_moved for f in self.rules.values()), ZERO)

    @property
    def liquidation_loss(self) -> Decimal:
        return sum((liq.equity_before - liq.equity_after for liq in self.liquidations), ZERO)


def check_scopes(rules: RuleSet, snap: AccountSnapshot) -> None:
    """Refuse a snapshot with a scope that no rule matches (before the run)."""
    blind = [s for s in snap.scopes if not rules.group_for(s).rules]
    if blind:
        names = ", ".join(blind)
        raise ScopeMismatch(
            f"snapshot scope(s) {names} are matched by no rule: the rules cannot see them"
            " (check each rule's scope, or remove the scope from the snapshot)"
        )


class _Run:
    def __init__(
        self,
        series: CandleSeries,
        snap: AccountSnapshot,
        rules: RuleSet | None,
        cadence: Cadence,
        reference: bool = False,
    ) -> None:
        first = series.candles[0]
        self.series = series
        self.rules = rules
        self.cadence = cadence
        self.ex = BacktestExchange(snap, first.ts_ms / 1000, first.open, cache=not reference)
        self.state = EngineState()
        self.account = snap.account
        self.result = RunResult(rules is not None, self.ex.equity())
        if rules is not None:
            for r in rules.rules:
                self.result.rules[r.name] = RuleFigures()
        self.warning = Decimal("0.8")
        self.seq = 0
        self.next_poll = first.ts_ms
        self.last_t = first.ts_ms
        self.polled_price = first.open
        self.quiet_line = cadence.quiet_below
        n = len(series.candles)
        self.sample_every = max(1, n // TIMELINE_POINTS)

    # ------------------------------------------------------------------ points
    def point(self, t_ms: int, price: Decimal) -> None:
        """Move the price in a straight line to ``price`` at ``t_ms``; a scope whose risk rate
        reaches the liquidation ratio on the way is liquidated where it reaches it (at that
        price and instant), not at the end of the move."""
        ex = self.ex
        t0, p0 = self.last_t, ex.price
        for _ in range(4 * len(ex.books)):  # several liquidations on one move are possible
            if price == p0:
                break
            at = ex.first_crossing(p0, price)
            if at is None or at == price:
                break
            tc = t0 + int((t_ms - t0) * (at - p0) / (price - p0))
            ex.set_price(tc / 1000, at)
            self.result.liquidations.extend(ex.settle(tc / 1000))
            t0, p0 = tc, ex.price
        ex.set_price(t_ms / 1000, price)
        self.result.liquidations.extend(ex.settle(t_ms / 1000))
        self.last_t = t_ms

    def quiet(self) -> bool:
        return all(key[0] != self.account for key in self.state.entries)

    def poll(self, t_ms: int, price: Decimal) -> int:
        """The rules look at the account; returns the next poll's delay (ms)."""
        assert self.rules is not None
        self.point(t_ms, price)
        self.polled_price = price
        now = t_ms / 1000
        ex = self.ex
        res = self.result
        res.polls += 1
        snaps: dict[str, ScopeSnapshot] = {b.scope: ex.snapshot(b, now) for b in ex.books}
        for _ in range(MAX_ROUNDS):
            ev = evaluate(self.rules, snaps, now, self.state)
            self.state = ev.state
            for note in ev.notifications:
                if note.kind == NotificationKind.FIRING and note.incident:
                    fig = res.rules.setdefault(note.rule, RuleFigures())
                    if note.incident not in fig.incidents:
                        fig.incidents.add(note.incident)
                        fig.fired += 1
            if not ev.actions:
                break
            for req in ev.actions:
                self.seq += 1
                done = execute(ex, req, now, self.seq)
                self._record(done, now)
                self.state = record_outcome(self.state, req.id, done.ok, now)
            for liq in ex.settle(now):
                res.liquidations.append(liq)
            snaps = {b.scope: ex.snapshot(b, now) for b in ex.books}
        rate = max((s.risk_rate for s in snaps.values()), default=ZERO)
        return self.cadence.next_ms(rate, self.warning)

    def _record(self, done: Done, now: float) -> None:
        req = done.request
        fig = self.result.rules.setdefault(req.rule, RuleFigures())
        if req.incident not in fig.incidents:
            fig.incidents.add(req.incident)
            fig.fired += 1
        if done.legs:
            fig.actions += len(done.legs)
        if done.skipped:
            fig.skipped += 1
        if done.error:
            fig.failed += 1
        fig.capital_moved += done.capital
        self.result.actions.append(
            ActionRecord(
                now,
                req.rule,
                req.scope,
                str(req.kind),
                done.capital,
                tuple(p.describe() for p in done.legs),
                done.error,
                done.skipped,
            )
        )

    # ------------------------------------------------------------------ the path
    def run(self) -> RunResult:
        series = self.series
        g = series.granularity_ms
        third = g // 3
        ex = self.ex
        res = self.result
        polling = self.rules is not None
        cadence = self.cadence
        for i, c in enumerate(series.candles):
            t0 = c.ts_ms
            if t0 > self.next_poll:
                self.next_poll = t0  # a gap: nothing polled inside it
            self.last_t = max(self.last_t, t0)  # the last close holds until this open
            long = ex.net_base() >= 0
            a, b = (c.low, c.high) if long else (c.high, c.low)
            verts = ((t0, c.open), (t0 + third, a), (t0 + 2 * third, b), (t0 + g, c.close))
            end = t0 + g
            quiet = polling and self.quiet()
            if quiet:
                worst = ex.worst_rate(a)
                limit = self.polled_price * cadence.price_move
                moved = abs(a - self.polled_price) >= limit or abs(b - self.polled_price) >= limit
                fast = c.high - c.low >= c.low * cadence.price_move  # a fast market: a crash
                quiet = worst < self.quiet_line and (not fast or worst < cadence.calm_below)
            if quiet:
                self.point(t0, c.open)
                if moved:
                    self.poll(verts[1][0], a)  # the daemon's price-move trigger, at the worst
                else:
                    self.point(verts[1][0], a)
                self.point(verts[2][0], b)
                self.point(end, c.close)
                self.next_poll = end
            else:
                for k in range(3):
                    ta, pa = verts[k]
                    tb, pb = verts[k + 1]
                    self.point(ta, pa)
                    if not polling:
                        continue
                    while self.next_poll < tb and self.next_poll < end:
                        tp = self.next_poll
                        price = pa + (pb - pa) * (tp - ta) / (tb - ta) if tp > ta else pa
                        self.next_poll = tp + self.poll(tp, price)
                self.point(end, c.close)
            if i % self.sample_every == 0:
                self._sample(end)
        res.end_equity = ex.equity()
        res.end_price = ex.price
        self._sample(series.candles[-1].ts_ms + g)
        return res

    def _sample(self, t_ms: int) -> None:
        tl = self.result.timeline
        rate = self.ex.worst_rate(self.ex.price)
        self.result.max_rate = self.ex.max_rate
        tl.t.append(t_ms / 1000)
        tl.price.append(float(self.ex.price))
        tl.rate.append(min(float(rate), 2.0))
        tl.equity.append(float(self.ex.equity()))


@dataclass(frozen=True, slots=True)
class Backtest:
    """riskd's run beside the same path with no riskd."""

    series: CandleSeries
    snapshot: AccountSnapshot
    riskd: RunResult
    baseline: RunResult

    @property
    def liquidations_avoided(self) -> int:
        return len(self.baseline.liquidations) - len(self.riskd.liquidations)

    @property
    def loss_avoided(self) -> Decimal:
        """End equity with riskd minus end equity without (USDT, at the last close)."""
        return self.riskd.end_equity - self.baseline.end_equity


def run_path(
    series: CandleSeries,
    snap: AccountSnapshot,
    rules: RuleSet | None,
    poll: PollSettings | None = None,
    quiet_below: Decimal | None = None,
    reference: bool = False,
) -> RunResult:
    """One run over the path: with ``rules``, or none (the account left alone).

    ``reference``: build every snapshot afresh from the ledger, with none of the caching
    the run does for speed (same results, slower: the tests compare the two)."""
    cadence = Cadence.from_settings(poll or PollSettings(), quiet_below)
    return _Run(series, snap, rules, cadence, reference).run()


def backtest(
    series: CandleSeries,
    snap: AccountSnapshot,
    rules: RuleSet,
    poll: PollSettings | None = None,
    baseline: RunResult | None = None,
    quiet_below: Decimal | None = None,
) -> Backtest:
    """Check the scopes, then run the path with the rules and with no riskd (``baseline``:
    that second run, when already done — a sweep runs it once)."""
    check_scopes(rules, snap)
    with_rules = run_path(series, snap, rules, poll, quiet_below)
    if baseline is None:
        baseline = run_path(series, snap, None, poll)
    return Backtest(series, snap, with_rules, baseline)
