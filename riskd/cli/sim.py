"""``riskd sim``: run the simulated Bitget margin exchange."""

from __future__ import annotations

import os
from dataclasses import dataclass

import click

from riskd.clock import Clock, ScaledClock, WallClock
from riskd.ops.logging import configure_logging
from riskd.sim.scenario import ScenarioError, load_scenario, scenario_names
from riskd.sim.serve import DEFAULT_HOST, DEFAULT_PORT, run_server
from riskd.sim.simulator import SimKeys, Simulator

ENV_KEY = "RISKD_API_KEY"
ENV_SECRET = "RISKD_API_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_PASSPHRASE = "RISKD_API_PASSPHRASE"  # noqa: S105


@dataclass(frozen=True)
class Prepared:
    sim: Simulator
    accounts: dict[str, SimKeys]
    #: Accounts whose keys were created here (and must be shown once to the user).
    created: tuple[str, ...]


def prepare(scenario: str, speed: float | None, env: dict[str, str]) -> Prepared:
    """Build the simulator and its accounts: the first uses the RISKD_API_* credentials when
    all three are set, otherwise new keys; further scenario accounts always get new keys."""
    clock: Clock = ScaledClock(speed=speed) if speed else WallClock()
    sim = Simulator(clock=clock, scenario=load_scenario(scenario))
    names = [a.name for a in sim.scenario.accounts] or ["main"]
    given = (env.get(ENV_KEY), env.get(ENV_SECRET), env.get(ENV_PASSPHRASE))
    accounts: dict[str, SimKeys] = {}
    created: list[str] = []
    for i, name in enumerate(names):
        if i == 0 and all(given):
            key, secret, passphrase = given
            accounts[name] = sim.add_account(name, key, secret, passphrase)
        else:
            accounts[name] = sim.add_account(name)
            created.append(name)
    return Prepared(sim, accounts, tuple(created))


def banner(prepared: Prepared, host: str, port: int) -> str:
    """What ``serve`` prints before serving. New keys are printed here, once: the user started a
    simulator without credentials and needs them; keys taken from the environment are not."""
    s = prepared.sim
    base = f"http://{host}:{port}"
    lines = [
        f"riskd sim: scenario {s.scenario.name!r} ({s.scenario.description})",
        f"  REST  {base}/api/margin/v1/...   control {base}/_sim/state?account=NAME",
        f"  WS    ws://{host}:{port}/spot/v1/stream   clock: {s.clock!r}",
        f"  known scenarios: {', '.join(scenario_names())}",
    ]
    for name, keys in prepared.accounts.items():
        if name in prepared.created:
            lines += [
                f"  account {name!r}: new simulator credentials (shown once):",
                f"    export {ENV_KEY}={keys.api_key}",
                f"    export {ENV_SECRET}={keys.secret}",
                f"    export {ENV_PASSPHRASE}={keys.passphrase}",
            ]
        else:
            lines.append(f"  account {name!r}: using {ENV_KEY} / {ENV_SECRET} / {ENV_PASSPHRASE}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"  warning: bound to {host}; the control surface is reachable from there")
    return "\n".join(lines)


@click.group()
def sim() -> None:
    """The simulated Bitget margin exchange (for rehearsals, the demo and tests)."""


@sim.command()
@click.option(
    "--scenario",
    default="default",
    show_default=True,
    help="Scenario name (from scenarios/) or path to a scenario TOML file.",
)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to bind; keep 127.0.0.1 (the /_sim control surface has no authentication).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Run market time this many times faster than the wall clock (default: real time).",
)
def serve(scenario: str, port: int, host: str, speed: float | None) -> None:
    """Serve the simulated exchange over HTTP (and WebSocket /spot/v1/stream)."""
    try:
        prepared = prepare(scenario, speed, dict(os.environ))
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(banner(prepared, host, port))
    configure_logging()
    run_server(prepared.sim, host, port)
