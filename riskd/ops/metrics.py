"""Prometheus metrics of one riskd process, in their own registry.

:class:`Metrics` owns a dedicated :class:`prometheus_client.CollectorRegistry` (never the
global one, so tests and several daemons in one process do not collide) and one method per
thing the daemon reports. :func:`riskd.ops.server.start_ops_server` serves it on
``/metrics``.

Label values are names from the configuration (account names, route names, rule names,
scope ids, endpoint names) — never keys, URLs or tokens. As a last guard every label value
passes through :func:`riskd.redact.redact`; a value that contained a registered secret is
exported masked and logged once as a bug.

Series (all prefixed ``riskd_``)::

    up                                   1 while the process runs
    build_info{version,python}           1
    live{account}                        1 live, 0 dry-run
    actions_paused{account}              1 while actions are paused ("*" = all accounts)
    risk_rate{account,scope}             the exchange's risk rate (liquidation at 1)
    data_age_seconds{account,scope}      age of the scope's newest snapshot at the last tick
    rule_state{account,scope,rule,state} 1 for the rule's current state, 0 for states it left
    actions_total{account,kind,outcome}  protective actions by kind and outcome
    notification_failures_total{route}   failed delivery attempts and alerts given up, per route
    budget_used_ratio{limit_scope,endpoint,account}  share of the rate limit in use (0..1)
    rate_limited_total{endpoint,account} HTTP 429 answers received
    poll_duration_seconds{account}       histogram: one poll cycle of an account
    missed_ticks_total{job}              scheduler runs skipped (late or coalesced)
    last_tick_timestamp_seconds          POSIX time of the last successful scheduler tick
"""

from __future__ import annotations

import contextlib
import logging
import platform
from decimal import Decimal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from riskd import __version__
from riskd.redact import redact

log = logging.getLogger(__name__)

__all__ = ["ALL_ACCOUNTS", "POLL_BUCKETS", "RULE_STATES", "Metrics"]

#: The account label of process-wide settings (pause of every account).
ALL_ACCOUNTS = "*"

#: Rule states pre-declared so that a rule's series exist (at 0) before it first changes.
RULE_STATES = ("inactive", "pending", "firing")

