"""``riskd cluster status``: the nodes sharing one PostgreSQL, who owns which account, and the
shared rate budget per UID (docs/cluster.md).

The PostgreSQL URL is ``journal_url`` from the settings (``--config``), or ``--journal-url``;
the Redis URL is ``budget.storage_uri`` when it is ``redis://…``, or ``--redis-url``.

Exit status: 0 with the status on stdout (``--json`` for JSON); 2 with one line on stderr
naming ``host:port/db`` (never the password) when there is no URL or PostgreSQL cannot be
reached within 5 seconds. An unreachable Redis only makes the budget ``n/a``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import click

from riskd.cli.common import config_option, load_cli_settings
from riskd.cluster.pg import CONNECT_TIMEOUT_S, ClusterDatabaseError, connect
from riskd.cluster.status import ClusterStatus, read_budget, read_status
from riskd.preflight import StartupError
from riskd.redact import redact, register_secret
from riskd.settings import find_config

#: Exit code of ``riskd cluster status`` when PostgreSQL cannot be used.
EX_CLUSTER_DB = 2


@click.group(name="cluster")
def cluster() -> None:
    """Several riskd nodes sharing accounts through PostgreSQL (docs/cluster.md)."""


@cluster.command(name="status")
@config_option
@click.option(
    "--journal-url",
    default=None,
    help="PostgreSQL URL (default: journal_url from the config).",
)
@click.option(
    "--redis-url",
    default=None,
    help="Redis of the shared budget (default: budget.storage_uri when redis://).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(
    config_path: Path | None, journal_url: str | None, redis_url: str | None, as_json: bool
) -> None:
    """Nodes, account owners (lease age, token), unowned accounts, budget use per UID."""
    settings = load_cli_settings(config_path)
    url = journal_url or settings.journal_url
    if not url:
        raise StartupError(
            None,
            "no PostgreSQL to read the cluster from",
            'set journal_url = "postgresql://user@host:5432/db" or pass --journal-url',
            EX_CLUSTER_DB,
        )
    if redis_url is None and settings.budget.storage_uri.lower().startswith(
        ("redis://", "rediss://")
    ):
        redis_url = settings.budget.storage_uri
    # Without a config file the settings' accounts are only the default one: list the
    # accounts the leases name.
    accounts = tuple(settings.accounts) if find_config(config_path) is not None else ()
    result = asyncio.run(_gather(url, redis_url, accounts))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)


async def _gather(url: str, redis_url: str | None, accounts: tuple[str, ...]) -> ClusterStatus:
    try:
        conn = await connect(url, timeout=CONNECT_TIMEOUT_S, command_timeout=CONNECT_TIMEOUT_S)
    except ClusterDatabaseError as exc:
        raise StartupError(
            None, str(exc), "check journal_url and that PostgreSQL runs", EX_CLUSTER_DB
        ) from None
    try:
        result = await read_status(conn, accounts)
    except (OSError, TimeoutError) as exc:
        raise StartupError(None, f"PostgreSQL: {redact(str(exc))}", "", EX_CLUSTER_DB) from None
    finally:
        conn.terminate()
    if redis_url is None:
        return result
    _register_redis_password(redis_url)
    try:
        budget = await read_budget(redis_url, timeout_s=CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - shown as "budget: n/a (why)"; status goes on
        return replace(result, budget_error=_redis_error(redis_url, exc))
    return replace(result, budget=budget)


def _register_redis_password(url: str) -> None:
    try:
        register_secret(urlsplit(url).password)
    except ValueError:
        register_secret(url)


def _redis_error(url: str, exc: Exception) -> str:
    try:
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port or 6379}"
    except ValueError:
        where = "Redis"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(f"Redis {where}: {text}")


__all__ = ["EX_CLUSTER_DB", "cluster", "status"]
