"""Bad input at start: the real `riskd` CLI, one bad file at a time, through every command that
opens it — exit code, one line on stderr naming the file, no traceback, no hang."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from riskd.daemon.journal import Journal
from riskd.preflight import (
    EX_CANTCREAT,
    EX_CONFIG,
    EX_IOERR,
    EX_NOINPUT,
    EX_TEMPFAIL,
    JournalLock,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RISKD = [sys.executable, "-m", "riskd.cli.main"]
#: A hang is a failure: every command must be gone within this (seconds). Generous, as the
#: whole suite shares two cores with it (a start-up takes well under a second on its own).
EXIT_WITHIN = 20.0
READERS = ("status", "journal")
WRITERS = ("pause", "resume")
JOURNAL_COMMANDS = (*READERS, *WRITERS)
ALL = ("run", *JOURNAL_COMMANDS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _no_caps() -> list[str]:
    """A prefix that runs the command without root's power to ignore file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


@dataclass
class Setup:
    """One bad input: the files, the environment, and what each command must do."""

    tmp: Path
    journal: Path
    expect: dict[str, int]
    #: What the error line must name (a path or an address).
    names: str = ""
    env: dict[str, str] = field(default_factory=dict)
    config_text: dict[str, object] = field(default_factory=dict)
    config: Path | None = None
    no_caps: bool = False
    #: Extra arguments for `riskd check` (when it is in ``expect``).
    check_args: list[str] = field(default_factory=list)

    def write_config(self) -> Path:
        if self.config is None:
            self.config = self.tmp / "riskd.toml"
            lines = [
                f'base_url = "http://127.0.0.1:{_free_port()}"',
                f'journal_path = "{self.journal}"',
                f'rules_dir = "{self.config_text.get("rules_dir", REPO / "rules")}"',
                "[prices]",
                "enabled = false",
                "[metrics]",
            ]
            port = self.config_text.get("metrics_port")
            lines.append(f"port = {port}" if port else "enabled = false")
            self.config.write_text("\n".join(lines) + "\n")
        return self.config


def _seed(path: Path) -> None:
    async def go() -> None:
        j = await Journal.open(path)
        await j.record("lifecycle", "seeded", at=1.0)
        await j.close()

    asyncio.run(go())


def _base(tmp: Path) -> Setup:
    return Setup(tmp, tmp / "state" / "journal.sqlite3", {})


def corrupt_journal(tmp: Path) -> Setup:
    s = _base(tmp)
    s.journal.parent.mkdir()
    s.journal.write_bytes(bytes(range(256)) * 16)
    s.expect = dict.fromkeys(ALL, EX_IOERR)
    s.names = str(s.journal)
    return s


def journal_is_a_directory(tmp: Path) -> Setup:
    s = _base(tmp)
    s.journal.mkdir(parents=True)
    s.expect = dict.fromkeys(ALL, EX_IOERR)
    s.names = str(s.journal)
    return s


def read_only_journal(tmp: Path) -> Setup:
    s = _base(tmp)
    s.journal.parent.mkdir()
    _seed(s.journal)
    s.journal.chmod(0o444)
    # Reading a read-only journal works (status, journal); writing it is refused.
    s.expect = {"run": EX_IOERR, "pause": EX_IOERR, "resume": EX_IOERR, **dict.fromkeys(READERS, 0)}
    s.names, s.no_caps = str(s.journal), True
    return s


def read_only_journal_directory(tmp: Path) -> Setup:
    s = _base(tmp)
    s.journal.parent.mkdir()
    s.journal.parent.chmod(0o555)
    s.expect = {"run": EX_CANTCREAT, **dict.fromkeys(JOURNAL_COMMANDS, EX_NOINPUT)}
    s.names, s.no_caps = str(s.journal), True
    return s


def missing_journal(tmp: Path) -> Setup:
    s = _base(tmp)
    s.expect = dict.fromkeys(JOURNAL_COMMANDS, EX_NOINPUT)
    s.names = str(s.journal)
    return s


def _bad_config(content: bytes | None, *, directory: bool = False) -> Callable[[Path], Setup]:
    def make(tmp: Path) -> Setup:
        s = _base(tmp)
        s.config = tmp / "riskd.toml"
        if directory:
            s.config.mkdir()
        elif content is not None:
            s.config.write_bytes(content)
        s.expect = dict.fromkeys(ALL, EX_CONFIG)
        s.names = str(s.config)
        return s

    return make


config_not_utf8 = _bad_config(b'live = false\njournal_path = "\xff\xfe"\n')
config_not_toml = _bad_config(b"live = = false\n")
config_missing = _bad_config(None)
config_is_a_directory = _bad_config(None, directory=True)


def config_unreadable(tmp: Path) -> Setup:
    s = _base(tmp)
    config = s.write_config()
    config.chmod(0o000)
    s.expect = dict.fromkeys(ALL, EX_CONFIG)
    s.names, s.no_caps = str(config), True
    return s


def _creds(tmp: Path) -> Path:
    d = tmp / "credentials"
    d.mkdir()
    (d / "api_passphrase").write_text("passphrase-startup-test")
    return d


def credential_unreadable(tmp: Path) -> Setup:
    s = _base(tmp)
    d = _creds(tmp)
    (d / "api_secret").write_text("secret-startup-test-0123456789")
    (d / "api_secret").chmod(0o000)
    s.env = {"CREDENTIALS_DIRECTORY": str(d)}
    s.expect = dict.fromkeys(ALL, EX_CONFIG)
    s.names, s.no_caps = str(d / "api_secret"), True
    return s


