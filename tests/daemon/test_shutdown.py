"""SIGTERM stops riskd within seconds whatever the exchange does: the cycle in flight is
cancelled after a short grace, its intent stays open for the next start; a second signal
exits at once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.executor import AcceptedHook, ExecResult, Executor
from riskd.daemon.journal import OPEN_STATUSES, PENDING, Intent, Journal
from riskd.daemon.plans import ActionPlan
from riskd.daemon.service import Service
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier
from riskd.preflight import EX_TEMPFAIL

from .harness import flash_only_rules, make_world

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RISKD = [sys.executable, "-m", "riskd.cli.main"]
#: The promise under test: gone within this many seconds of SIGTERM.
STOP_WITHIN = 5.0


class NeverAnswers:
    """An exchange that takes the protective call and never answers it."""

    dry_run = False

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def execute(self, plan: ActionPlan, accepted: AcceptedHook) -> ExecResult:
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError("never answered")


async def test_stop_cancels_an_unanswered_action_and_leaves_its_intent_open(
    tmp_path: Path,
) -> None:
    """Stop asked while a flash repay waits for an answer that never comes: the service
    returns after its grace, the intent stays pending (for the next start to reconcile) and
    the journal records a clean stop saying the cycle was cancelled."""
    hanging: list[NeverAnswers] = []

    def wrap(name: str, ex: Executor) -> Executor:
        hanging.append(NeverAnswers())
        return hanging[0]

    world = await make_world(
        tmp_path,
        live=True,
        rules_dir=flash_only_rules(tmp_path),
        wrap_executor=wrap,
        top={"poll": {"fast_interval": "100ms", "interval": "100ms", "slow_interval": "100ms"}},
    )
    service = Service(
        world.built,
        config_path=None,
        clock=world.clock,
        metrics=Metrics(),
        systemd=SystemdNotifier({}),
        notifier=None,
        live_override=None,
        stop_grace=0.3,
    )
    task = asyncio.create_task(service.run())
    try:
        while service.health.last_tick is None:
            await asyncio.sleep(0.01)
        world.sim.control.set_price("BTCUSDT", D(21650))  # riskRate 0.92: escalate at once
        world.clock.advance(5)
        await asyncio.wait_for(hanging[0].entered.wait(), 10)
        service.stop_event.set()
        assert await asyncio.wait_for(task, STOP_WITHIN) == 0
    finally:
        if not task.done():
            task.cancel()
        await world.http.aclose()
    assert world.mutating_calls() == {}
    j = await Journal.open(world.settings.journal_path)
    try:
        intents = await j.intents()
        assert [r.status for r in intents] == [PENDING]
        assert await j.get_meta("running") is False
        stops = [e.summary for e in await j.events(kinds=("lifecycle",))]
        assert any("cycle in flight was cancelled" in s for s in stops), stops
    finally:
        await j.close()


# --- the real `riskd run` against an exchange that never answers ---------------------------


class BlackHole:
    """A loopback TCP server that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self._held:
            c.close()


