"""Applying reloaded settings (SIGHUP) to a running daemon, atomically per account.

What can change without a restart: rules (and rule directories), caps, poll intervals and
stale limit, the live/dry-run choice of an account. Accounts added or removed, credentials,
``base_url``, the journal path, budget, metrics, notify and prices settings need a restart:
they are reported (and alerted) and the running values stay.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from riskd.daemon import alerts
from riskd.daemon.app import Daemon
from riskd.daemon.events import DaemonEvent, EventKind
from riskd.daemon.executor import DryRunExecutor, LiveExecutor
from riskd.notify.alert import EVERY_ROUTE, Alert, AlertKind
from riskd.redact import redact
from riskd.rules import loader
from riskd.settings import CREDENTIAL_FIELDS, ConfigError, Settings, load_settings
from riskd.severity import Severity

log = logging.getLogger(__name__)


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``applied`` only when every account's rules loaded; otherwise
    ``refused_account`` names the first account whose rules were refused and ``reason`` says
    why (nothing at all changed)."""

    applied: bool
    notes: list[str] = field(default_factory=list)
    refused_account: str | None = None
    reason: str = ""


def _creds(s: Settings, name: str) -> tuple[object, ...]:
    acc = s.accounts[name]
    return tuple(getattr(acc, f) or getattr(s, f) for f in CREDENTIAL_FIELDS)


RESTART_ONLY = (
    "base_url",
    "journal_path",
    "journal_url",
    "journal_reserve",
    "cluster",
    "budget",
    "metrics",
    "notify",
    "prices",
    "push",
)


def apply_settings(daemon: Daemon, new: Settings) -> list[str]:
    """Apply ``new`` where possible; returns notes about what was kept and why."""
    return reload_settings(daemon, new).notes


def reload_settings(daemon: Daemon, new: Settings) -> ReloadOutcome:
    """Apply ``new`` where possible, all or nothing: if any account's rules do not load,
    nothing changes (and an alert says which account)."""
    old = daemon.settings
    notes: list[str] = []
    if set(new.accounts) != set(old.accounts):
        notes.append("accounts added or removed: restart riskd to apply")
    for name in RESTART_ONLY:
        if getattr(new, name) != getattr(old, name):
            notes.append(f"{name} changed: restart riskd to apply")
    # Rules first: if any account's rules fail, nothing at all changes.
    rulesets = {}
    for name in daemon.accounts:
        if name not in new.accounts:
            continue
        rules_dir = new.account_rules_dir(name)
        result = loader.load([rules_dir])
        if result.ruleset is None:
            text = "; ".join(f"{p.file}:{p.line or '-'}: {p.message}" for p in result.errors)
            notes.append(f"rules of {name} not reloaded (previous rules kept): {text}")
            daemon.sink.submit(
                alerts.error_alert(
                    f"rules of {name} not reloaded (previous rules kept)",
                    text,
                    daemon.clock.now(),
                    name,
                )
            )
            return ReloadOutcome(False, notes, refused_account=name, reason=text)
        rulesets[name] = (rules_dir, result.ruleset)
    for name, (rules_dir, ruleset) in rulesets.items():
        acc = daemon.accounts[name]
        acc.rules, acc.rules_dir = ruleset, rules_dir
        acc_settings = new.accounts[name]
        if _creds(new, name) != _creds(old, name):
            notes.append(f"credentials of {name} changed: restart riskd to apply")
        acc.poller.reconfigure(acc_settings, new.poll)
        acc.runner.reconfigure(caps=acc_settings.caps, stale_after=new.poll.stale_after)
        live = new.account_live(name)
        if live != (not acc.dry_run):
            if live:
                acc.runner.executor = LiveExecutor(acc.exchange)
            else:
                acc.runner.executor = DryRunExecutor(acc.exchange)
            notes.append(f"{name} is now {'LIVE' if live else 'dry-run'}")
            if daemon.metrics is not None:
                daemon.metrics.set_live(name, live)
    keep = {n: getattr(old, n) for n in RESTART_ONLY}
    daemon.settings = new.model_copy(update=keep)
    return ReloadOutcome(True, notes)


