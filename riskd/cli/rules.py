"""``riskd check`` and ``riskd test``: validate, lint and unit-test rule files."""

from __future__ import annotations

import click

from riskd.rules.durations import DurationError, format_duration, parse_duration
from riskd.rules.lint import lint
from riskd.rules.loader import load
from riskd.rules.model import Level


def _interval(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter("must be longer than 0s")
    return seconds


@click.command(name="check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True, help="Fail on lint warnings too.")
@click.option(
    "--interval",
    default="1s",
    show_default=True,
    callback=_interval,
    help="The daemon's evaluation interval (poll.fast_interval), for the lints that depend on it.",
)
def check(paths: tuple[str, ...], strict: bool, interval: float) -> None:
    """Validate and lint rule files (default: ./rules). Exit 1 on any error."""
    result = load(paths or ("rules",))
    problems = list(result.problems)
    if result.ruleset is not None:
        problems += lint(result.ruleset, interval)
    for p in problems:
        click.echo(str(p), err=p.level == Level.ERROR)
    errors = sum(1 for p in problems if p.level == Level.ERROR)
    warnings = len(problems) - errors
    if result.ruleset is None:
        click.echo(f"{errors} error(s), {warnings} warning(s): rules NOT valid", err=True)
        raise SystemExit(1)
    n, files = len(result.ruleset), len(result.ruleset.files)
    every = format_duration(interval)
    click.echo(f"ok: {n} rule(s) in {files} file(s); {warnings} warning(s) (interval {every})")
    if not files:
        click.echo("warning: no rule files found", err=True)
    if strict and (warnings or not files):
        raise SystemExit(1)


@click.command(name="test")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def test_rules(files: tuple[str, ...]) -> None:
    """Run rule unit tests (like promtool test rules). Exit 1 if any fails."""
    from riskd.rules.testing import format_results, run_file

    results = [run_file(f) for f in files]
    click.echo(format_results(results))
    if not all(r.passed for r in results):
        raise SystemExit(1)
