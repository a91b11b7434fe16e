"""``riskd candles download``: Bitget candle history into a file ``riskd backtest`` reads.

::

    riskd candles download BTCUSDT --granularity 1m --from 2026-05-01 --to 2026-06-01
    riskd candles download BTCUSDT -g 1h --from 2025-01-01 --to 2026-01-01 --format json

Public endpoints: no API key. ``--to`` is exclusive (``--from 2026-05-01 --to 2026-06-01`` is
May). Dates are UTC (``2026-05-01``, ``2026-05-01T12:00``, an ISO offset, or epoch ms). The
base URL is ``--base-url``, else ``RISKD_BASE_URL``, else ``base_url`` of ``--config``, else
Bitget's. An existing output file is checked and the download resumes after its last candle.

Exit status: 0 done (or nothing left to do); 1 the exchange refused or could not be reached
(unknown symbol included); 2 a bad command line; 65 the existing output file is not a candle
file this command can resume; 74 the output cannot be written; 130 interrupted (run the same
command again to resume). docs/candles.md has the details.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx

from riskd.bitget.client_core import DEFAULT_BASE_URL
from riskd.bitget.client_market import MarketClient
from riskd.bitget.endpoint_types import CandleGranularity
from riskd.bitget.errors import RiskdExchangeError
from riskd.budget import BudgetConfig, RateBudget
from riskd.budget.errors import BudgetExhausted
from riskd.candles.download import (
    Downloader,
    DownloadResult,
    EndpointChoice,
    PageReport,
    Plan,
    plan_for,
)
from riskd.candles.granularity import GranularityError, parse_granularity
from riskd.candles.store import FORMATS, CandleStore, Format, Resume, StoreError, open_store
from riskd.clock import Clock, WallClock

EX_ERROR = 1
EX_DATAERR = 65
EX_IOERR = 74
EX_INTERRUPTED = 130
ENV_BASE_URL = "RISKD_BASE_URL"
UNKNOWN_SYMBOL_CODES = frozenset({"40034", "40102", "50024"})
_SYMBOL = re.compile(r"^[A-Z0-9]{2,40}$")
_ENDPOINTS: dict[str, EndpointChoice] = {
    "auto": "auto",
    "candles": "candles",
    "history": "history_candles",
}


@dataclass(frozen=True)
class CandlesDeps:
    """What the command talks through. Tests pass one as click's ``obj`` (a simulator's ASGI
    transport, a manual clock); by default it is the network and the wall."""

    transport: httpx.AsyncBaseTransport | None = None
    clock: Clock | None = None
    budget: BudgetConfig | None = None


class CommandEnd(Exception):
    """The command ends early: one line on stderr and an exit code (0: nothing to do)."""

    def __init__(self, line: str, exit_code: int) -> None:
        self.line = line
        self.exit_code = exit_code
        super().__init__(line)


def parse_instant(text: str, option: str) -> int:
    """``2026-05-01`` / ``2026-05-01T12:00`` (UTC unless an offset is given) / epoch ms → ms."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-05-01), a UTC time (2026-05-01T12:00) or epoch ms",
            param_hint=option,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def show_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y%m%d")


def output_for(
    out: Path | None, fmt: str | None, symbol: str, gran: CandleGranularity, start: int, end: int
) -> tuple[Path, Format]:
    """The file and format: ``--format``, else told by ``--out``'s suffix, else CSV."""
    by_suffix: Format | None = None
    if out is not None and out.suffix.lower() in (".csv", ".json"):
        by_suffix = "json" if out.suffix.lower() == ".json" else "csv"
    if fmt is not None and by_suffix is not None and fmt != by_suffix:
        raise click.BadParameter(
            f"--format {fmt} but the file ends in {out.suffix if out else ''}", param_hint="--out"
        )
    chosen: Format = "json" if (fmt or by_suffix) == "json" else "csv"
    if out is None:
        out = Path(f"{symbol}_{gran.name}_{_day(start)}-{_day(end)}.{chosen}")
    return out, chosen


def base_url_for(option: str | None, config: Path | None) -> tuple[str, BudgetConfig | None]:
    """The base URL (and, with ``--config``, its budget settings)."""
    budget: BudgetConfig | None = None
    from_config: str | None = None
    if config is not None:
        from riskd.preflight import config_error
        from riskd.settings import ConfigError, load_settings

        try:
            settings = load_settings(config)
        except ConfigError as exc:
            raise config_error(exc) from None
        from_config = settings.base_url
        budget = BudgetConfig.from_settings(settings.budget)
    url = option or os.environ.get(ENV_BASE_URL) or from_config or DEFAULT_BASE_URL
    return url, budget


