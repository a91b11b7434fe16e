"""``riskd silence add|list|expire``: silences kept in the journal database.

The journal is found as ``riskd status`` finds it (``--journal``, else ``journal_url`` or
``journal_path`` of ``--config``): on a cluster's PostgreSQL a silence holds on every node.
Errors are one line on stderr with the exit code of riskd/preflight.py.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from riskd.cli.common import config_option, journal_option, resolve_journal_target, with_target
from riskd.durations import POSITIVE_DURATION
from riskd.notify.matchers import MatcherError, parse_matchers
from riskd.notify.silence_store import SilenceNotFound, SilenceStore
from riskd.notify.silences import Silence

T = TypeVar("T")


def _with_store(
    target: Path | str, work: Callable[[SilenceStore], Awaitable[T]], *, write: bool
) -> T:
    return with_target(target, SilenceStore.open, work, write=write)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _row(s: Silence, now: float) -> str:
    state = "active" if s.active(now) else ("pending" if now < s.starts_at else "expired")
    end = s.ends_at if s.expired_at is None else min(s.ends_at, s.expired_at)
    comment = f"  # {s.comment}" if s.comment else ""
    return f"{s.id}  {state:<7}  until {_when(end)}  {s.describe()}{comment}"


@click.group()
def silence() -> None:
    """Silence alerts by matchers for a while (kept in the journal; the daemon reloads them)."""


@silence.command("add")
@config_option
@journal_option
@click.option(
    "--matcher",
    "matchers",
    multiple=True,
    required=True,
    help="NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX (labels: account, scope, rule, "
    "kind, severity and the rule's labels); repeat for several (all must match).",
)
@click.option(
    "--for",
    "seconds",
    type=POSITIVE_DURATION,
    default="1h",
    show_default=True,
    help="How long: 30m, 2h, 1d12h (a bare number is seconds).",
)
@click.option("--comment", default="", help="Why (shown by `riskd silence list`).")
def add(
    config_path: Path | None,
    journal_path: Path | None,
    matchers: tuple[str, ...],
    seconds: float,
    comment: str,
) -> None:
    """Add a silence; prints its id."""
    try:
        parsed = parse_matchers(matchers)
    except MatcherError as exc:
        raise click.BadParameter(str(exc), param_hint="--matcher") from None
    path = resolve_journal_target(config_path, journal_path)
    now = time.time()

    async def work(store: SilenceStore) -> Silence:
        return await store.add(
            parsed, starts_at=now, ends_at=now + seconds, comment=comment, created_by=_user()
        )

    made = _with_store(path, work, write=True)
    click.echo(f"{made.id}  until {_when(made.ends_at)}  {made.describe()}")


@silence.command("list")
@config_option
@journal_option
@click.option("--all", "show_all", is_flag=True, help="Also expired silences.")
def list_(config_path: Path | None, journal_path: Path | None, show_all: bool) -> None:
    """List active (and pending) silences; with --all also expired ones."""
    path = resolve_journal_target(config_path, journal_path)
    now = time.time()
    found = _with_store(path, lambda store: store.all(), write=False)
    shown = [s for s in found if show_all or s.active(now) or now < s.starts_at]
    for s in shown:
        click.echo(_row(s, now))
    if not shown:
        click.echo("no silences" if show_all else "no active silences")


@silence.command("expire")
@config_option
@journal_option
@click.argument("silence_id")
def expire(config_path: Path | None, journal_path: Path | None, silence_id: str) -> None:
    """End a silence now (its id, or a unique prefix of it)."""
    path = resolve_journal_target(config_path, journal_path)

    async def work(store: SilenceStore) -> Silence:
        return await store.expire(silence_id, time.time())

    try:
        done = _with_store(path, work, write=True)
    except SilenceNotFound:
        raise click.ClickException(
            f"no silence {silence_id!r} (or the prefix is ambiguous); see `riskd silence list`"
        ) from None
    click.echo(f"{done.id}  expired  {done.describe()}")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