class Reloader:
    """SIGHUP: reload, apply, and say what happened. A failed reload is journaled as
    ``reload_failed`` with its reason and alerted on every route; the next good one says
    the failure is fixed; an account switched between dry-run and LIVE is announced."""

    def __init__(
        self, daemon: Daemon, config_path: Path | None, live_override: bool | None
    ) -> None:
        self.daemon = daemon
        self.config_path = config_path
        self.live_override = live_override
        #: The last reload failed: the next good one says it is fixed.
        self.failing = False

    async def reload(self) -> None:
        """Load the configuration and rules again and apply them, or keep the old ones."""
        daemon, now = self.daemon, self.daemon.clock.now()
        try:
            new = load_settings(self.config_path, live=self.live_override)
        except ConfigError as exc:
            reason = _one_line(str(exc))
            await self._reload_failed(
                f"reload failed, previous configuration and rules kept: {reason}",
                {"stage": "config", "reason": reason, "path": str(exc.path or "")},
                account=None,
                message=str(exc),
            )
            return
        live_before = {name: not acc.dry_run for name, acc in daemon.accounts.items()}
        outcome = reload_settings(daemon, new)
        for note in outcome.notes:
            log.warning("reload: %s", note)
        if not outcome.applied:
            account = outcome.refused_account or "?"
            await self._reload_failed(
                f"reload failed: the configuration is valid but the rules of account {account}"
                f" were refused; previous configuration and rules kept: {outcome.reason}",
                {
                    "stage": "rules",
                    "account": account,
                    "reason": outcome.reason,
                    "notes": outcome.notes,
                },
                account=account,
                message=outcome.reason,
            )
            return
        kept = [n for n in outcome.notes if "restart" in n]
        summary = "configuration and rules reloaded"
        if kept:
            summary += "; kept until a restart: " + "; ".join(kept)
        if self.failing:
            summary += " (the earlier failed reload is fixed)"
        cleared, self.failing = self.failing, False
        await daemon.events.publish(
            DaemonEvent(
                EventKind.RELOAD,
                now,
                summary,
                data={"notes": outcome.notes},
                alert=Alert(
                    kind=AlertKind.RELOAD,
                    severity=Severity.WARNING if cleared or kept else Severity.INFO,
                    title="configuration reloaded" + (": all clear" if cleared else ""),
                    at=now,
                    message=summary,
                    tags=frozenset({EVERY_ROUTE}),
                ),
            )
        )
        for name, acc in daemon.accounts.items():
            live = not acc.dry_run
            if name in live_before and live != live_before[name]:
                text = (
                    f"account {name} is now LIVE: protective actions will be sent"
                    if live
                    else f"account {name} is now dry-run: nothing will be sent"
                )
                await daemon.events.publish(
                    DaemonEvent(
                        EventKind.MODE,
                        now,
                        text,
                        severity=Severity.CRITICAL if live else Severity.WARNING,
                        account=name,
                        data={"live": live},
                        alert=Alert(
                            kind=AlertKind.LIVE,
                            severity=Severity.CRITICAL if live else Severity.WARNING,
                            title="now LIVE: protective actions will be sent"
                            if live
                            else "now dry-run: nothing will be sent",
                            at=now,
                            account=name,
                            dry_run=not live,
                            tags=frozenset({EVERY_ROUTE}),
                        ),
                    )
                )

    async def _reload_failed(
        self, summary: str, data: Mapping[str, object], *, account: str | None, message: str
    ) -> None:
        """A refused reload: journaled as reload_failed with its reason, alerted on every
        route; the previous configuration and rules stay."""
        self.failing = True
        now = self.daemon.clock.now()
        await self.daemon.events.publish(
            DaemonEvent(
                EventKind.RELOAD_FAILED,
                now,
                summary,
                severity=Severity.CRITICAL,
                account=account,
                data=data,
                alert=Alert(
                    kind=AlertKind.RELOAD,
                    severity=Severity.CRITICAL,
                    title="configuration not reloaded (previous one kept)",
                    at=now,
                    account=account,
                    message=redact(message),
                    tags=frozenset({EVERY_ROUTE}),
                ),
                failure=True,
            )
        )