class Bar:
    """The rich progress bar on stderr (or nothing, when it is not a terminal)."""

    def __init__(self, enabled: bool, plan: Plan, start_ms: int, clock: Clock) -> None:
        self._clock = clock
        self._t0 = clock.now()
        self._start = start_ms
        self._progress = None
        self._task = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[candles]} candles, {task.fields[pages]} pages"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            total = max(1, plan.end_ms - start_ms)
            self._task = self._progress.add_task(
                f"{plan.symbol} {plan.granularity.name}", total=total, candles=0, pages=0
            )

    def update(self, report: PageReport) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=max(0, report.covered_to_ms - self._start),
                candles=report.written,
                pages=report.pages,
            )

    def elapsed(self) -> float:
        return self._clock.now() - self._t0

    @contextmanager
    def shown(self) -> Iterator[None]:
        if self._progress is None:
            yield
            return
        with self._progress:
            yield


async def _run(
    plan_args: tuple[str, CandleGranularity, int, int, EndpointChoice],
    out: Path,
    fmt: Format,
    base_url: str,
    deps: CandlesDeps,
    progress: bool,
    echo: Callable[[str], None],
) -> tuple[DownloadResult, Plan, float]:
    symbol, gran, start, end, choice = plan_args
    clock = deps.clock or WallClock()
    budget = RateBudget(clock, deps.budget or BudgetConfig(reserved_share=0.0))
    http = httpx.AsyncClient(transport=deps.transport) if deps.transport is not None else None
    written = 0
    try:
        async with MarketClient(
            None, http=http, base_url=base_url, gate=budget, clock=clock, api="v2"
        ) as client:
            now_ms = await client.server_time()
            plan = _plan(symbol, gran, start, end, now_ms, choice)
            if plan.end_ms < end:
                echo(f"--to is after the last closed candle; stopping at {show_ms(plan.end_ms)}")
            store, resume = _open(out, fmt, gran)
            try:
                _say_resume(echo, out, resume)
                downloader = Downloader(client, plan, store, now_ms=now_ms, last_ts=resume.last_ts)
                if downloader.start_ms() >= plan.end_ms:
                    raise CommandEnd(
                        f"{out} already holds every candle up to {show_ms(plan.end_ms)}; "
                        "nothing to download",
                        0,
                    )
                bar = Bar(progress, plan, downloader.start_ms(), clock)
                downloader.on_page = bar.update
                try:
                    with bar.shown():
                        result = await downloader.run()
                finally:
                    written = downloader.written
                return result, plan, bar.elapsed()
            finally:
                store.close()
    except (RiskdExchangeError, BudgetExhausted, OSError) as exc:
        raise _failure(exc, symbol, out, written) from None
    finally:
        if http is not None:
            await http.aclose()


def _plan(
    symbol: str,
    gran: CandleGranularity,
    start: int,
    end: int,
    now_ms: int,
    choice: EndpointChoice,
) -> Plan:
    try:
        return plan_for(symbol, gran, start, end, now_ms, choice)
    except ValueError:
        raise CommandEnd(
            f"no {gran.name} candle of {symbol} from {show_ms(start)} has closed yet "
            f"(exchange time {show_ms(now_ms)}); nothing to download",
            0,
        ) from None


def _open(out: Path, fmt: Format, gran: CandleGranularity) -> tuple[CandleStore, Resume]:
    try:
        return open_store(out, fmt, gran.ms)
    except StoreError as exc:
        if exc.io:
            raise CommandEnd(f"riskd: {exc}", EX_IOERR) from None
        raise CommandEnd(
            f"riskd: {exc}; it cannot be resumed: fix or move it, or give another --out",
            EX_DATAERR,
        ) from None


def _say_resume(echo: Callable[[str], None], out: Path, resume: Resume) -> None:
    if resume.repaired:
        echo(
            f"{out}: repaired the end of an interrupted write "
            f"({resume.repaired_bytes} byte(s) of an interrupted last line cut)"
        )
    if resume.last_ts is not None:
        echo(
            f"{out}: {resume.candles} candle(s) already there, "
            f"{show_ms(resume.first_ts or 0)} .. {show_ms(resume.last_ts)}; resuming after them"
        )


