"""``riskd demo``: a margin account, a crash, and riskd saving it — in about a minute."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from riskd.demo.runner import DemoOptions
    from riskd.demo.view import Frame, Observer

DEFAULT_OUT = Path("riskd-demo-out")


class _ViewStream(io.TextIOBase):
    """A text stream that shows each complete log line as an event in the demo's view."""

    def __init__(self, observer: Observer, now: list[float]) -> None:
        self._observer = observer
        self._now = now
        self._buf = ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            if line.strip():
                self._observer.event(self._now[0], "log", line.strip()[:160])
        return len(text)


def _setup_logging(observer: Observer | None, now: list[float]) -> None:
    """riskd's logging pipeline (structlog and stdlib, redacted) at WARNING: into the view
    while it runs, to stderr with ``--json`` (stdout then carries only the JSON)."""
    from riskd.ops.logging import configure_logging

    stream = sys.stderr if observer is None else _ViewStream(observer, now)
    configure_logging(fmt="console", level="WARNING", stream=stream, colors=False)  # type: ignore[arg-type]


@click.command()
@click.option(
    "--scenario",
    "scenario_name",
    default="default",
    show_default=True,
    help="A scenario name (scenarios/NAME.toml) or a TOML file.",
)
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Rules directory (default: ./rules, else the rules shipped with riskd).",
)
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Pace the live view: at most this many market seconds per wall second (default: "
    "the scenario's, else 10, when the live view shows; unpaced with --json or without a "
    "terminal). The run is on virtual time: the result does not depend on it.",
)
@click.option("--no-daemon", is_flag=True, help="Run the same scenario with riskd off.")
@click.option(
    "--api",
    type=click.Choice(["v2", "v1"]),
    default="v2",
    show_default=True,
    help="Bitget API the daemon speaks (v1: the legacy API, switched off upstream).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON only.")
@click.option(
    "--dashboard",
    "dashboard_port",
    type=click.IntRange(0, 65535),
    is_flag=False,
    flag_value=9464,
    default=None,
    metavar="[PORT]",
    help="Serve the dashboard on 127.0.0.1:PORT (default 9464) while the demo runs; the "
    "run is paced (--speed, default 10).",
)
@click.option(
    "--notify",
    "notify_urls",
    multiple=True,
    metavar="URL",
    help="Also send alerts to this apprise URL (repeatable).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Where the plots (PNG, HTML) and the run's journal go.",
)
def demo(
    scenario_name: str,
    rules_dir: Path | None,
    speed: float | None,
    no_daemon: bool,
    api: str,
    as_json: bool,
    dashboard_port: int | None,
    notify_urls: tuple[str, ...],
    out_dir: Path,
) -> None:
    """A simulated margin account in a crash, with riskd protecting it (or not).

    The simulator runs in this process with the scenario; riskd's real daemon watches it
    LIVE (the simulator is not an exchange: nothing real is traded) with the rules of
    --rules, on virtual time (deterministic: a 3-minute scenario in seconds of CPU), paced
    at SPEED market seconds per wall second while the live view shows.
    """
    from riskd.demo.runner import DEFAULT_SPEED, DemoOptions, run_demo_virtual
    from riskd.demo.settings import find_rules_dir
    from riskd.demo.suite import ExpectError, demo_hints
    from riskd.demo.summary import render_text
    from riskd.notify.settings import NotifySettingsError
    from riskd.settings import ConfigError
    from riskd.sim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(scenario_name)
        hints = demo_hints(scenario)
        rules = None if no_daemon else find_rules_dir(rules_dir)
    except (ScenarioError, ExpectError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    if speed is not None and speed <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speed")
    live = not as_json and _live_terminal()
    try:
        opts = DemoOptions(
            scenario=scenario,
            rules_dir=rules,
            speed=speed or ((hints.speed or DEFAULT_SPEED) if live or dashboard_port else None),
            daemon=not no_daemon,
            notify_urls=(*hints.notify, *notify_urls),
            out_dir=out_dir,
            api="v1" if api == "v1" else "v2",
            dashboard_port=None if no_daemon else dashboard_port,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    observer = None if as_json else _observer(opts)
    now = [0.0]
    _setup_logging(observer, now)
    if observer is not None and not as_json:
        _intro(opts)
    if opts.dashboard_port is not None:
        where = opts.dashboard_port or "a free port"
        click.echo(f"dashboard: http://127.0.0.1:{where}/dashboard/ while the demo runs", err=True)
    try:
        summary = run_demo_virtual(opts, _Clocked(observer, now) if observer else None)
    except (ConfigError, NotifySettingsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
    else:
        click.echo()
        click.echo(render_text(summary))


class _Clocked:
    """Passes everything to the view and remembers the latest market second (for logs)."""

    def __init__(self, inner: Observer, now: list[float]) -> None:
        self._inner = inner
        self._now = now

    def start(self) -> None:
        self._inner.start()

    def frame(self, frame: Frame) -> None:
        self._now[0] = frame.t
        self._inner.frame(frame)

    def event(self, t: float, kind: str, text: str) -> None:
        self._inner.event(t, kind, text)

    def stop(self) -> None:
        self._inner.stop()


def _live_terminal() -> bool:
    from rich.console import Console

    return Console().is_terminal


def _observer(opts: DemoOptions) -> Observer:
    from rich.console import Console

    from riskd.demo.view import PlainView, RichView

    console = Console()
    if console.is_terminal:
        return RichView(console)
    return PlainView(sys.stdout)


def _intro(opts: DemoOptions) -> None:
    who = (
        f"riskd watching LIVE with the rules in {opts.rules_dir}"
        if opts.daemon
        else "riskd OFF (--no-daemon)"
    )
    click.echo(
        f"riskd demo: scenario {opts.scenario.name!r} ({opts.scenario.description}); "
        f"{opts.run_s:.0f} s of market time on virtual time"
        + (f" at ×{opts.speed:g}" if opts.speed is not None else "")
        + f"; {who}. The simulator runs "
        "in this process: no exchange is contacted and nothing real is traded."
    )
