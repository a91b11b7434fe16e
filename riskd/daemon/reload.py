"""Applying reloaded settings (SIGHUP) to a running daemon, atomically per account.

What can change without a restart: rules (and rule directories), caps, poll intervals and
stale limit, the live/dry-run choice of an account. Accounts added or removed, credentials,
``base_url``, the journal path, budget, metrics, notify and prices settings need a restart:
they are reported (and alerted) and the running values stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from riskd.daemon import alerts
from riskd.daemon.app import Daemon
from riskd.daemon.executor import DryRunExecutor, LiveExecutor
from riskd.rules import loader
from riskd.settings import CREDENTIAL_FIELDS, Settings


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


RESTART_ONLY = ("base_url", "journal_path", "budget", "metrics", "notify", "prices")


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