def _failure(exc: Exception, symbol: str, out: Path, written: int) -> CommandEnd:
    kept = f"; {written} candle(s) written to {out}, run the same command again to resume"
    kept = kept if written else ""
    if isinstance(exc, RiskdExchangeError):
        if exc.code in UNKNOWN_SYMBOL_CODES:
            return CommandEnd(
                f"riskd: unknown symbol {symbol}: the exchange says [{exc.code}] {exc.msg}",
                EX_ERROR,
            )
        status = f" (HTTP {exc.http_status})" if exc.http_status is not None else ""
        return CommandEnd(f"riskd: error {exc.code or '-'}: {exc.msg}{status}{kept}", EX_ERROR)
    if isinstance(exc, BudgetExhausted):
        return CommandEnd(f"riskd: rate budget: {exc}{kept}", EX_ERROR)
    if isinstance(exc, OSError):
        return CommandEnd(f"riskd: {out}: cannot write: {exc.strerror or exc}{kept}", EX_IOERR)
    return CommandEnd(f"riskd: {exc}{kept}", EX_ERROR)


@click.group()
def candles() -> None:
    """Candle files for `riskd backtest`: download Bitget's price history."""


@candles.command()
@click.argument("symbol")
@click.option(
    "-g",
    "--granularity",
    default="1m",
    show_default=True,
    help="Candle length: 1m 5m 15m 30m 1h 4h 6h 12h 1d 1w, or Bitget's names (1min, 1Dutc…).",
)
@click.option("--from", "start", required=True, help="First candle's day or time (UTC).")
@click.option("--to", "end", required=True, help="End, exclusive (UTC).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output file (default SYMBOL_GRANULARITY_FROM-TO.csv). An existing one is resumed.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="csv (ts,open,high,low,close,volume) or json (Bitget's data array); default: by "
    "--out's suffix, else csv.",
)
@click.option(
    "--endpoint",
    type=click.Choice(sorted(_ENDPOINTS)),
    default="auto",
    show_default=True,
    help="candles (recent, 1000 a page), history (any age, 200 a page), or auto.",
)
@click.option("--base-url", default=None, help="Exchange base URL (env RISKD_BASE_URL).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Take base_url and the [budget] settings from this riskd config file.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
@click.pass_context
def download(
    ctx: click.Context,
    symbol: str,
    granularity: str,
    start: str,
    end: str,
    out: Path | None,
    fmt: str | None,
    endpoint: str,
    base_url: str | None,
    config_path: Path | None,
    progress: bool | None,
) -> None:
    """Download SYMBOL's candles from --from to --to into a file (resumable)."""
    deps = ctx.obj if isinstance(ctx.obj, CandlesDeps) else CandlesDeps()
    sym = symbol.strip().upper()
    if not _SYMBOL.match(sym):
        raise click.BadParameter(f"{symbol!r} is not a symbol like BTCUSDT", param_hint="SYMBOL")
    try:
        gran = parse_granularity(granularity)
    except GranularityError as exc:
        raise click.BadParameter(str(exc), param_hint="--granularity") from None
    start_ms = parse_instant(start, "--from")
    end_ms = parse_instant(end, "--to")
    if start_ms >= end_ms:
        raise click.BadParameter(
            f"--from {start} is not before --to {end} (--to is exclusive)", param_hint="--to"
        )
    path, chosen = output_for(out, fmt, sym, gran, start_ms, end_ms)
    url, budget = base_url_for(base_url, config_path)
    if budget is not None and deps.budget is None:
        deps = CandlesDeps(deps.transport, deps.clock, budget)
    show = progress if progress is not None else os.isatty(2)

    def echo(line: str) -> None:
        click.echo(line, err=True)

    echo(
        f"{sym} {gran.name} candles {show_ms(start_ms)} .. {show_ms(end_ms)} (exclusive) "
        f"from {url} into {path} ({chosen})"
    )
    args = (sym, gran, start_ms, end_ms, _ENDPOINTS[endpoint])
    try:
        result, plan, elapsed = asyncio.run(_run(args, path, chosen, url, deps, show, echo))
    except CommandEnd as exc:
        click.echo(exc.line, err=True)
        ctx.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(
            f"riskd: interrupted; {path} keeps every page written so far: run the same command "
            "again to resume",
            err=True,
        )
        ctx.exit(EX_INTERRUPTED)
    rate = f" ({result.pages / elapsed:.1f} pages/s)" if elapsed > 0 else ""
    span = (
        f", {show_ms(result.first_ts)} .. {show_ms(result.last_ts)}"
        if result.first_ts is not None and result.last_ts is not None
        else ""
    )
    click.echo(
        f"wrote {result.written} candle(s){span} to {path} in {result.pages} page(s) of "
        f"{plan.endpoint}{rate}"
    )
