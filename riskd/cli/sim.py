"""``riskd sim``: run the simulated Bitget margin exchange (``serve``) and start a crash in a
running one (``crash``)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import click
import httpx

from riskd import durations
from riskd.clock import Clock, LoopClock, WallClock
from riskd.ops.logging import configure_logging
from riskd.sim.scenario import (
    Scenario,
    ScenarioError,
    calm_scenario,
    family_scenario_names,
    load_scenario,
    scenario_names,
)
from riskd.sim.serve import DEFAULT_HOST, DEFAULT_PORT
from riskd.sim.simulator import SimKeys, Simulator

if TYPE_CHECKING:
    import uvicorn

ENV_KEY = "RISKD_API_KEY"
ENV_SECRET = "RISKD_API_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_PASSPHRASE = "RISKD_API_PASSPHRASE"  # noqa: S105


@dataclass(frozen=True)
class Prepared:
    sim: Simulator
    accounts: dict[str, SimKeys]
    #: Accounts whose keys were created here (and must be shown once to the user).
    created: tuple[str, ...]
    #: Accounts whose keys came from ``--credentials``.
    from_file: tuple[str, ...] = ()


#: Keys of a ``--credentials`` entry.
CREDENTIAL_KEYS = ("api_key", "secret", "passphrase")


def read_credentials(path: Path) -> dict[str, tuple[str, str, str]]:
    """``--credentials FILE``: a JSON object ``{account: {api_key, secret, passphrase}}``
    (the multi-node harness writes one). A bad file is a ``ClickException`` naming the file
    and the entry, never a value."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.ClickException(f"--credentials {path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise click.ClickException(f"--credentials {path}: not a JSON file") from None
    if not isinstance(raw, dict):
        raise click.ClickException(f"--credentials {path}: expected an object of accounts")
    out: dict[str, tuple[str, str, str]] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry.get(k) for k in CREDENTIAL_KEYS
        ):
            raise click.ClickException(
                f"--credentials {path}: account {name!r} needs text api_key, secret, passphrase"
            )
        out[str(name)] = (entry["api_key"], entry["secret"], entry["passphrase"])
    return out


def prepare(
    scenario: str | None,
    speed: float | None,
    env: dict[str, str],
    given_keys: dict[str, tuple[str, str, str]] | None = None,
) -> Prepared:
    """Build the simulator and its accounts: the first uses the RISKD_API_* credentials when
    all three are set, otherwise new keys; further scenario accounts always get new keys.
    Accounts in ``given_keys`` (``--credentials``) use those keys instead (each must be an
    account of the scenario). Without a scenario: the calm one (the default accounts, prices
    held). With ``speed`` the market clock is the serving loop's virtual time
    (:func:`serve_paced`), from now."""
    clock: Clock = LoopClock(start=float(int(time.time()))) if speed else WallClock()
    chosen: Scenario = calm_scenario() if scenario is None else load_scenario(scenario)
    sim = Simulator(clock=clock, scenario=chosen)
    names = [a.name for a in sim.scenario.accounts] or ["main"]
    given = (env.get(ENV_KEY), env.get(ENV_SECRET), env.get(ENV_PASSPHRASE))
    from_file = given_keys or {}
    unknown = sorted(set(from_file) - set(names))
    if unknown:
        raise ScenarioError(
            sim.scenario.name,
            [f"--credentials names account(s) {', '.join(unknown)} it does not have"],
        )
    accounts: dict[str, SimKeys] = {}
    created: list[str] = []
    for i, name in enumerate(names):
        if name in from_file:
            accounts[name] = sim.add_account(name, *from_file[name])
        elif i == 0 and all(given):
            accounts[name] = sim.add_account(name, *given)
        else:
            accounts[name] = sim.add_account(name)
            created.append(name)
    return Prepared(sim, accounts, tuple(created), tuple(n for n in names if n in from_file))


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
        f"  loss families (issue 15): {', '.join(family_scenario_names())}",
    ]
    if not s.scenario.paths:
        lines.append(
            f"  prices hold until asked: riskd sim crash --url {base} [--drop 30% --over 60s]"
        )
    lines.append(
        f"  test introspection: GET {base}/_sim/calls (protective calls, 429s), "
        f"GET {base}/_sim/liquidations"
    )
    for name, keys in prepared.accounts.items():
        if name in prepared.created:
            lines += [
                f"  account {name!r}: new simulator credentials (shown once):",
                f"    export {ENV_KEY}={keys.api_key}",
                f"    export {ENV_SECRET}={keys.secret}",
                f"    export {ENV_PASSPHRASE}={keys.passphrase}",
            ]
        elif prepared.from_file and name in prepared.from_file:
            lines.append(f"  account {name!r}: keys from --credentials")
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
    default=None,
    help="Scenario name (from scenarios/) or path to a scenario TOML file. Without it prices "
    "hold (the default scenario's accounts, no crash) until `riskd sim crash` asks for one.",
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
    help="Run market time this many times faster than the wall clock, on a paced virtual-time "
    "event loop (default: real time).",
)
@click.option(
    "--credentials",
    "credentials_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON file {account: {api_key, secret, passphrase}}: those scenario accounts use "
    "these keys (tests and rehearsals with many accounts; keep the file private).",
)
def serve(
    scenario: str | None,
    port: int,
    host: str,
    speed: float | None,
    credentials_path: Path | None,
) -> None:
    """Serve the simulated exchange over HTTP (and WebSocket /spot/v1/stream).

    Without --scenario prices hold: the accounts of the default scenario are funded and
    leveraged, and nothing moves until `riskd sim crash` starts a crash. A named scenario
    follows its own price paths from the start. GET /_sim/calls lists the protective calls
    answered and the 429s sent; GET /_sim/liquidations every account's liquidations.
    """
    given = read_credentials(credentials_path) if credentials_path is not None else None
    try:
        prepared = prepare(scenario, speed, dict(os.environ), given)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(banner(prepared, host, port), nl=True)
    configure_logging()
    if speed:
        serve_paced(prepared, host, port, speed)
    else:
        serve_recorded(prepared, host, port)


