"""``riskd`` entry point: a click group that imports each command only when it is used.

Command modules live beside this file; this table is the one place that lists them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from riskd import __version__

#: command name → "module:attribute" of a click command or group.
COMMANDS: dict[str, tuple[str, str]] = {
    "api": ("riskd.cli.api:api", "Make one signed call to the exchange and print its data."),
    "sim": ("riskd.cli.sim:sim", "Run the simulated Bitget margin exchange."),
    "check": ("riskd.cli.rules:check", "Validate and lint rule files."),
    "test": ("riskd.cli.rules:test_rules", "Run rule unit tests (like promtool test rules)."),
    "run": ("riskd.cli.daemon:run", "Run the daemon: poll, evaluate rules, act, alert."),
    "status": ("riskd.cli.daemon:status", "Show risk, rules, actions and budget per scope."),
    "journal": ("riskd.cli.daemon:journal", "Show the journal of decisions and actions."),
    "pause": ("riskd.cli.daemon:pause", "Stop taking actions (monitoring and alerts go on)."),
    "resume": ("riskd.cli.daemon:resume", "Take actions again after a pause."),
    "notify-test": ("riskd.cli.notify:notify_test", "Send a test alert through every route."),
    "silence": ("riskd.cli.silence:silence", "Silence alerts by matchers: add, list, expire."),
    "demo": ("riskd.cli.demo:demo", "A margin account, a crash, and riskd saving it."),
    "candles": ("riskd.cli.candles:candles", "Download Bitget candle history for riskd backtest."),
    "backtest": ("riskd.cli.backtest:backtest", "Replay rules over candle history."),
    "cluster": ("riskd.cli.cluster:cluster", "Nodes, account owners and leases of a cluster."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (fast start, no import cycles)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _unavailable(cmd_name, entry[1])
        command: Any = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a :class:`~riskd.preflight.StartupError` becomes its one line on
        stderr and its exit code (docs/operations.md#exit-codes) — the one place that does."""
        from riskd.preflight import StartupError

        try:
            return super().invoke(ctx)
        except StartupError as exc:
            click.echo(exc.line(), err=True)
            raise SystemExit(exc.exit_code) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str, help_text: str) -> click.Command:
    @click.command(name=name, help=help_text)
    def _cmd() -> None:
        raise click.ClickException(f"'riskd {name}' is not available in this build yet")

    return _cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="riskd")
def cli() -> None:
    """riskd keeps Bitget margin accounts from being liquidated."""


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
