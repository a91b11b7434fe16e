"""Real PostgreSQL and Redis servers on loopback for the cluster tests.

Each server runs from the distribution's binaries (Debian: ``postgresql``, ``redis-server``)
in a private temporary directory on a free loopback port, and is stopped at the end. When a
binary is missing the tests that need it are skipped, unless ``CI_REQUIRE_SERVERS=1`` (set by
``.ci/run``), where a missing server fails them: CI can never skip them silently.

PostgreSQL refuses to run as root; as root the cluster directory is handed to the
``postgres`` user (created by the Debian package) and the server runs as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRED = os.environ.get("CI_REQUIRE_SERVERS") == "1"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited at start:\n{log.read_text(errors='replace')[-2000:]}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in {START_TIMEOUT_S}s")


def pg_bindir() -> Path | None:
    """The newest PostgreSQL server's bin directory, or None when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("postgres")
    return Path(which).resolve().parent if which else None


def _missing(what: str) -> None:
    message = f"{what} is not installed (apt-get install -y postgresql redis-server)"
    if REQUIRED:
        pytest.fail(message + " and CI_REQUIRE_SERVERS=1")
    pytest.skip(message)


@dataclass
class Postgres:
    """A running PostgreSQL; :meth:`new_database` gives each test its own database."""

    port: int
    datadir: Path
    bindir: Path
    user: str
    proc: subprocess.Popen[bytes]
    _n: int = 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://riskd@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://riskd@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "riskd",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return out.stdout.decode()

    def stop(self) -> None:
        """Fast shutdown (SIGINT: connected clients are disconnected, not waited for)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def start_again(self) -> None:
        """Start the server again on the same port and data (after :meth:`stop`)."""
        self.proc = _spawn_postgres(self.bindir, self.datadir, self.port, self.user)
        _wait_port(self.port, self.proc, "postgres", self.datadir / "server.log")
        self._wait_queries()

    def _wait_queries(self) -> None:
        """The port answers before the server accepts logins: wait for a query."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.psql("SELECT 1")
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _as_user(user: str) -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _spawn_postgres(bindir: Path, datadir: Path, port: int, user: str) -> subprocess.Popen[bytes]:
    with open(datadir / "server.log", "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(datadir),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                str(datadir),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **_as_user(user),  # type: ignore[arg-type]
        )


def start_postgres(base: Path) -> Postgres:
    bindir = pg_bindir()
    if bindir is None:
        _missing("PostgreSQL")
        raise AssertionError("unreachable")
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    datadir = base / "pg"
    datadir.mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "riskd",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
        **_as_user(user),  # type: ignore[arg-type]
    )
    port = free_port()
    proc = _spawn_postgres(bindir, datadir, port, user)
    _wait_port(port, proc, "postgres", datadir / "server.log")
    pg = Postgres(port, datadir, bindir, user, proc)
    pg._wait_queries()
    return pg


@dataclass
class Redis:
    """A running redis-server; :meth:`stop` and :meth:`start_again` for outage tests."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start_again(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        with open(self.workdir / "redis.log", "ab") as log:  # the child keeps its own
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_port(self.port, self.proc, "redis-server", self.workdir / "redis.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def flush(self) -> None:
        cli = shutil.which("redis-cli")
        if cli:
            subprocess.run(
                [cli, "-p", str(self.port), "FLUSHALL"], check=True, capture_output=True, timeout=10
            )


def start_redis(base: Path) -> Redis:
    if shutil.which("redis-server") is None:
        _missing("redis-server")
    workdir = base / "redis"
    workdir.mkdir()
    r = Redis(free_port(), workdir)
    r.start_again()
    return r


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the session (each test takes ``pg_url``: its own database)."""
    base = Path(tempfile.mkdtemp(prefix="riskd-pg-"))
    pg = start_postgres(base)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """A fresh, empty database on the session's PostgreSQL."""
    return postgres.new_database()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A redis-server of this test's own (tests stop and start it)."""
    r = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield r
    finally:
        r.stop()
