"""`riskd run` as a cluster node, started wrong: a PostgreSQL or Redis that does not answer,
or a node id already in use — one line naming it (never a password), a documented exit
code, no traceback, no hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from riskd.cluster.keeper import LeaseKeeper
from riskd.preflight import EX_TEMPFAIL, EX_UNAVAILABLE
from tests.realservers import Redis, free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RISKD = [sys.executable, "-m", "riskd.cli.main"]
EXIT_WITHIN = 30.0
PASSWORD = "s3cret-Pw-41"


def _config(tmp: Path, journal_url: str, *, node_id: str = "n1", budget: str = "memory://") -> Path:
    path = tmp / "riskd.toml"
    path.write_text(
        f"""
base_url = "http://127.0.0.1:{free_port()}"
journal_path = "{tmp / "state" / "journal.sqlite3"}"
journal_url = "{journal_url}"
rules_dir = "{REPO / "rules"}"
[cluster]
node_id = "{node_id}"
lease = "3s"
[budget]
storage_uri = "{budget}"
[metrics]
enabled = false
[prices]
enabled = false
[accounts.main]
api_key = "k"
api_secret = "s"
api_passphrase = "p"
""",
        encoding="utf-8",
    )
    return path


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RISKD, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN,
        cwd=config.parent,
    )


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("riskd: ")]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_postgresql_that_does_not_answer(tmp_path: Path) -> None:
    """journal_url to a closed port: exit 69, the line names host:port/db, not the password."""
    port = free_port()
    proc = _run(_config(tmp_path, f"postgresql://riskd:{PASSWORD}@127.0.0.1:{port}/riskd"))
    line = _one_line(proc)
    assert proc.returncode == EX_UNAVAILABLE, proc.stderr
    assert f"127.0.0.1:{port}/riskd" in line and "journal_url" in line


def test_redis_that_does_not_answer(tmp_path: Path, pg_url: str) -> None:
    """budget.storage_uri to a closed port: exit 69 naming redis://host:port/db."""
    port = free_port()
    config = _config(tmp_path, pg_url, budget=f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    proc = _run(config)
    line = _one_line(proc)
    assert proc.returncode == EX_UNAVAILABLE, proc.stderr
    assert f"127.0.0.1:{port}" in line and "budget.storage_uri" in line


async def test_a_second_node_with_a_live_node_id_refuses_to_start(
    tmp_path: Path, pg_url: str, redis_server: Redis
) -> None:
    """Node id n1 is live (another process): a second `riskd run` as n1 exits 75 at once."""
    live = LeaseKeeper(pg_url, "n1", ["main"], 10, 30.0, run_in_background=False)
    await live.start()
    try:
        proc = _run(_config(tmp_path, pg_url, budget=redis_server.url))
        line = _one_line(proc)
        assert proc.returncode == EX_TEMPFAIL, proc.stderr
        assert "n1" in line and "node_id" in line
        assert live.owns("main"), "the live node keeps its account"
    finally:
        await live.stop()
