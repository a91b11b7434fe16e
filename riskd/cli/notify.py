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
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file with a [notify] table (RISKD_NOTIFY_URLS adds a route named 'env').",
)
def notify_test(severity: str | None, config: Path | None) -> None:
    """Send a test alert through the configured routes and print per-URL results."""
    from riskd.notify.channel import AppriseChannelFactory
    from riskd.notify.probe import probe_routes
    from riskd.notify.settings import ENV_URLS, NotifySettingsError, load_notify_settings

    try:
        settings = load_notify_settings(config)
    except NotifySettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.routes:
        raise click.ClickException(
            f"no notification routes configured: give --config FILE with [[notify.routes]], "
            f"or set {ENV_URLS}"
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
