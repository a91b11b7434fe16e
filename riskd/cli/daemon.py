"""``riskd run``, ``status``, ``journal``, ``pause``, ``resume``: thin commands over riskd.daemon.

``status``, ``journal``, ``pause`` and ``resume`` work on the journal database of a running
(or stopped) daemon: they take the same ``--config`` to find it, or ``--journal PATH``. The
path comes from :func:`journal_path_for`, exactly as ``riskd run`` resolves it (``journal_path``
from the config and environment, else ``$STATE_DIRECTORY/journal.sqlite3``); a journal that
does not exist is an error (never created here), so a pause cannot silently go nowhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from riskd.daemon.journal import Journal
from riskd.settings import ConfigError, load_settings, parse_duration

_config = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file (default /etc/riskd/riskd.toml, else ./riskd.toml).",
)
_journal = click.option(
    "--journal",
    "journal_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Journal database (default: journal_path from the config).",
)


def journal_path_for(config_path: Path | None) -> Path:
    """The journal ``riskd run --config config_path`` uses (same settings, same default)."""
    return load_settings(config_path).journal_path


def _journal_path(config_path: Path | None, journal_path: Path | None) -> Path:
    """The journal to work on; ClickException (exit 1) naming the path if it does not exist."""
    if journal_path is None:
        try:
            journal_path = journal_path_for(config_path)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    if not journal_path.is_file():
        hint = ""
        if not os.environ.get("STATE_DIRECTORY"):
            hint = (
                "; $STATE_DIRECTORY is not set here, so a journal_path left out of the config "
                "means ./riskd-state/journal.sqlite3 — set journal_path in the config riskd run "
                "uses (or pass --journal PATH)"
            )
        raise click.ClickException(
            f"no journal at {journal_path.absolute()} (has `riskd run` run with it?){hint}"
        )
    return journal_path


async def _open_existing(path: Path) -> Journal:
    return await Journal.open(path)


@click.command()
@_config
@click.option("--live", is_flag=True, default=False, help="Send protective calls (not dry-run).")
@click.option("--log-format", type=click.Choice(["auto", "console", "json"]), default=None)
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING… (default INFO).")
def run(
    config_path: Path | None, live: bool, log_format: str | None, log_level: str | None
) -> None:
    """Run the daemon: poll, evaluate rules, act, alert (dry-run unless --live)."""
    from riskd.daemon.service import create_service
    from riskd.ops.logging import configure_logging

    configure_logging(fmt=log_format, level=log_level)
    try:
        settings = load_settings(config_path, live=True if live else None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    async def main() -> int:
        from riskd.ops.server import OpsServerError

        try:
            service = await create_service(
                settings, config_path=config_path, live_override=True if live else None
            )
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            return await service.run()
        except OpsServerError as exc:
            raise click.ClickException(f"{exc} (set [metrics] port, or enabled = false)") from None

    sys.exit(asyncio.run(main()))


@click.command()
@_config
@_journal
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path: Path | None, journal_path: Path | None, as_json: bool) -> None:
    """Show risk, rules, actions and budget per account and scope."""
    from riskd.daemon.status import render_status, status_json

    path = _journal_path(config_path, journal_path)

    async def main() -> str:
        j = await _open_existing(path)
        try:
            rows = await j.read_status()
            meta = await j.get_meta("daemon")
            pause = await j.pause_state()
        finally:
            await j.close()
        paused = {"*": pause.global_paused, **{a: True for a in pause.accounts}}
        if as_json:
            return status_json(rows, meta, paused)
        return render_status(rows, meta, paused, time.time())

    click.echo(asyncio.run(main()))


def _since(text: str | None) -> float | None:
    """``1h`` / ``30m`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    if text is None:
        return None
    try:
        return time.time() - parse_duration(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give a duration (30m, 2h, 1d) or an ISO time (2024-05-01T12:00)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@click.command()
@_config
@_journal
@click.option("--since", default=None, help="Only events since: 30m, 2h, 1d or an ISO time.")
@click.option("--limit", type=int, default=200, show_default=True, help="At most this many.")
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
    path = _journal_path(config_path, journal_path)
    cutoff = _since(since)

    async def main() -> None:
        j = await _open_existing(path)
        try:
            events = await j.events(since=cutoff, limit=limit, kinds=kinds)
        finally:
            await j.close()
        for e in events:
            if as_json:
                click.echo(json.dumps(e.to_json(), sort_keys=True))
                continue
            when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
            where = "/".join(x for x in (e.account, e.scope) if x)
            rule = f" [{e.rule}]" if e.rule else ""
            click.echo(f"{when} {e.kind:<12} {where}{rule} {e.summary}")

    asyncio.run(main())


def _set_pause(
    config_path: Path | None,
    journal_path: Path | None,
    account: str | None,
    paused: bool,
    reason: str,
) -> None:
    path = _journal_path(config_path, journal_path)

    async def main() -> bool:
        j = await Journal.open(path)
        try:
            await j.set_paused(account, paused, at=time.time(), reason=reason)
            return (await j.pause_state()).global_paused
        finally:
            await j.close()

    still_global = asyncio.run(main())
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
@_config
@_journal
@click.option("--account", default=None, help="Only this account (default: every account).")
@click.option("--reason", default="", help="Why (kept in the journal).")
def pause(
    config_path: Path | None, journal_path: Path | None, account: str | None, reason: str
) -> None:
    """Stop taking actions (monitoring and alerts go on)."""
    _set_pause(config_path, journal_path, account, True, reason)


@click.command()
@_config
@_journal
@click.option("--account", default=None, help="Only this account (default: every account).")
def resume(config_path: Path | None, journal_path: Path | None, account: str | None) -> None:
    """Take actions again after a pause."""
    _set_pause(config_path, journal_path, account, False, "")