def credential_not_utf8(tmp: Path) -> Setup:
    s = _base(tmp)
    d = _creds(tmp)
    (d / "api_key").write_bytes(b"\xff\xfekey")
    s.env = {"CREDENTIALS_DIRECTORY": str(d)}
    s.expect = dict.fromkeys(ALL, EX_CONFIG)
    s.names = str(d / "api_key")
    return s


def credentials_missing(tmp: Path) -> Setup:
    s = _base(tmp)
    gone = tmp / "no-credentials"
    s.env = {"CREDENTIALS_DIRECTORY": str(gone), "RISKD_API_KEY": ""}
    s.expect = {"run": EX_CONFIG}
    s.names = str(gone)
    return s


def rules_dir_missing(tmp: Path) -> Setup:
    s = _base(tmp)
    rules = tmp / "no-rules"
    s.config_text = {"rules_dir": rules}
    s.check_args = [str(rules)]
    s.expect = {"run": EX_CONFIG, "check": EX_CONFIG}
    s.names = str(rules)
    return s


def rule_file_not_utf8(tmp: Path) -> Setup:
    s = _base(tmp)
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "bad.toml").write_bytes(b'[[rule]]\nname = "\xff"\n')
    s.config_text = {"rules_dir": rules}
    s.check_args = [str(rules)]
    s.expect = {"run": EX_CONFIG, "check": EX_CONFIG}
    s.names = str(rules / "bad.toml")
    return s


def journal_locked(tmp: Path) -> Setup:
    s = _base(tmp)
    s.journal.parent.mkdir()
    _seed(s.journal)
    # Only a second `riskd run` is refused; the other commands work beside the running one.
    s.expect = {"run": EX_TEMPFAIL, **dict.fromkeys(JOURNAL_COMMANDS, 0)}
    s.names = str(s.journal)
    return s


def metrics_port_in_use(tmp: Path) -> Setup:
    s = _base(tmp)
    port = _free_port()
    s.config_text = {"metrics_port": port}
    s.expect = {"run": EX_CONFIG}
    s.names = f"127.0.0.1:{port}"
    return s


CASES = [
    corrupt_journal,
    journal_is_a_directory,
    read_only_journal,
    read_only_journal_directory,
    missing_journal,
    config_not_utf8,
    config_not_toml,
    config_missing,
    config_is_a_directory,
    config_unreadable,
    credential_unreadable,
    credential_not_utf8,
    credentials_missing,
    rules_dir_missing,
    rule_file_not_utf8,
    journal_locked,
    metrics_port_in_use,
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of every command: credentials set, nothing of the outer riskd."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RISKD_", "NOTIFY_"))}
    for k in ("STATE_DIRECTORY", "CREDENTIALS_DIRECTORY"):
        base.pop(k, None)
    return {
        **base,
        "RISKD_API_KEY": "bg_startup_test_key",
        "RISKD_API_SECRET": "startup-test-secret-0123456789",
        "RISKD_API_PASSPHRASE": "startup-test-passphrase",
        "RISKD_LOG_FORMAT": "json",
    }


@pytest.fixture
def restore_modes(tmp_path: Path) -> Iterator[None]:
    """Give every file back its permissions so that pytest can remove tmp_path."""
    yield
    for p in tmp_path.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


def _argv(command: str, setup: Setup) -> list[str]:
    if command == "check":
        return ["check", *setup.check_args]
    return [command, "--config", str(setup.write_config())]


def _invoke(argv: list[str], prefix: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [*prefix, *RISKD, *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN,
        check=False,
    )
    return done.returncode, done.stderr


@pytest.mark.usefixtures("restore_modes")
@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_is_one_line_and_an_exit(
    make: Callable[[Path], Setup], tmp_path: Path, env: dict[str, str]
) -> None:
    """Each command that opens the bad file exits with its documented code and exactly one
    line on stderr naming the file, without a traceback, within seconds; commands that may
    work (reading a read-only journal, status beside a running riskd) work."""
    work = tmp_path / "cwd"
    work.mkdir()
    setup = make(tmp_path)
    prefix = _no_caps() if setup.no_caps else []
    run_env = {**env, **setup.env}
    holders: list[object] = []
    if make is journal_locked:
        holders.append(JournalLock(setup.journal).acquire())
    if make is metrics_port_in_use:
        busy = socket.socket()
        busy.bind(("127.0.0.1", int(str(setup.config_text["metrics_port"]))))
        busy.listen()
        holders.append(busy)
    commands = sorted(setup.expect)
    try:
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            results = list(
                pool.map(
                    lambda c: _invoke(_argv(c, setup), prefix, run_env, work),
                    commands,
                )
            )
    finally:
        for h in holders:
            if isinstance(h, JournalLock):
                h.release()
            elif isinstance(h, socket.socket):
                h.close()
    for command, (code, stderr) in zip(commands, results, strict=True):
        where = f"{make.__name__}: riskd {command}"
        assert "Traceback" not in stderr, f"{where}: {stderr}"
        assert code == setup.expect[command], f"{where}: exit {code}: {stderr}"
        if code == 0:
            continue
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"{where}: {stderr}"
        assert lines[0].startswith("riskd: "), f"{where}: {lines[0]}"
        assert setup.names in lines[0], f"{where}: {lines[0]} does not name {setup.names}"
        assert "secret-0123456789" not in lines[0] and "test-passphrase" not in lines[0]