def _recorded_config(prepared: Prepared, host: str, port: int) -> uvicorn.Config:
    """The uvicorn config of :func:`riskd.sim.serve.make_config`, serving the simulator's app
    through a :class:`~riskd.sim.introspect.CallRecorder` (which changes no answer)."""
    import uvicorn

    from riskd.sim.introspect import CallLog, recorded_app
    from riskd.sim.serve import WS_IMPL

    return uvicorn.Config(
        recorded_app(prepared.sim, prepared.accounts, CallLog()),
        host=host,
        port=port,
        log_level="info",
        lifespan="off",
        ws=WS_IMPL,
        access_log=False,
        log_config=None,
    )


def serve_recorded(prepared: Prepared, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM), recording protective calls and 429s."""
    import uvicorn

    uvicorn.Server(_recorded_config(prepared, host, port)).run()


def serve_paced(prepared: Prepared, host: str, port: int, speed: float) -> None:
    """Serve on a :class:`~riskd.virtual_time.VirtualTimeLoop` paced at ``speed`` × the wall:
    market time runs ``speed`` times faster, and the pacing leaves real sockets real time."""
    import uvicorn

    from riskd.virtual_time import run_virtual

    server = uvicorn.Server(_recorded_config(prepared, host, port))
    run_virtual(server.serve(), speed=speed)


# ---------------------------------------------------------------------------- crash
def parse_percent(text: str, option: str) -> Decimal:
    """``"30%"`` → 0.30, ``"0.3"`` → 0.3; must be within (0, 1) for a drop."""
    raw = text.strip()
    try:
        value = Decimal(raw[:-1]) / 100 if raw.endswith("%") else Decimal(raw)
    except InvalidOperation:
        raise click.BadParameter(
            f"{text!r} is not a percentage (e.g. 30%)", param_hint=option
        ) from None
    if not value.is_finite() or value <= 0:
        raise click.BadParameter(f"{text!r} must be above 0", param_hint=option)
    return value


def parse_duration(text: str, option: str = "--over") -> float:
    """``"60s"``, ``"2m"``, ``"1m30s"``, ``"90"`` (seconds) → seconds (riskd.durations)."""
    try:
        return durations.parse_duration(text)
    except durations.DurationError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def crash_body(
    scenario: str | None,
    drop: str | None,
    rise: str | None,
    over: str,
    symbols: tuple[str, ...],
    as_written: bool,
) -> dict[str, object]:
    """The ``POST /_sim/crash`` body the options ask for (default: a 30 % drop over 60 s)."""
    if sum(x is not None for x in (scenario, drop, rise)) > 1:
        raise click.UsageError("give at most one of --scenario, --drop and --rise")
    if scenario is not None:
        body: dict[str, object] = {"scenario": scenario, "as_written": as_written}
        if symbols:
            body["symbols"] = list(symbols)
        return body
    if rise is not None:
        change = parse_percent(rise, "--rise")
    else:
        change = -parse_percent(drop or "30%", "--drop")
        if change <= -1:
            raise click.BadParameter(f"{drop!r} must be below 100%", param_hint="--drop")
    return {
        "change": str(change),
        "over_s": parse_duration(over),
        "symbols": list(symbols),
    }


async def request_crash(client: httpx.AsyncClient, body: dict[str, object]) -> dict[str, object]:
    """POST the crash to a simulator; a refusal raises :class:`click.ClickException`."""
    try:
        resp = await client.post("/_sim/crash", json=body)
    except httpx.HTTPError as exc:
        raise click.ClickException(
            f"cannot reach the simulator at {client.base_url}: {exc}"
        ) from None
    try:
        payload = resp.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise click.ClickException(
            f"{client.base_url} answered HTTP {resp.status_code} without JSON: is it `riskd sim "
            "serve`?"
        )
    if resp.status_code != 200 or payload.get("ok") is not True:
        raise click.ClickException(f"the simulator refused the crash: {payload.get('error')}")
    return payload


def describe(payload: dict[str, object]) -> str:
    symbols = payload.get("symbols")
    seconds = payload.get("seconds")
    names = ", ".join(str(s) for s in symbols) if isinstance(symbols, list) else "?"
    line = f"crash started ({payload.get('source')}): {names}"
    if isinstance(seconds, (int, float)):
        line += f", over {seconds:g} s of market time"
    skipped = payload.get("skipped")
    if isinstance(skipped, list) and skipped:
        line += f" (not in this market: {', '.join(str(s) for s in skipped)})"
    return line


@sim.command()
@click.option(
    "--url",
    default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    show_default=True,
    help="The running `riskd sim serve`.",
)
@click.option(
    "--scenario",
    default=None,
    help="Start the price paths of this scenario (name or TOML path) now; leading holds are "
    "skipped unless --as-written.",
)
@click.option("--drop", default=None, help="Fall by this much, e.g. 30% (the default: 30%).")
@click.option("--rise", default=None, help="Rise by this much instead, e.g. 20% (squeezes shorts).")
@click.option("--over", default="60s", show_default=True, help="Duration of the move (0 = a gap).")
@click.option(
    "--symbol",
    "symbols",
    multiple=True,
    help="Only this symbol (repeatable; default: every symbol of the market).",
)
@click.option("--as-written", is_flag=True, help="Keep a scenario's leading hold segments.")
@click.pass_context
def crash(
    ctx: click.Context,
    url: str,
    scenario: str | None,
    drop: str | None,
    rise: str | None,
    over: str,
    symbols: tuple[str, ...],
    as_written: bool,
) -> None:
    """Start a crash now in a running simulator (POST /_sim/crash).

    Without options every symbol falls 30 % over 60 s of market time; --scenario starts a
    scenario's price paths instead (from the current prices).
    """
    over_given = ctx.get_parameter_source("over") is not click.core.ParameterSource.DEFAULT
    if scenario is not None and over_given:
        raise click.UsageError("--over sets the length of --drop / --rise; a scenario has its own")
    if scenario is None and as_written:
        raise click.UsageError("--as-written applies to --scenario only")
    body = crash_body(scenario, drop, rise, over, symbols, as_written)
    transport = ctx.find_object(httpx.AsyncBaseTransport)

    async def run() -> dict[str, object]:
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=10) as client:
            return await request_crash(client, body)

    click.echo(describe(asyncio.run(run())))
