"""``riskd run``, ``status``, ``journal``, ``pause``, ``resume``: thin commands over riskd.daemon.

``status``, ``journal``, ``pause`` and ``resume`` work on the journal database of a running
(or stopped) daemon: they take the same ``--config`` to find it, or ``--journal PATH``. The
path comes from :func:`journal_path_for`, exactly as ``riskd run`` resolves it (``journal_path``
from the config and environment, else ``$STATE_DIRECTORY/journal.sqlite3``); a journal that
does not exist is an error (never created here), so a pause cannot silently go nowhere.

Every file is checked before use (:mod:`riskd.preflight`): what is wrong becomes one line on
stderr and an exit code; every journal connection is closed on every path, so no worker
thread keeps the process alive after an error. ``riskd run`` holds ``<journal>.lock`` for its
life: a second ``riskd run`` on the same journal is refused (exit 75); the other commands
never take that lock.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from riskd.cli.common import (
    config_option,
    journal_option,
    load_cli_settings,
    resolve_journal_target,
    with_journal,
)
from riskd.cli.common import journal_path_for as journal_path_for  # re-exported
from riskd.daemon.journal import Event, Journal, JournalOpenError
from riskd.durations import SYNTAX, DurationError, parse_duration
from riskd.preflight import (
    JournalLock,
    check_journal,
    cluster_start_error,
    config_error,
    journal_error,
    ops_error,
)
from riskd.settings import ConfigError, Settings

if TYPE_CHECKING:
    from rich.console import Console


@click.command()
@config_option
@click.option("--live", is_flag=True, default=False, help="Send protective calls (not dry-run).")
@click.option("--log-format", type=click.Choice(["auto", "console", "json"]), default=None)
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING… (default INFO).")
def run(
    config_path: Path | None, live: bool, log_format: str | None, log_level: str | None
) -> None:
    """Run the daemon: poll, evaluate rules, act, alert (dry-run unless --live)."""
    from riskd.ops.logging import configure_logging

    configure_logging(fmt=log_format, level=log_level)
    live_override = True if live else None
    settings = load_cli_settings(config_path, live=live_override)
    check_journal(settings.journal_path, create=True, write=True)
    with JournalLock(settings.journal_path):
        code = asyncio.run(_serve(settings, config_path, live_override))
    sys.exit(code)


async def _serve(settings: Settings, config_path: Path | None, live_override: bool | None) -> int:
    """Build and run the service; what stops it from starting becomes a StartupError (the
    service has closed everything it opened by then)."""
    from riskd.budget.config import BudgetConfigError
    from riskd.daemon.service import create_service
    from riskd.ops.server import OpsServerError

    path = settings.journal_path
    try:
        service = await create_service(
            settings, config_path=config_path, live_override=live_override
        )
    except (ConfigError, BudgetConfigError, JournalOpenError) as exc:
        # A server named in the config (PostgreSQL, Redis) that does not answer: EX_UNAVAILABLE.
        cluster = cluster_start_error(exc)
        if cluster is not None:
            raise cluster from None
        if isinstance(exc, JournalOpenError):
            raise journal_error(path, exc) from None
        raise config_error(exc) from None
    except sqlite3.Error as exc:
        raise journal_error(path, exc) from None
    try:
        return await service.run()
    except Exception as exc:
        cluster = cluster_start_error(exc)
        if cluster is not None:
            raise cluster from None
        if isinstance(exc, OpsServerError):
            raise ops_error(settings.metrics.host, settings.metrics.port, exc) from None
        if isinstance(exc, sqlite3.Error):
            raise journal_error(path, exc) from None
        raise


@click.command()
@config_option
@journal_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (schema_version 1).")
@click.option("--watch", is_flag=True, help="A live view, refreshed every second (Ctrl-C quits).")
def status(config_path: Path | None, journal_path: Path | None, as_json: bool, watch: bool) -> None:
    """Show risk per account and scope, then recent actions, then the budget."""
    from riskd.daemon.status import load_report
    from riskd.daemon.status_render import render_text

    if as_json and watch:
        raise click.UsageError("--watch and --json do not go together")
    path = resolve_journal_target(config_path, journal_path)
    stale_after = _stale_after(config_path, journal_path)
    if watch:
        watch_status(path, stale_after)
        return

    async def work(j: Journal) -> str:
        report = await load_report(j, time.time(), stale_after=stale_after)
        if as_json:
            return json.dumps(report.to_json(), indent=2, sort_keys=True)
        return render_text(report)

    click.echo(with_journal(path, work, write=False))


def _stale_after(config_path: Path | None, journal_path: Path | None) -> float:
    """How long without a cycle before the daemon counts as not responding: the health
    limit (30 s, or twice ``poll.fast_interval`` when larger) of the configuration, if any."""
    from riskd.daemon.status import DEFAULT_STALE_AFTER

    if journal_path is not None and config_path is None:
        return DEFAULT_STALE_AFTER
    return max(DEFAULT_STALE_AFTER, 2 * load_cli_settings(config_path).poll.fast_interval)


def watch_status(
    path: Path | str,
    stale_after: float,
    *,
    console: Console | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    iterations: int | None = None,
) -> None:
    """``riskd status --watch``: a rich live view of the report, read again every second,
    until Ctrl-C (or ``iterations`` views, for tests). The journal is closed on every path."""
    from rich.live import Live

    from riskd.daemon.status import load_report
    from riskd.daemon.status_render import render_rich

    async def work(j: Journal) -> None:
        shown = 0
        with Live(console=console, auto_refresh=False, screen=False) as live:
            while True:
                report = await load_report(j, time.time(), stale_after=stale_after)
                live.update(render_rich(report), refresh=True)
                shown += 1
                if iterations is not None and shown >= iterations:
                    return
                await sleep(1.0)

    try:
        with_journal(path, work, write=False)
    except KeyboardInterrupt:
        click.echo("stopped watching", err=True)


def _since(text: str | None) -> float | None:
    """``1h`` / ``30m`` ago (riskd's duration syntax), or an ISO date/time (UTC unless it
    says otherwise)."""
    if text is None:
        return None
    try:
        return time.time() - parse_duration(text)
    except DurationError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration ({SYNTAX}) nor an ISO time (2024-05-01T12:00)",
            param_hint="--since",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _query(path: Path, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """A read-only query on the journal with the standard library (counts and listings the
    Journal class does not offer); errors become the journal's start-up errors."""
    try:
        db = sqlite3.connect(path)
        try:
            return [tuple(r) for r in db.execute(sql, tuple(args)).fetchall()]
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise journal_error(path, exc) from None


