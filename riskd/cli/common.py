"""What the journal commands share (``riskd status``, ``journal``, ``pause``, ``resume`` in
:mod:`riskd.cli.daemon`; ``riskd silence`` in :mod:`riskd.cli.silence`): the ``--config`` and
``--journal`` options, the settings and journal path they name, and running work on an
existing journal database that is closed on every path.

Every problem becomes a StartupError (:mod:`riskd.preflight`): one line on stderr and an exit
code. The journal is the SQLite file, or the PostgreSQL database of ``journal_url`` (a cluster):
:func:`resolve_journal_target` and :func:`with_journal` take either.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from riskd.daemon.journal import Journal, JournalOpenError, JournalUnavailable
from riskd.daemon.journal_backend import is_pg_url
from riskd.preflight import (
    check_journal,
    config_error,
    journal_error,
    pg_journal_error,
)
from riskd.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


class Closable(Protocol):
    async def close(self) -> None: ...


S = TypeVar("S", bound=Closable)
F = TypeVar("F", bound=Callable[..., Any])


def _path_option(flag: str, dest: str, help_text: str) -> Callable[[F], F]:
    """An optional path option (checked later by :mod:`riskd.preflight`, not by click)."""
    path = click.Path(path_type=Path, readable=False)
    return click.option(flag, dest, type=path, default=None, help=help_text)


config_option = _path_option(
    "--config", "config_path", "Config file (default /etc/riskd/riskd.toml, else ./riskd.toml)."
)
journal_option = _path_option(
    "--journal", "journal_path", "Journal database (default: journal_path from the config)."
)


def load_cli_settings(config_path: Path | None, live: bool | None = None) -> Settings:
    """The settings; a StartupError (exit 78) naming the file when they cannot be loaded."""
    try:
        return load_settings(config_path, live=live)
    except ConfigError as exc:
        raise config_error(exc) from None


def journal_path_for(config_path: Path | None) -> Path:
    """The journal ``riskd run --config config_path`` uses (same settings, same default)."""
    return load_cli_settings(config_path).journal_path


def resolve_journal_target(config_path: Path | None, journal_path: Path | None) -> Path | str:
    """The journal to work on: ``--journal`` (a file), else the one ``riskd run`` would use
    (``journal_url`` when the configuration has one, else ``journal_path``)."""
    if journal_path is not None:
        return journal_path
    return load_cli_settings(config_path).journal_target


def with_store(
    path: Path,
    open_store: Callable[[Path], Awaitable[S]],
    open_errors: tuple[type[Exception], ...],
    work: Callable[[S], Awaitable[T]],
    *,
    write: bool,
) -> T:
    """Check the (existing) journal file, open it with ``open_store``, run ``work`` on it and
    close it on every path; ``open_errors`` on opening and sqlite errors in ``work`` are
    StartupErrors naming the file."""
    check_journal(path, create=False, write=write)

    async def main() -> T:
        try:
            store = await open_store(path)
        except open_errors as exc:
            raise journal_error(path, exc) from None
        try:
            return await work(store)
        except sqlite3.Error as exc:
            raise journal_error(path, exc) from None
        finally:
            await store.close()

    return asyncio.run(main())


def with_target(
    target: Path | str,
    open_target: Callable[[Path | str], Awaitable[S]],
    work: Callable[[S], Awaitable[T]],
    *,
    write: bool,
) -> T:
    """Open the (existing) journal ``target`` with ``open_target``, run ``work`` on it and
    close it on every path; any problem with the file is a StartupError. ``target`` may be a
    PostgreSQL URL (``journal_url``): then a database that cannot be opened or reached is
    one."""
    if not is_pg_url(target):
        return with_store(Path(target), open_target, (JournalOpenError,), work, write=write)
    url = str(target)

    async def main() -> T:
        try:
            store = await open_target(url)
        except JournalOpenError as exc:
            raise pg_journal_error(exc) from None
        try:
            return await work(store)
        except JournalUnavailable as exc:
            raise pg_journal_error(exc) from None
        finally:
            await store.close()

    return asyncio.run(main())


def with_journal(target: Path | str, work: Callable[[Journal], Awaitable[T]], *, write: bool) -> T:
    """:func:`with_target` with the :class:`~riskd.daemon.journal.Journal` itself."""
    return with_target(target, Journal.open_target, work, write=write)


__all__ = [
    "config_option",
    "journal_option",
    "journal_path_for",
    "load_cli_settings",
    "pg_journal_error",
    "resolve_journal_target",
    "with_journal",
    "with_store",
    "with_target",
]
