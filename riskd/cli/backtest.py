"""``riskd backtest CANDLES --snapshot FILE``: would these rules have saved this account?"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
import httpx

from riskd.clock import Clock

if TYPE_CHECKING:
    from riskd.backtest.snapshot import AccountSnapshot
    from riskd.backtest.sweep import SweepRow
    from riskd.settings import Settings

SHIPPED_RULES = Path(__file__).resolve().parent.parent / "shipped_rules"


@click.command("backtest")
@click.argument("candles", type=click.Path(path_type=Path))
@click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(path_type=Path),
    help="Starting account (TOML: account, symbol, scopes with balances; docs/backtest.md).",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path),
    help="A rule file or directory (default: the rules shipped with riskd).",
)
@click.option(
    "--from-account",
    "from_account",
    metavar="NAME",
    help="Read the starting account from this account of the config (read-only GETs).",
)
@click.option("--symbol", help="With --from-account: the symbol the candle file prices.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="riskd's config: the [poll] cadence, and the accounts for --from-account.",
)
@click.option(
    "--quiet-below",
    type=str,
    help="Quiet line: a candle under this risk rate, with no rule active and a move under"
    " poll.price_move, is not polled (default: warning - near_margin, 0.65); 0 polls all.",
)
@click.option("--granularity", help="Check the file's step (1m, 5m, 1h…); default: inferred.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), help="Write a PNG plot.")
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="NAME=A:B:STEP",
    help="Run the rule file once per value of its {{NAME}} placeholder (end included).",
)
@click.pass_context
def backtest(
    ctx: click.Context,
    candles: Path,
    snapshot_path: Path | None,
    rules_path: Path | None,
    from_account: str | None,
    symbol: str | None,
    config_path: Path | None,
    quiet_below: str | None,
    granularity: str | None,
    as_json: bool,
    plot_path: Path | None,
    sweeps: tuple[str, ...],
) -> None:
    """Replay rules over candle history, beside the same path with no riskd."""
    from riskd.backtest.engine import ScopeMismatch, run_path
    from riskd.backtest.engine import backtest as run_backtest
    from riskd.backtest.snapshot import SnapshotError, load_snapshot
    from riskd.backtest.sweep import SweepError, parse_spec, run_sweep
    from riskd.candles.read import CandleFileError, read_candles
    from riskd.rules import load

    if (snapshot_path is None) == (from_account is None):
        raise click.UsageError("give one of --snapshot FILE and --from-account NAME")
    if from_account is not None and symbol is None:
        raise click.UsageError("--from-account needs --symbol (e.g. BTCUSDT)")
    if sweeps and rules_path is None:
        raise click.UsageError("--sweep needs --rules FILE (a rule file with {{placeholders}})")
    settings = None
    if config_path is not None or from_account is not None:
        from riskd.settings import ConfigError, load_settings

        try:
            settings = load_settings(config_path)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    poll = settings.poll if settings is not None else None
    quiet = None
    if quiet_below is not None:
        from riskd.amounts import AmountError, to_decimal

        try:
            quiet = to_decimal(quiet_below, field="--quiet-below")
        except AmountError as exc:
            raise click.UsageError(str(exc)) from None
    try:
        specs = [parse_spec(s) for s in sweeps]
        if snapshot_path is not None:
            snap = load_snapshot(snapshot_path)
        else:
            assert settings is not None and from_account is not None and symbol is not None
            snap = _from_account(ctx, settings, from_account, symbol)
        series = read_candles(candles, granularity=granularity)
    except (SweepError, SnapshotError, CandleFileError) as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # a bad --granularity
        raise click.UsageError(str(exc)) from None
    warning = series.gap_warning()
    if warning:
        click.echo(f"warning: {warning}", err=True)

    if specs:
        assert rules_path is not None
        if not rules_path.is_file():
            raise click.UsageError(f"--sweep needs --rules to be one file, not {rules_path}")
        text = rules_path.read_text(encoding="utf-8")
        baseline = run_path(series, snap, None, poll)  # the same for every value
        try:
            rows = run_sweep(
                str(rules_path),
                text,
                specs,
                lambda rs: run_backtest(
                    series, snap, rs, poll, baseline=baseline, quiet_below=quiet
                ),
            )
        except (SweepError, ScopeMismatch) as exc:
            raise click.ClickException(str(exc)) from None
        _print_sweep(rows, [s.name for s in specs], as_json)
        return

    source = rules_path or SHIPPED_RULES
    loaded = load([source])
    if loaded.ruleset is None:
        problems = "\n".join(f"  {p}" for p in loaded.problems)
        raise click.ClickException(f"rules {source} do not load:\n{problems}")
    try:
        bt = run_backtest(series, snap, loaded.ruleset, poll, quiet_below=quiet)
    except ScopeMismatch as exc:
        raise click.ClickException(f"{snapshot_path or from_account}: {exc}") from None
    plot = None
    if plot_path is not None:
        from riskd.backtest.plot import write_png

        plot = str(write_png(bt, plot_path))
    from riskd.backtest.report import render_text, to_json

    if as_json:
        click.echo(json.dumps(to_json(bt, plot), indent=2))
    else:
        click.echo(render_text(bt, plot))


@dataclass(frozen=True)
class BacktestDeps:
    """What --from-account talks through; tests pass one as click's ``obj`` (a simulator's
    ASGI transport, a manual clock). By default: the network and the wall."""

    transport: httpx.AsyncBaseTransport | None = None
    clock: Clock | None = None


def _from_account(
    ctx: click.Context, settings: Settings, name: str, symbol: str
) -> AccountSnapshot:
    from riskd.backtest.live import snapshot_from_account
    from riskd.bitget.errors import RiskdExchangeError
    from riskd.settings import ConfigError

    deps = ctx.obj if isinstance(ctx.obj, BacktestDeps) else BacktestDeps()

    async def read() -> AccountSnapshot:
        http = httpx.AsyncClient(transport=deps.transport) if deps.transport else None
        try:
            snap, notes = await snapshot_from_account(
                settings, name, symbol, http=http, clock=deps.clock
            )
        finally:
            if http is not None:
                await http.aclose()
        for note in notes:
            click.echo(f"note: {note}", err=True)
        return snap

    try:
        return asyncio.run(read())
    except (ConfigError, RiskdExchangeError, httpx.HTTPError) as exc:
        raise click.ClickException(f"--from-account {name}: {exc}") from None


def _print_sweep(typed: list[SweepRow], names: list[str], as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from riskd.demo.summary import dec

    if as_json:
        out = [
            {
                "values": {k: format(v, "f") for k, v in r.values.items()},
                "liquidated": r.liquidated,
                "liquidations": len(r.result.riskd.liquidations),
                "capital_moved": dec(r.result.riskd.capital_moved, 2),
                "actions": sum(f.actions for f in r.result.riskd.rules.values()),
                "end_equity": dec(r.result.riskd.end_equity, 2),
                "loss_avoided": dec(r.result.loss_avoided, 2),
            }
            for r in typed
        ]
        click.echo(json.dumps(out, indent=2))
        return
    table = Table(title="sweep: runs without a liquidation first, by capital moved")
    for n in names:
        table.add_column(n, justify="right")
    for col in ("liquidated", "actions", "capital moved (USDT)", "end equity", "loss avoided"):
        table.add_column(col, justify="right")
    for r in typed:
        rr = r.result.riskd
        table.add_row(
            *(format(r.values[n], "f") for n in names),
            "yes" if r.liquidated else "no",
            str(sum(f.actions for f in rr.rules.values())),
            dec(rr.capital_moved, 2) or "0",
            dec(rr.end_equity, 2) or "0",
            dec(r.result.loss_avoided, 2) or "0",
        )
    Console(width=120).print(table)