async def _check_kinds(j: Journal, kinds: Sequence[str]) -> None:
    """Every ``--kind`` is an event kind (:class:`EventKind`, or one this journal holds);
    otherwise a usage error (exit 2) listing the kinds."""
    from riskd.daemon.events import EventKind

    known = {k.value for k in EventKind}
    unknown = [k for k in kinds if k not in known]
    if not unknown:
        return
    present = await j.event_kinds()
    unknown = [k for k in unknown if k not in present]
    if unknown:
        names = ", ".join(sorted(known | present))
        raise click.BadParameter(
            f"unknown event kind {', '.join(map(repr, unknown))}; the kinds are: {names}",
            param_hint="--kind",
        )


@click.command()
@config_option
@journal_option
@click.option("--since", default=None, help="Only events since: 30m, 2h, 1d or an ISO time.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="At most this many (the latest).",
)
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (intent, outcome…).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def journal(
    config_path: Path | None,
    journal_path: Path | None,
    since: str | None,
    limit: int,
    kinds: tuple[str, ...],
    as_json: bool,
) -> None:
    """Show the journal: decisions, intents, outcomes, notifications."""
    path = resolve_journal_target(config_path, journal_path)
    cutoff = _since(since)

    async def work(j: Journal) -> tuple[list[Event], int | None]:
        await _check_kinds(j, kinds)
        events = await j.events(since=cutoff, limit=limit + 1, kinds=kinds)
        if len(events) <= limit:
            return events, None
        return events[1:], await j.count_events(since=cutoff, kinds=kinds)

    events, total = with_journal(path, work, write=False)
    for e in events:
        if as_json:
            click.echo(json.dumps(e.to_json(), sort_keys=True))
            continue
        when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        where = "/".join(x for x in (e.account, e.scope) if x)
        rule = f" [{e.rule}]" if e.rule else ""
        click.echo(f"{when} {e.kind:<12} {where}{rule} {e.summary}")
    if total is not None:
        click.echo(
            f"showing the last {len(events):,} of {total:,} events; --limit or --since for more",
            err=True,
        )


async def _known_accounts(
    config_path: Path | None, journal_path: Path | None, j: Journal, resuming: bool
) -> tuple[set[str], str]:
    """The accounts an ``--account`` may name, and where they come from: the configuration's,
    or with only ``--journal`` those the journal has status or rule state for (a resume also
    takes an account still paused)."""
    if journal_path is None or config_path is not None:
        names, source = set(load_cli_settings(config_path).accounts), "the configuration's accounts"
    else:
        # Only --journal (a file): the accounts it has status or rule state for.
        rows = _query(
            journal_path, "SELECT account FROM status UNION SELECT account FROM rule_state"
        )
        names, source = {str(r[0]) for r in rows}, "the accounts this journal knows"
    if resuming:
        names |= set((await j.pause_state()).accounts)
    return names, source


def _set_pause(
    config_path: Path | None,
    journal_path: Path | None,
    account: str | None,
    paused: bool,
    reason: str,
) -> None:
    path = resolve_journal_target(config_path, journal_path)

    async def work(j: Journal) -> bool:
        if account is not None:
            names, source = await _known_accounts(config_path, journal_path, j, not paused)
            if account not in names:
                listed = ", ".join(sorted(names)) if names else "none yet (give --config)"
                raise click.BadParameter(
                    f"no account {account!r}; {source}: {listed}", param_hint="--account"
                )
        await j.set_paused(account, paused, at=time.time(), reason=reason)
        return (await j.pause_state()).global_paused

    still_global = with_journal(path, work, write=True)
    target = f"account {account}" if account else "every account"
    if paused:
        click.echo(f"actions paused for {target}; monitoring and alerts go on (riskd resume)")
    elif still_global:
        click.echo(
            f"actions resumed for {target}, but every account is still paused: run "
            "`riskd resume` without --account"
        )
    else:
        click.echo(f"actions resumed for {target}")


@click.command()
@config_option
@journal_option
@click.option("--account", default=None, help="Only this account (default: every account).")
@click.option("--reason", default="", help="Why (kept in the journal).")
def pause(
    config_path: Path | None, journal_path: Path | None, account: str | None, reason: str
) -> None:
    """Stop taking actions (monitoring and alerts go on)."""
    _set_pause(config_path, journal_path, account, True, reason)


@click.command()
@config_option
@journal_option
@click.option("--account", default=None, help="Only this account (default: every account).")
def resume(config_path: Path | None, journal_path: Path | None, account: str | None) -> None:
    """Take actions again after a pause."""
    _set_pause(config_path, journal_path, account, False, "")
