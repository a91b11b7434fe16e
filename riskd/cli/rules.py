"""``riskd check`` and ``riskd test``: validate, lint and unit-test rule files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from riskd.preflight import EX_CONFIG, StartupError
from riskd.rules.durations import DurationError, format_duration, parse_duration
from riskd.rules.lint import lint
from riskd.rules.loader import load, rule_files
from riskd.rules.model import Level


def check_rule_files(paths: Sequence[str]) -> None:
    """Every path exists and every rule file is readable UTF-8 text; else a StartupError
    (one line, exit 78) naming the first file at fault."""
    files, problems = rule_files(paths)
    if problems:
        raise StartupError(
            Path(problems[0].file),
            problems[0].message,
            "give rule files or directories that exist (default ./rules)",
            EX_CONFIG,
        )
    for f in files:
        try:
            f.read_bytes().decode("utf-8")
        except OSError as exc:
            raise StartupError(
                f, f"cannot read: {exc.strerror}", "make it readable", EX_CONFIG
            ) from None
        except UnicodeDecodeError:
            raise StartupError(f, "not UTF-8 text", "save the file as UTF-8", EX_CONFIG) from None


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
    """Validate and lint rule files (default: ./rules). Exit 1 on any error in the rules,
    78 when a path is missing or a file cannot be read."""
    check_rule_files(paths or ("rules",))
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
