"""`riskd status` on a journal: liveness, --json, --watch and its clean Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from riskd.cli.daemon import watch_status
from riskd.cli.main import cli
from riskd.daemon.journal import Journal
from riskd.daemon.status import pid_alive
from riskd.daemon.status_model import ScopeRow


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _journal(path: Path, *, pid: int, running: bool, cycle_age: float) -> None:
    now = time.time()

    async def go() -> None:
        j = await Journal.open(path)
        row = ScopeRow("main", "cross", live=False, risk_rate=Decimal("0.3"))
        await j.write_status([("main", "cross", row.to_record())], at=now - cycle_age)
        await j.set_meta("daemon", {"pid": pid, "last_cycle_at": now - cycle_age})
        await j.set_meta("running", running)
        await j.close()

    asyncio.run(go())


def test_pid_alive() -> None:
    """This process is alive; a reaped child is not."""
    assert pid_alive(os.getpid()) and not pid_alive(_dead_pid())


@pytest.mark.parametrize(
    ("running", "alive", "age", "first"),
    [
        (True, True, 2.0, "riskd running (pid {pid}), last cycle 2s ago"),
        (False, False, 90.0, "riskd NOT RUNNING (last seen 1m 30s ago; stopped cleanly)"),
        (True, False, 90.0, "riskd NOT RUNNING (last seen 1m 30s ago; pid {pid} gone"),
        (True, True, 90.0, "riskd NOT RESPONDING (pid {pid} alive, last cycle 1m 30s ago)"),
    ],
)
def test_status_says_whether_the_daemon_runs(
    tmp_path: Path, running: bool, alive: bool, age: float, first: str
) -> None:
    """The first line says running, not running (last seen …) or not responding."""
    path = tmp_path / "j.sqlite3"
    pid = os.getpid() if alive else _dead_pid()
    _journal(path, pid=pid, running=running, cycle_age=age)
    out = CliRunner().invoke(cli, ["status", "--journal", str(path)])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].startswith(first.format(pid=pid))
    doc = json.loads(CliRunner().invoke(cli, ["status", "--journal", str(path), "--json"]).output)
    expected = "running" if alive and age < 30 else "not_responding" if alive else "not_running"
    assert doc["daemon"]["state"] == expected and doc["daemon"]["pid"] == pid


def test_watch_and_json_do_not_mix(tmp_path: Path) -> None:
    """--watch with --json is a usage error (exit 2)."""
    path = tmp_path / "j.sqlite3"
    _journal(path, pid=os.getpid(), running=True, cycle_age=1)
    out = CliRunner().invoke(cli, ["status", "--journal", str(path), "--watch", "--json"])
    assert out.exit_code == 2 and "--watch and --json" in out.output


def test_watch_refreshes_the_view(tmp_path: Path) -> None:
    """--watch reads the journal again between views, sleeping one second each time."""
    path = tmp_path / "j.sqlite3"
    _journal(path, pid=os.getpid(), running=True, cycle_age=1)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    watch_status(path, 30.0, console=console, sleep=sleep, iterations=3)
    assert sleeps == [1.0, 1.0]
    assert "riskRate 0.3" in buffer.getvalue()


def test_watch_stops_cleanly_on_ctrl_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C during --watch ends it without a traceback and closes the journal."""
    path = tmp_path / "j.sqlite3"
    _journal(path, pid=os.getpid(), running=True, cycle_age=1)

    async def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    console = Console(file=io.StringIO(), force_terminal=False)
    watch_status(path, 30.0, console=console, sleep=interrupted)
    assert capsys.readouterr().err == "stopped watching\n"
