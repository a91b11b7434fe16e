"""riskd.preflight in-process: failed journal opens leave no thread, the run lock, one-line
errors."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from riskd.daemon.journal import Journal, JournalOpenError
from riskd.preflight import (
    EX_CONFIG,
    EX_IOERR,
    EX_TEMPFAIL,
    JournalLock,
    StartupError,
    config_error,
    journal_error,
)
from riskd.settings import ConfigError, load_settings


async def test_failed_open_leaves_no_worker_thread(tmp_path: Path) -> None:
    """A journal of random bytes: Journal.open raises JournalOpenError and the aiosqlite
    worker thread it started is gone (nothing keeps the process alive)."""
    path = tmp_path / "j.sqlite3"
    path.write_bytes(os.urandom(8192))
    before = set(threading.enumerate())
    with pytest.raises(JournalOpenError) as info:
        await Journal.open(path)
    for t in set(threading.enumerate()) - before:
        t.join(timeout=2)
        assert not t.is_alive(), t
    err = journal_error(path, info.value)
    assert err.exit_code == EX_IOERR and "corrupt" in err.line() and str(path) in err.line()


async def test_journal_path_that_is_a_directory(tmp_path: Path) -> None:
    """A directory where the journal should be is named as such (exit 74)."""
    with pytest.raises(JournalOpenError) as info:
        await Journal.open(tmp_path)
    err = journal_error(tmp_path, info.value)
    assert err.exit_code == EX_IOERR and "is a directory" in err.line()


def test_second_lock_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    """While one JournalLock holds a journal, another is refused (exit 75, naming the pid);
    once released, it can be taken."""
    journal = tmp_path / "journal.sqlite3"
    first = JournalLock(journal).acquire()
    try:
        with pytest.raises(StartupError) as info:
            JournalLock(journal).acquire()
        assert info.value.exit_code == EX_TEMPFAIL
        assert f"pid {os.getpid()}" in info.value.line() and str(journal) in info.value.line()
    finally:
        first.release()
    with JournalLock(journal):
        pass


def test_multi_line_config_error_becomes_one_line(tmp_path: Path) -> None:
    """A config with two bad keys: one line naming the file and both keys, exit 78."""
    config = tmp_path / "riskd.toml"
    config.write_text("[poll]\ninterval = 'soon'\nfast_interval = 'later'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    err = config_error(info.value)
    line = err.line()
    assert err.exit_code == EX_CONFIG and "\n" not in line
    assert str(config) in line and "poll.interval" in line and "poll.fast_interval" in line