class Stderr:
    """Collects a process's stderr lines as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        self._proc = proc
        self._stream = proc.stderr
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, text: str, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        with self._cond:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                gone = self._proc.poll() is not None and not self._thread.is_alive()
                assert left > 0 and not gone, f"no {text!r} in stderr:\n{self.text()}"
                self._cond.wait(min(left, 0.2))

    def text(self) -> str:
        return "".join(self.lines)

    def join(self) -> None:
        self._thread.join(timeout=5)
        self._stream.close()


@pytest.fixture
def hole() -> Iterator[BlackHole]:
    """An exchange that accepts connections and never answers."""
    h = BlackHole()
    yield h
    h.close()


def _config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "riskd.toml"
    config.write_text(
        f'base_url = "http://127.0.0.1:{port}"\n'
        f'journal_path = "{tmp_path / "journal.sqlite3"}"\n'
        f'rules_dir = "{REPO / "rules"}"\n'
        "[metrics]\nenabled = false\n[prices]\nenabled = false\n"
        # Each unanswered request holds the cycle for 30 s: only the stop can end it.
        '[poll]\nrequest_timeout = "30s"\n'
    )
    return config


def _env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RISKD_", "NOTIFY_"))}
    base.pop("STATE_DIRECTORY", None)
    base.pop("CREDENTIALS_DIRECTORY", None)
    return {
        **base,
        "RISKD_API_KEY": "bg_shutdown_test_key",
        "RISKD_API_SECRET": "shutdown-test-secret-0123456789",
        "RISKD_API_PASSPHRASE": "shutdown-test-passphrase",
        "RISKD_LOG_FORMAT": "json",
    }


def _start(config: Path) -> tuple[subprocess.Popen[str], Stderr]:
    proc = subprocess.Popen(
        [*RISKD, "run", "--config", str(config)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, Stderr(proc)


def _stop_within(proc: subprocess.Popen[str], err: Stderr, within: float) -> int:
    try:
        code = proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        err.join()
        pytest.fail(f"riskd run still running {within}s after SIGTERM:\n{err.text()}")
    err.join()
    return code


def _seed_open_intent(path: Path) -> None:
    async def go() -> None:
        j = await Journal.open(path)
        intent = Intent(
            "crash-1", time.time() - 5, "main", "cross", "repay", "r1", "a1",
            {"coin": "USDT", "amount": "5"}, "USDT", D(5), D(5),
        )  # fmt: skip
        await j.begin_intent(intent, "repay 5 USDT in main/cross")
        await j.set_meta("running", True)  # the process that sent it was killed
        await j.close()

    asyncio.run(go())


async def _open_intents(path: Path) -> list[str]:
    j = await Journal.open(path)
    try:
        return [r.intent.intent_id for r in await j.intents() if r.status in OPEN_STATUSES]
    finally:
        await j.close()


def test_sigterm_during_reconciliation_with_a_silent_exchange(
    tmp_path: Path, hole: BlackHole
) -> None:
    """`riskd run` reconciling an intent left by a crash, against an exchange that never
    answers: SIGTERM ends it within 5 s, exit 0, and the intent is still open for the next
    start to reconcile."""
    config = _config(tmp_path, hole.port)
    journal = tmp_path / "journal.sqlite3"
    _seed_open_intent(journal)
    proc, err = _start(config)
    try:
        err.wait_for("reconciling open intents")
        time.sleep(0.3)  # the reconciliation's call is on its way to the black hole
        proc.send_signal(signal.SIGTERM)
        code = _stop_within(proc, err, STOP_WITHIN)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        err.join()
    assert code == 0, err.text()
    assert "Traceback" not in err.text()
    assert asyncio.run(_open_intents(journal)) == ["crash-1"]


def test_sigterm_cancels_the_cycle_in_flight_and_a_second_run_is_refused(
    tmp_path: Path, hole: BlackHole
) -> None:
    """While `riskd run` polls an exchange that never answers, a second `riskd run` on the
    same journal is refused (exit 75, one line); SIGTERM then cancels the cycle in flight
    after the grace and the process exits 0 within 5 s."""
    config = _config(tmp_path, hole.port)
    proc, err = _start(config)
    try:
        err.wait_for("first cycle")
        second = subprocess.run(
            [*RISKD, "run", "--config", str(config)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=STOP_WITHIN,
            check=False,
        )
        assert second.returncode == EX_TEMPFAIL, second.stderr
        assert second.stderr.count("\n") == 1 and "in use by another riskd run" in second.stderr
        assert f"pid {proc.pid}" in second.stderr
        proc.send_signal(signal.SIGTERM)
        code = _stop_within(proc, err, STOP_WITHIN)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        err.join()
    assert code == 0, err.text()
    assert "cycle in flight did not end" in err.text()
    assert "Traceback" not in err.text()


def test_second_sigterm_exits_at_once(tmp_path: Path, hole: BlackHole) -> None:
    """A second SIGTERM while riskd waits for the cycle in flight exits at once with
    128 + SIGTERM, after logging it."""
    config = _config(tmp_path, hole.port)
    proc, err = _start(config)
    try:
        err.wait_for("first cycle")
        proc.send_signal(signal.SIGTERM)
        err.wait_for("waiting up to")
        proc.send_signal(signal.SIGTERM)
        code = _stop_within(proc, err, STOP_WITHIN)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        err.join()
    assert code == 128 + signal.SIGTERM, err.text()
    assert "SIGTERM received again: exiting at once" in err.text()
