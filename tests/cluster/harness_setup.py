"""The cluster harness's set-up (tests/cluster/harness.py): the simulated accounts, the
simulator's scenario and keys, and each node's settings file.

The accounts (:func:`account_specs`) cycle through :data:`TEMPLATES`: isolated and cross longs
on BTC, ETH and SOL, 2.9x to 5x; the harness's crash (every symbol -30 % over 60 s)
liquidates every one of them when nobody acts (tests/cluster/test_three_nodes.py proves it
in process).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RISKD = REPO / ".venv" / "bin" / "riskd"
RULES_DIR = REPO / "rules"
N_ACCOUNTS = 30
#: The crash of the acceptance tests: every symbol -30 % in a straight line.
CRASH_CHANGE = "-0.30"
CRASH_OVER_S = 60.0
START_TIMEOUT_S = 60.0
#: Environment variables a node must not inherit (they would override its settings file).
_SCRUB = ("RISKD_", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY")


# ---------------------------------------------------------------------------- accounts
@dataclass(frozen=True, slots=True)
class AccountSpec:
    """One simulated account: its funding and position (scenario TOML) and what riskd watches."""

    name: str
    funding: str
    position: str
    cross: bool
    isolated: tuple[str, ...]


#: (funding, position, cross, isolated) templates, used in turn. Unprotected, a -30 % crash
#: over 75 s liquidates each of them between 49 s and 73 s.
TEMPLATES: tuple[tuple[str, str, bool, tuple[str, ...]], ...] = (
    (
        '{ isolated.BTCUSDT = { USDT = "2000" } }',
        '{ scope = "isolated:BTCUSDT", side = "long", leverage = "5" }',
        False,
        ("BTCUSDT",),
    ),
    (
        '{ cross = { USDT = "500", BTC = "0.1" } }',
        '{ scope = "cross", symbol = "BTCUSDT", side = "long", leverage = "2.9" }',
        True,
        (),
    ),
    (
        '{ isolated.ETHUSDT = { USDT = "2500" } }',
        '{ scope = "isolated:ETHUSDT", side = "long", leverage = "4" }',
        False,
        ("ETHUSDT",),
    ),
    (
        '{ cross = { USDT = "300", ETH = "1" } }',
        '{ scope = "cross", symbol = "ETHUSDT", side = "long", leverage = "2.9" }',
        True,
        (),
    ),
    (
        '{ isolated.SOLUSDT = { USDT = "1000" } }',
        '{ scope = "isolated:SOLUSDT", side = "long", leverage = "4" }',
        False,
        ("SOLUSDT",),
    ),
)


def account_specs(n: int = N_ACCOUNTS) -> tuple[AccountSpec, ...]:
    """``n`` accounts ``acc00``… cycling through :data:`TEMPLATES` (cross and isolated mixed)."""
    out = []
    for i in range(n):
        funding, position, cross, isolated = TEMPLATES[i % len(TEMPLATES)]
        out.append(AccountSpec(f"acc{i:02d}", funding, position, cross, isolated))
    return tuple(out)


def scenario_toml(accounts: Sequence[AccountSpec]) -> str:
    """The simulator's scenario: the markets and ``accounts``, prices held (no ``[paths]``)
    until :meth:`Harness.crash` asks for the crash."""
    lines = [
        'name = "cluster_accounts"',
        f'description = "{len(accounts)} leveraged accounts, prices held until a crash"',
        "seed = 19",
        "duration_s = 3600",
        "",
        "[markets]",
        'BTCUSDT = "30000"',
        'ETHUSDT = "2000"',
        'SOLUSDT = "100"',
        "",
    ]
    for a in accounts:
        lines += [
            "[[accounts]]",
            f'name = "{a.name}"',
            f"funding = {a.funding}",
            f"positions = [ {a.position} ]",
            "",
        ]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class SimCredentials:
    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)


def new_credentials(accounts: Sequence[AccountSpec]) -> dict[str, SimCredentials]:
    return {
        a.name: SimCredentials(
            "bg_" + secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(12)
        )
        for a in accounts
    }


# ---------------------------------------------------------------------------- settings
def _q(text: str) -> str:
    return json.dumps(text)  # a TOML basic string is a JSON string for these values


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What one node's settings file says besides the accounts."""

    node_id: str
    state_dir: Path
    metrics_port: int
    base_url: str
    poll: str = "1s"
    pg_url: str | None = None
    redis_url: str | None = None
    lease: str = "3s"
    max_accounts: int = N_ACCOUNTS


def node_settings(
    node: NodeConfig,
    accounts: Sequence[AccountSpec],
    creds: Mapping[str, SimCredentials],
) -> str:
    """A node's TOML settings (docs/configuration.md): every account, LIVE, shipped rules,
    every poll interval ``node.poll``; clustered when ``node.pg_url`` is set.

    Cluster keys used (issue 19): top-level ``journal_url``, ``[cluster]`` ``node_id``,
    ``lease``, ``max_accounts``; ``[budget]`` ``storage_uri``."""
    lines = [
        "live = true",
        f"base_url = {_q(node.base_url)}",
        f"rules_dir = {_q(str(RULES_DIR))}",
        f"journal_path = {_q(str(node.state_dir / 'journal.sqlite3'))}",
    ]
    if node.pg_url is not None:
        lines.append(f"journal_url = {_q(node.pg_url)}")
    lines += [
        "",
        "[poll]",
        f"interval = {_q(node.poll)}",
        f"fast_interval = {_q(node.poll)}",
        f"slow_interval = {_q(node.poll)}",
        "",
        "[metrics]",
        'host = "127.0.0.1"',
        f"port = {node.metrics_port}",
        "",
    ]
    if node.redis_url is not None:
        lines += ["[budget]", f"storage_uri = {_q(node.redis_url)}", ""]
    if node.pg_url is not None:
        lines += [
            "[cluster]",
            f"node_id = {_q(node.node_id)}",
            f"lease = {_q(node.lease)}",
            f"max_accounts = {node.max_accounts}",
            "",
        ]
    for a in accounts:
        c = creds[a.name]
        lines += [
            f"[accounts.{a.name}]",
            f"api_key = {_q(c.api_key)}",
            f"api_secret = {_q(c.secret)}",
            f"api_passphrase = {_q(c.passphrase)}",
            "live = true",
            f"cross = {'true' if a.cross else 'false'}",
            f"isolated = [{', '.join(_q(s) for s in a.isolated)}]",
            "discover_isolated = false",
            "",
        ]
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
