"""``riskd api METHOD PATH [-f key=value ...]``: one signed call, its ``data`` as JSON.

Like ``gh api``: a way to check that a key works, and to look at what the exchange says,
before trusting the daemon with it::

    riskd api GET /api/v2/margin/crossed/account/risk-rate
    riskd api GET /api/margin/v1/cross/account/riskRate -f coin=USDT
    riskd api POST /isolated/account/queryFlashRepayStatus -f idList='["1","2"]'

PATH is a v2 path (``/api/v2/margin/...``, the live API) or a v1 one (``/api/margin/v1/...``,
decommissioned upstream, still served by the simulator); the client speaks the version of the
path. PATH may omit the ``/api/v2/margin`` or ``/api/margin/v1`` prefix (tried in that order)
and may carry a query string. ``-f`` values are text; a list parameter takes a JSON list (or
comma-separated values) and ``orderList`` a JSON list of orders. Credentials come from
``RISKD_API_KEY``, ``RISKD_API_SECRET`` (or ``RISKD_API_RSA_KEY_FILE``) and
``RISKD_API_PASSPHRASE``; the base URL from ``RISKD_BASE_URL``. Public endpoints need no
credentials.

Exit status: 0 with the JSON on stdout; 1 with ``error <code>: <message>`` on stderr when the
exchange refuses or cannot be reached; 2 for a bad command line (unknown path or parameter).
"""

from __future__ import annotations

import asyncio
import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import click
import httpx

from riskd.bitget.client import DEFAULT_BASE_URL, BitgetClient
from riskd.bitget.credentials import Credentials, CredentialsError
from riskd.bitget.endpoints import ALL_BY_ROUTE as BY_ROUTE
from riskd.bitget.endpoints import ALL_ENDPOINTS as ENDPOINTS
from riskd.bitget.endpoints import PREFIX, Endpoint
from riskd.bitget.endpoints_v2 import PREFIX_V2
from riskd.bitget.errors import RequestParamError, RiskdExchangeError
from riskd.clock import Clock


@dataclass(frozen=True)
class ApiDeps:
    """What the command talks through. Tests pass one as click's ``obj`` (a fake transport,
    a simulator's ASGI transport, a manual clock); by default it is the network and the wall.
    """

    transport: httpx.AsyncBaseTransport | None = None
    clock: Clock | None = None


def resolve_route(method: str, raw_path: str) -> tuple[Endpoint, list[tuple[str, str]]]:
    """The endpoint for METHOD PATH and the fields found in PATH's query string."""
    path, _, query = raw_path.partition("?")
    fields = parse_qsl(query, keep_blank_values=True)
    path = "/" + path.strip().lstrip("/")
    method = method.upper()
    candidates = [path] if path.startswith("/api/") else [PREFIX_V2 + path, PREFIX + path, path]
    for candidate in candidates:
        ep = BY_ROUTE.get((method, candidate))
        if ep is not None:
            return ep, fields
    for candidate in candidates:
        other = [e for e in ENDPOINTS if e.path == candidate]
        if other:
            raise click.BadParameter(
                f"{method} {candidate} is not an endpoint; {candidate} takes {other[0].method}",
                param_hint="PATH",
            )
    # Compare without the common prefix, which would make every path look alike.
    short = {e.path.removeprefix(PREFIX): e.path for e in ENDPOINTS}
    wanted = candidates[0].removeprefix(PREFIX)
    close = [short[p] for p in difflib.get_close_matches(wanted, sorted(short), n=5, cutoff=0.6)]
    hint = ("; did you mean: " + ", ".join(close)) if close else ""
    raise click.BadParameter(f"unknown endpoint path {path}{hint}", param_hint="PATH")


def parse_fields(ep: Endpoint, pairs: Sequence[tuple[str, str]]) -> dict[str, object]:
    """``key=value`` pairs as call parameters (JSON lists for list and order parameters)."""
    kinds = {p.name: p.kind for p in ep.params}
    out: dict[str, object] = {}
    for key, text in pairs:
        if key in out:
            raise click.BadParameter(f"{key} is given twice", param_hint="-f")
        kind = kinds.get(key)
        value: object = text
        if kind in ("list", "orders", "objects"):
            stripped = text.strip()
            if stripped.startswith(("[", "{")):
                try:
                    value = json.loads(stripped, parse_float=Decimal)
                except ValueError as exc:
                    raise click.BadParameter(
                        f"{key}: not valid JSON: {exc}", param_hint="-f"
                    ) from None
                if kind == "orders" and isinstance(value, dict):
                    value = [value]
            elif kind == "list":
                value = [v.strip() for v in stripped.split(",") if v.strip()]
        out[key] = value
    return out


def _split_field(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r} is not key=value", param_hint="-f")
    return key.strip(), value


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


async def _call(
    ep: Endpoint,
    params: dict[str, object],
    credentials: Credentials | None,
    base_url: str,
    deps: ApiDeps,
    timeout_s: float,
) -> Any:
    http = httpx.AsyncClient(transport=deps.transport) if deps.transport is not None else None
    try:
        async with BitgetClient(
            credentials,
            http=http,
            base_url=base_url,
            clock=deps.clock,
            timeout_s=timeout_s,
            api="v2" if ep.api == "v3" else ep.api,  # v3 signs like v2
        ) as client:
            return await client.call(ep, params)
    finally:
        if http is not None:
            await http.aclose()


@click.command(name="api")
@click.argument("method", type=click.Choice(["GET", "POST"], case_sensitive=False))
@click.argument("path")
@click.option(
    "-f",
    "--field",
    "fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="A request parameter (repeatable). Lists as JSON: -f idList='[\"1\"]'.",
)
@click.option(
    "--base-url",
    envvar="RISKD_BASE_URL",
    default=DEFAULT_BASE_URL,
    show_default=True,
    help="Exchange base URL (env RISKD_BASE_URL).",
)
@click.option("--timeout", "timeout_s", default=10.0, show_default=True, help="Seconds.")
@click.pass_context
def api(
    ctx: click.Context,
    method: str,
    path: str,
    fields: tuple[str, ...],
    base_url: str,
    timeout_s: float,
) -> None:
    """Make one signed call to the exchange and print its data as JSON."""
    deps = ctx.obj if isinstance(ctx.obj, ApiDeps) else ApiDeps()
    ep, query_fields = resolve_route(method, path)
    params = parse_fields(ep, [*query_fields, *(_split_field(f) for f in fields)])
    credentials: Credentials | None = None
    if ep.signed:
        try:
            credentials = Credentials.from_env()
        except CredentialsError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        data = asyncio.run(_call(ep, params, credentials, base_url, deps, timeout_s))
    except RequestParamError as exc:
        raise click.UsageError(str(exc)) from None
    except RiskdExchangeError as exc:
        status = f" (HTTP {exc.http_status})" if exc.http_status is not None else ""
        click.echo(f"error {exc.code or '-'}: {exc.msg}{status}", err=True)
        ctx.exit(1)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))
