"""Start-up checks: every file riskd opens is checked before use, and what is wrong with it
becomes ONE line on stderr and a documented exit code (docs/operations.md#exit-codes).

:class:`StartupError` carries (subject, problem, hint, exit code); the CLI group
(:mod:`riskd.cli.main`) is the one place that prints it and exits. The helpers here turn
what the lower layers raise — :class:`~riskd.settings.ConfigError`,
:class:`~riskd.daemon.journal.JournalOpenError`, sqlite3 errors, the ops server's
:class:`~riskd.ops.server.OpsServerError` — into one. Exit codes follow ``sysexits.h``.

``riskd run`` also holds an exclusive advisory lock (``flock``) on ``<journal>.lock`` for its
whole life (:class:`JournalLock`): a second ``riskd run`` on the same journal is refused,
while ``status``, ``journal``, ``pause`` and ``resume`` keep working (they never take it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path
from types import TracebackType

from riskd.redact import redact

#: A server named in the configuration does not answer at start (PostgreSQL, Redis).
EX_UNAVAILABLE = 69
#: The input file does not exist (a journal for ``status``/``journal``/``pause``/``resume``).
EX_NOINPUT = 66
#: The journal cannot be created (its directory is missing and cannot be made, or read-only).
EX_CANTCREAT = 73
#: The journal cannot be read or written: a directory, read-only, corrupt, I/O error, full disk.
EX_IOERR = 74
#: Another ``riskd run`` holds the journal; try again once it has stopped.
EX_TEMPFAIL = 75
#: Configuration, credentials, rules or the metrics address cannot be used.
EX_CONFIG = 78

EXIT_CODES: dict[int, str] = {
    EX_UNAVAILABLE: "EX_UNAVAILABLE",
    EX_NOINPUT: "EX_NOINPUT",
    EX_CANTCREAT: "EX_CANTCREAT",
    EX_IOERR: "EX_IOERR",
    EX_TEMPFAIL: "EX_TEMPFAIL",
    EX_CONFIG: "EX_CONFIG",
}


class StartupError(Exception):
    """What stops riskd from starting: the file (or address) at fault, what is wrong with it,
    what to do, and the exit code. :meth:`line` is the one line printed on stderr."""

    def __init__(self, subject: str | Path | None, problem: str, hint: str, exit_code: int) -> None:
        if isinstance(subject, Path):
            subject = subject.absolute()
        self.subject = str(subject) if subject is not None else None
        self.problem = _one_line(problem)
        self.hint = _one_line(hint)
        self.exit_code = exit_code
        super().__init__(self.line())

    def line(self) -> str:
        head = f"{self.subject}: {self.problem}" if self.subject else self.problem
        tail = f"; {self.hint}" if self.hint else ""
        return redact(f"riskd: {head}{tail}")


def _one_line(text: str) -> str:
    """Multi-line messages (one problem per line) joined with '; '."""
    parts = [p.strip() for p in text.splitlines() if p.strip()]
    if not parts:
        return ""
    head, rest = parts[0], parts[1:]
    if not rest:
        return head
    sep = " " if head.endswith(":") else ": "
    return head + sep + "; ".join(rest)


# --- configuration ------------------------------------------------------------------------


def config_error(exc: Exception) -> StartupError:
    """A ConfigError (or BudgetConfigError) as a start-up error (exit 78)."""
    from riskd.settings import ConfigError

    message = str(exc)
    path = exc.path if isinstance(exc, ConfigError) else None
    hint = exc.hint if isinstance(exc, ConfigError) else ""
    if path is not None and message.startswith(f"{path}: "):
        message = message[len(f"{path}: ") :]
        return StartupError(path, message, hint, EX_CONFIG)
    return StartupError(None, message, hint or "fix it and start again", EX_CONFIG)


def ops_error(host: str, port: int, exc: Exception) -> StartupError:
    """The metrics/health endpoint could not listen (address in use…): exit 78."""
    text = str(exc).removeprefix("ops endpoint: ")
    return StartupError(
        f"metrics endpoint {host}:{port}",
        text,
        "set [metrics] port to a free port (or enabled = false), or stop what listens there",
        EX_CONFIG,
    )


# --- journal ------------------------------------------------------------------------------


def _journal_is_a_directory(path: Path) -> StartupError:
    return StartupError(
        path,
        "is a directory, not a journal file",
        "set journal_path to a file name in it, e.g. journal.sqlite3",
        EX_IOERR,
    )


def check_journal(path: Path, *, create: bool, write: bool) -> None:
    """Check the journal file before sqlite opens it.

    ``create``: ``riskd run`` may create it (and its directory); otherwise it must exist
    (66). ``write``: it is written (run, pause, resume), so it must be writable.
    """
    if path.is_dir():
        raise _journal_is_a_directory(path)
    if not path.exists():
        if not create:
            raise StartupError(
                path.absolute(),
                "no journal at this path (has `riskd run` run with it?)",
                _no_journal_hint(),
                EX_NOINPUT,
            )
        _check_creatable(path)
        return
    if not path.is_file():
        raise StartupError(path, "is not a regular file", "point journal_path at a file", EX_IOERR)
    if not os.access(path, os.R_OK):
        raise StartupError(
            path, "cannot read the journal: permission denied", _perm_hint(), EX_IOERR
        )
    if write and not os.access(path, os.W_OK):
        raise StartupError(path, "the journal is read-only for this user", _perm_hint(), EX_IOERR)
    if write and not os.access(path.parent, os.W_OK | os.X_OK):
        raise StartupError(
            path,
            f"its directory {path.parent} is read-only (sqlite needs its -wal and -shm files)",
            _perm_hint(),
            EX_IOERR,
        )


def _no_journal_hint() -> str:
    hint = "pass --journal PATH or the --config that riskd run uses"
    if not os.environ.get("STATE_DIRECTORY"):
        hint += (
            " ($STATE_DIRECTORY is not set here, so a journal_path left out of the config "
            "means ./riskd-state/journal.sqlite3)"
        )
    return hint


def _perm_hint() -> str:
    return (
        "run riskd as the user that owns the journal (sudo -u riskd riskd …) "
        "or fix the permissions of the file and its directory"
    )


def _check_creatable(path: Path) -> None:
    """The journal does not exist yet: its nearest existing parent must let us create it."""
    parent = path.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise StartupError(
            path,
            f"cannot create the journal: {parent} is not a directory",
            "set journal_path to a file in a directory",
            EX_CANTCREAT,
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StartupError(
            path,
            f"cannot create the journal: {parent} is not writable",
            "create the directory for the user riskd runs as (systemd: StateDirectory=) "
            "or set journal_path elsewhere",
            EX_CANTCREAT,
        )


#: sqlite's primary result codes (``sqlite_errorname`` without any extended suffix).
_CORRUPT = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
_READONLY = ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")


def journal_error(path: Path, exc: BaseException) -> StartupError:
    """An error from opening or using the journal (JournalOpenError, sqlite3.Error,
    OSError) as a start-up error with the right exit code."""
    cause: BaseException = getattr(exc, "cause", exc)
    if isinstance(cause, IsADirectoryError) or path.is_dir():
        return _journal_is_a_directory(path)
    if isinstance(cause, OSError):
        exists = path.exists()
        return StartupError(
            path,
            f"cannot {'open' if exists else 'create'} the journal: {cause.strerror or cause}",
            _perm_hint(),
            EX_IOERR if exists else EX_CANTCREAT,
        )
    name = str(getattr(cause, "sqlite_errorname", "") or "")
    base = "_".join(name.split("_")[:2])
    detail = str(cause)
    if base in _CORRUPT:
        return StartupError(
            path,
            f"not a riskd journal or corrupt ({detail})",
            "restore it from a backup (docs/operations.md#backups), or move it aside to start "
            "a new one after checking the exchange's records of the last actions",
            EX_IOERR,
        )
    if base in _READONLY:
        return StartupError(path, f"the journal is read-only ({detail})", _perm_hint(), EX_IOERR)
    if base in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StartupError(
            path,
            f"the journal is locked ({detail})",
            "another process holds a write lock on it; try again in a moment",
            EX_TEMPFAIL,
        )
    if base == "SQLITE_FULL":
        return StartupError(
            path, f"disk full ({detail})", "free space on the journal's file system", EX_IOERR
        )
    if base == "SQLITE_CANTOPEN" and not path.exists():
        return StartupError(
            path,
            f"cannot create the journal ({detail})",
            "check that its directory exists and is writable by the user riskd runs as",
            EX_CANTCREAT,
        )
    return StartupError(path, f"cannot use the journal ({detail})", _perm_hint(), EX_IOERR)


def server_error(setting: str, problem: str, hint: str) -> StartupError:
    """A server named by ``setting`` (``journal_url``, ``budget.storage_uri``) that cannot be
    used at start; ``problem`` names it by host, port and database, never a password."""
    return StartupError(setting, problem, hint, EX_UNAVAILABLE)


def cluster_start_error(exc: BaseException) -> StartupError | None:
    """What stops a cluster node from starting, as one line; None for other errors."""
    from riskd.budget.config import BudgetStorageUnreachable
    from riskd.cluster.nodes import NodeIdInUse
    from riskd.cluster.pg import ClusterDatabaseError
    from riskd.daemon.journal_types import JournalOpenError

    if isinstance(exc, NodeIdInUse):
        return StartupError(
            "cluster.node_id",
            str(exc),
            "give every node its own cluster.node_id (or stop the other process first)",
            EX_TEMPFAIL,
        )
    if isinstance(exc, ClusterDatabaseError):
        return server_error("journal_url", str(exc), _PG_HINT)
    if isinstance(exc, JournalOpenError) and exc.server:
        return pg_journal_error(exc)
    if isinstance(exc, BudgetStorageUnreachable):
        return server_error(
            "budget.storage_uri",
            f"{exc.where}: {exc.problem}",
            "start Redis or correct budget.storage_uri (docs/budget-redis.md)",
        )
    return None


_PG_HINT = "start PostgreSQL or correct journal_url (host, port, database, user; docs/cluster.md)"

#: Problems with a PostgreSQL journal that waiting may cure (server down, overloaded).
_TRANSIENT = ("connection refused", "no answer in", "cannot connect", "too many", "shutting down")


def pg_journal_error(exc: Exception) -> StartupError:
    """A PostgreSQL journal (``JournalOpenError`` or ``JournalUnavailable``) that cannot be
    opened or reached, as one line naming the database (never the password): exit 69
    (EX_UNAVAILABLE) when the server is down or overloaded, 78 (EX_CONFIG) when the URL, the
    credentials or the database name are wrong."""
    from riskd.daemon.journal_types import JournalOpenError

    problem = exc.problem if isinstance(exc, JournalOpenError) else str(getattr(exc, "detail", exc))
    where = getattr(exc, "where", "PostgreSQL")
    if not isinstance(exc, JournalOpenError) or any(t in problem for t in _TRANSIENT):
        return StartupError(f"journal_url {where}", problem, _PG_HINT, EX_UNAVAILABLE)
    hint = "check journal_url: host, port, database name, user and password"
    return StartupError(f"journal_url {where}", problem, hint, EX_CONFIG)


def is_journal_error(exc: BaseException) -> bool:
    """Errors :func:`journal_error` knows how to word."""
    from riskd.daemon.journal import JournalOpenError

    return isinstance(exc, JournalOpenError | sqlite3.Error)


class JournalLock:
    """``riskd run``'s exclusive hold on a journal: ``flock`` on ``<journal>.lock``.

    The lock goes with the process (a ``kill -9`` releases it); the file holds the pid of the
    holder, for the message that refuses a second ``riskd run``.
    """

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.path = journal.with_name(journal.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> JournalLock:
        try:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            code = EX_IOERR if self.journal.exists() else EX_CANTCREAT
            raise StartupError(
                self.path,
                f"cannot create the journal's lock file: {exc.strerror}",
                "make the journal's directory writable by the user riskd runs as",
                code,
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StartupError(
                self.journal,
                f"in use by another riskd run{f' (pid {holder})' if holder else ''}",
                "stop it first (systemctl stop riskd), or give this one its own journal_path",
                EX_TEMPFAIL,
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StartupError(
                self.path, f"cannot lock the journal: {exc.strerror}", _perm_hint(), EX_IOERR
            ) from None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> JournalLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
