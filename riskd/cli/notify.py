"""``riskd notify-test``: check the notification set-up in one command."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click

from riskd.severity import Severity


@click.command(name="notify-test")
@click.option(
    "--severity",
    type=click.Choice([s.value for s in Severity]),
    default=None,
    help="Send as this severity, only through the routes that take it (default: every route).",
)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Config file, as for `riskd run` (default /etc/riskd/riskd.toml, else ./riskd.toml).",
)
def notify_test(severity: str | None, config: Path | None) -> None:
    """Send a test alert through the configured routes and print per-URL results.

    The notification settings are loaded exactly as ``riskd run`` loads them: the config
    file's ``[notify]``, ``RISKD_NOTIFY__*`` variables, ``RISKD_NOTIFY_URLS`` (route ``env``)
    and the ``notify_urls`` credential file in ``$CREDENTIALS_DIRECTORY``.
    """
    from riskd.notify.channel import AppriseChannelFactory
    from riskd.notify.probe import probe_routes
    from riskd.notify.settings import ENV_URLS
    from riskd.preflight import config_error
    from riskd.settings import NOTIFY_URLS_FILE, ConfigError, find_config, load_settings

    try:
        settings = load_settings(config).notify
    except ConfigError as exc:
        raise config_error(exc) from None
    if not settings.routes:
        found = find_config(config)
        where = f"{found} has no [[notify.routes]]" if found else "no config file found"
        raise click.ClickException(
            f"no notification routes configured ({where}): add [[notify.routes]], set "
            f"{ENV_URLS}, or provide the credential file {NOTIFY_URLS_FILE}"
        )
    chosen = Severity(severity) if severity else None
    results = asyncio.run(probe_routes(settings, chosen, AppriseChannelFactory(), time.time()))
    width = max(len(r.label) for r in results)
    url_width = max(len(r.url) for r in results)
    for r in results:
        verdict = "skipped" if r.skipped else "ok" if r.ok else "FAILED"
        reason = f"  {r.detail}" if (r.skipped or not r.ok) else ""
        click.echo(f"{r.label:<{width}}  {r.url:<{url_width}}  {verdict}{reason}")
    sent = [r for r in results if not r.skipped]
    failed = [r for r in sent if not r.ok]
    click.echo(f"{len(sent) - len(failed)} of {len(sent)} URL(s) ok")
    if failed or not sent:
        raise SystemExit(1)
