"""``riskd cluster status`` against real PostgreSQL and Redis: text, JSON, bad URLs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
from click.testing import CliRunner

from riskd.bitget.endpoint_types import LimitScope
from riskd.bitget.endpoints import ALL_ENDPOINTS
from riskd.bitget.gate import Priority
from riskd.budget.budget import RateBudget
from riskd.budget.config import BudgetConfig
from riskd.cli.main import cli
from riskd.clock import WallClock
from riskd.cluster import leases, nodes
from riskd.cluster.status import parse_budget_key
from riskd.redact import redact
from tests.realservers import Postgres, Redis, free_port


async def _populate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await nodes.ensure_schema(conn)
        await nodes.register(conn, "node-a", "i1", 20, 30.0, host="ha", pid=101)
        await nodes.register(conn, "node-b", "i2", 20, 30.0, host="hb", pid=202)
        await leases.acquire_many(conn, ["acc1", "acc2"], "node-a", 30.0)
        await leases.acquire(conn, "acc3", "node-b", 30.0)
        await leases.release(conn, "acc3", "node-b", 1)
    finally:
        await conn.close()


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "riskd.toml"
    path.write_text(body)
    return path


def test_status_lists_nodes_owners_and_unowned(pg_url: str, tmp_path: Path) -> None:
    """Text status shows both nodes, the owner and token of each account, and the unowned."""
    asyncio.run(_populate(pg_url))
    config = _config(tmp_path, f'journal_url = "{pg_url}"\n[accounts.acc1]\n[accounts.acc4]\n')
    result = CliRunner().invoke(cli, ["cluster", "status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "node-a" in out and "ha:101" in out and "accounts 2/20" in out
    assert "node-b" in out and "accounts 0/20" in out
    assert "acc1" in out and "token 1" in out
    assert "unowned (2): acc3, acc4" in out
    assert "budget: n/a" in out


def test_status_json(pg_url: str) -> None:
    """--json gives nodes, leases and unowned accounts as JSON."""
    asyncio.run(_populate(pg_url))
    result = CliRunner().invoke(cli, ["cluster", "status", "--journal-url", pg_url, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [n["node_id"] for n in data["nodes"]] == ["node-a", "node-b"]
    assert data["nodes"][0]["accounts_held"] == 2 and data["nodes"][0]["alive"]
    held = {lease["account"]: lease["owner"] for lease in data["leases"] if lease["held"]}
    assert held == {"acc1": "node-a", "acc2": "node-a"}
    assert data["unowned"] == ["acc3"]
    assert data["budget"] is None


def test_empty_database_shows_no_nodes(pg_url: str) -> None:
    """A database without the cluster tables is an empty cluster, not an error."""
    result = CliRunner().invoke(cli, ["cluster", "status", "--journal-url", pg_url])
    assert result.exit_code == 0, result.output
    assert "none registered" in result.output


def test_unreachable_database_is_one_line_without_password(tmp_path: Path) -> None:
    """A closed port: exit 2, one line naming host:port/db, never the password."""
    url = f"postgresql://riskd:s3cret-pw@127.0.0.1:{free_port()}/riskdb"
    result = CliRunner().invoke(cli, ["cluster", "status", "--journal-url", url])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/riskdb" in lines[0]
    assert "s3cret-pw" not in result.output and "Traceback" not in result.output


def test_wrong_database_name_is_one_line(postgres: Postgres) -> None:
    """A database that does not exist: exit 2 and one line naming it."""
    url = postgres.url("no_such_db")
    result = CliRunner().invoke(cli, ["cluster", "status", "--journal-url", url])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "/no_such_db" in result.output and "does not exist" in result.output


def test_no_url_is_one_line(tmp_path: Path) -> None:
    """Without journal_url nor --journal-url: exit 2 saying what to set."""
    config = _config(tmp_path, "")
    result = CliRunner().invoke(cli, ["cluster", "status", "--config", str(config)])
    assert result.exit_code == 2
    assert "journal_url" in result.output and len(result.output.strip().splitlines()) == 1


def test_not_a_postgres_url_is_refused(tmp_path: Path) -> None:
    """A non-PostgreSQL URL given on the command line is refused in one line."""
    result = CliRunner().invoke(cli, ["cluster", "status", "--journal-url", "mysql://h/db"])
    assert result.exit_code == 2
    assert "postgresql://" in result.output and "Traceback" not in result.output


def test_budget_use_per_uid_is_read_from_redis(pg_url: str, redis_server: Redis) -> None:
    """Calls counted by a RateBudget on Redis show up per account and rule."""
    uid_endpoint = next(e for e in ALL_ENDPOINTS if e.scope is LimitScope.UID)

    async def spend() -> None:
        budget = RateBudget(WallClock(), BudgetConfig(storage_uri=redis_server.url))
        try:
            for _ in range(3):
                await budget.acquire_for("acc1", uid_endpoint, Priority.POLL)
        finally:
            await budget.aclose()

    asyncio.run(spend())
    asyncio.run(_populate(pg_url))
    args = ["cluster", "status", "--journal-url", pg_url, "--redis-url", redis_server.url]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    uses = [u for u in json.loads(result.output)["budget"] if u["account"] == "acc1"]
    assert any(u["used"] == 3 for u in uses), uses
    text = CliRunner().invoke(cli, args).output
    assert "budget per UID" in text and "acc1" in text


def test_unreachable_redis_makes_budget_na_without_failing(pg_url: str) -> None:
    """A Redis that does not answer: status still exits 0 with 'budget: n/a (…)'."""
    asyncio.run(_populate(pg_url))
    redis_url = f"redis://:r3dis-pw@127.0.0.1:{free_port()}/0"
    args = ["cluster", "status", "--journal-url", pg_url, "--redis-url", redis_url]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "budget: n/a (Redis 127.0.0.1:" in result.output
    assert "r3dis-pw" not in result.output


def test_budget_keys_other_than_uid_windows_are_ignored() -> None:
    """IP-scoped and polls-only windows are not per-UID budget use."""
    assert parse_budget_key("LIMITS:riskd/cross_repay/UID/acc1/1s") == ("cross_repay", "acc1", 1)
    assert parse_budget_key("LIMITS:riskd/cross_repay/UID/acc1/poll/1s") is None
    assert parse_budget_key("LIMITS:riskd/cross_repay/IP/local/1s") is None
    assert parse_budget_key("LIMITS:other/x/UID/a/1s") is None
    assert redact("nothing secret") == "nothing secret"