#: Poll-cycle latency buckets in seconds.
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Metrics:
    """Every metric riskd exports, in ``self.registry``.

    ``process_collector`` adds the standard ``process_*`` series (memory, CPU, open files).
    """

    def __init__(
        self,
        *,
        version: str = __version__,
        registry: CollectorRegistry | None = None,
        process_collector: bool = True,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self._warned_secret = False
        self._rule_states: dict[tuple[str, str, str], set[str]] = {}

        self.up = Gauge("riskd_up", "1 while the riskd process runs.", registry=reg)
        self.build_info = Info("riskd_build", "riskd version and Python version.", registry=reg)
        self.live = Gauge(
            "riskd_live", "1 when actions are live, 0 in dry-run.", ["account"], registry=reg
        )
        self.actions_paused = Gauge(
            "riskd_actions_paused",
            '1 while actions are paused for the account ("*" means every account).',
            ["account"],
            registry=reg,
        )
        self.risk_rate = Gauge(
            "riskd_risk_rate",
            "Risk rate of an account scope as the exchange computes it (liquidation at 1).",
            ["account", "scope"],
            registry=reg,
        )
        self.data_age = Gauge(
            "riskd_data_age_seconds",
            "Age of the newest snapshot of the scope, at the last scheduler tick.",
            ["account", "scope"],
            registry=reg,
        )
        self.rule_state = Gauge(
            "riskd_rule_state",
            "1 for the state a rule is in for a scope, 0 for the other states.",
            ["account", "scope", "rule", "state"],
            registry=reg,
        )
        self.actions = Counter(
            "riskd_actions",
            "Protective actions by kind (repay, flashRepay, cancelOrders, reduce) and outcome "
            "(succeeded, failed, not_executed, unknown, dry_run, blocked, skipped, stale, "
            "paused, awaiting_reconciliation, open).",
            ["account", "kind", "outcome"],
            registry=reg,
        )
        self.notification_failures = Counter(
            "riskd_notification_failures",
            "Failed delivery attempts (a retry follows) and alerts still undelivered when the "
            "notifier stopped, per notification route.",
            ["route"],
            registry=reg,
        )
        self.budget_used = Gauge(
            "riskd_budget_used_ratio",
            "Share of an endpoint's rate limit used in the current window (0..1).",
            ["limit_scope", "endpoint", "account"],
            registry=reg,
        )
        self.rate_limited = Counter(
            "riskd_rate_limited",
            "HTTP 429 answers received from the exchange.",
            ["endpoint", "account"],
            registry=reg,
        )
        self.poll_duration = Histogram(
            "riskd_poll_duration_seconds",
            "Time to poll every scope of an account once.",
            ["account"],
            buckets=POLL_BUCKETS,
            registry=reg,
        )
        self.missed_ticks = Counter(
            "riskd_missed_ticks",
            "Scheduler runs that were missed (late beyond grace, or coalesced).",
            ["job"],
            registry=reg,
        )
        self.last_tick = Gauge(
            "riskd_last_tick_timestamp_seconds",
            "POSIX time of the last successful scheduler tick.",
            registry=reg,
        )
        self.liquidations = Counter(
            "riskd_liquidations",
            "Liquidations of a scope by the exchange that riskd detected.",
            ["account", "scope"],
            registry=reg,
        )
        self.journal_full = Gauge(
            "riskd_journal_disk_full",
            "1 while the disk under the journal is full (only essential entries are written).",
            registry=reg,
        )
        self.budget_storage_degraded = Gauge(
            "riskd_budget_storage_degraded",
            "1 while the shared budget storage (Redis) is unreachable and this node counts "
            "its local share of every limit.",
            registry=reg,
        )
        if process_collector:
            ProcessCollector(registry=reg)

        self.up.set(1)
        self.journal_full.set(0)
        self.budget_storage_degraded.set(0)
        self.build_info.info({"version": version, "python": platform.python_version()})

    # -- state of accounts and scopes ------------------------------------------------------

    def set_live(self, account: str, live: bool) -> None:
        self.live.labels(self._label(account)).set(1 if live else 0)

    def set_journal_full(self, full: bool) -> None:
        self.journal_full.set(1 if full else 0)

    def set_budget_storage_degraded(self, degraded: bool) -> None:
        self.budget_storage_degraded.set(1 if degraded else 0)

    def set_paused(self, account: str, paused: bool) -> None:
        """``account`` is an account name, or :data:`ALL_ACCOUNTS` for a global pause."""
        self.actions_paused.labels(self._label(account)).set(1 if paused else 0)

    def set_risk_rate(self, account: str, scope: str, rate: Decimal | float) -> None:
        self.risk_rate.labels(self._label(account), self._label(scope)).set(float(rate))

    def set_data_age(self, account: str, scope: str, seconds: float) -> None:
        self.data_age.labels(self._label(account), self._label(scope)).set(max(0.0, seconds))

    def set_rule_state(self, account: str, scope: str, rule: str, state: str) -> None:
        """Mark ``state`` as the rule's current state (1) and every other known state 0."""
        key = (self._label(account), self._label(scope), self._label(rule))
        seen = self._rule_states.setdefault(key, set(RULE_STATES))
        current = self._label(state)
        seen.add(current)
        for name in seen:
            self.rule_state.labels(*key, name).set(1 if name == current else 0)

    def forget_scope(self, account: str, scope: str) -> None:
        """Drop the series of a scope that no longer exists (an isolated position closed)."""
        acc, sc = self._label(account), self._label(scope)
        for gauge in (self.risk_rate, self.data_age):
            with contextlib.suppress(KeyError):
                gauge.remove(acc, sc)
        for key in [k for k in self._rule_states if k[:2] == (acc, sc)]:
            for name in self._rule_states.pop(key):
                with contextlib.suppress(KeyError):
                    self.rule_state.remove(*key, name)

    # -- events ------------------------------------------------------------------------------

    def action(self, account: str, kind: str, outcome: str) -> None:
        """Count one action: ``kind`` repay, flashRepay, cancelOrders or reduce; ``outcome``
        an action status (succeeded, failed, not_executed, unknown, dry_run, blocked, skipped,
        stale, paused, awaiting_reconciliation, open)."""
        self.actions.labels(self._label(account), self._label(kind), self._label(outcome)).inc()

    def liquidation(self, account: str, scope: str) -> None:
        """Count one liquidation riskd detected (records or account state)."""
        self.liquidations.labels(self._label(account), self._label(scope)).inc()

    def notification_failed(self, route: str) -> None:
        """Count a failed delivery; ``route`` is the route's name, never its URL."""
        self.notification_failures.labels(self._label(route)).inc()

    def set_budget_use(
        self, limit_scope: str, endpoint: str, ratio: float, account: str = ""
    ) -> None:
        """``limit_scope`` is ``ip`` or ``uid``; ``account`` is empty for IP-wide limits."""
        self.budget_used.labels(
            self._label(limit_scope), self._label(endpoint), self._label(account)
        ).set(max(0.0, ratio))

    def rate_limited_answer(self, endpoint: str, account: str = "") -> None:
        """Count one HTTP 429 from the exchange."""
        self.rate_limited.labels(self._label(endpoint), self._label(account)).inc()

    def observe_poll(self, account: str, seconds: float) -> None:
        self.poll_duration.labels(self._label(account)).observe(max(0.0, seconds))

    def missed_tick(self, job: str, count: int = 1) -> None:
        self.missed_ticks.labels(self._label(job)).inc(count)

    def tick_ok(self, now: float) -> None:
        """The scheduler completed a healthy tick at POSIX time ``now``."""
        self.last_tick.set(now)

    # -- output -----------------------------------------------------------------------------

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)

    def _label(self, value: str) -> str:
        safe = redact(value)
        if safe != value and not self._warned_secret:
            self._warned_secret = True
            log.error("a metric label contained a secret; exported masked (this is a bug)")
        return safe

    def __repr__(self) -> str:
        return "Metrics()"
