"""A full disk under the journal, on a real small tmpfs: said once and loudly, protection
goes on in the reserve, and no action ever leaves without its intent on disk.

Mounting a tmpfs needs root (CI runs as root); elsewhere these tests are skipped with the
reason. The reserve and the degraded mode are described in riskd.daemon.journal_space.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from riskd.daemon.journal import SUCCEEDED, Intent, Journal
from riskd.daemon.journal_space import JournalFull, SpaceEvent
from riskd.notify.alert import EVERY_ROUTE
from riskd.settings import Settings

from .harness import crash, make_world

RESERVE = 1024 * 1024


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "fs"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(where: Path) -> Path:
    """Fill the file system under ``where`` to the last byte."""
    filler = where / "filler"
    with filler.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return filler


def intent(n: int) -> Intent:
    return Intent(f"i{n}", float(n), "alice", "cross", "repay", "r", f"a{n}")


async def test_full_disk_releases_the_reserve_and_keeps_intents(small_fs: Path) -> None:
    """The first write that meets a full disk frees the reserve (said once); intents go on
    being journaled while chatty events are skipped; with space back, all is normal again."""
    journal = await Journal.open(small_fs / "journal.sqlite3")
    heard: list[tuple[SpaceEvent, str]] = []
    try:
        journal.space.configure(RESERVE, lambda event, detail: heard.append((event, detail)))
        assert journal.space.ensure_reserve()
        filler = fill(small_fs)
        n = 0
        while not journal.space.full:  # the cache absorbs a few writes before the disk says so
            n += 1
            await journal.begin_intent(intent(n), f"intent {n}")
            assert n < 10_000
        assert [e for e, _ in heard] == [SpaceEvent.FULL]
        assert "disk" in heard[0][1] and "reserve" in heard[0][1]
        assert not journal.space.reserve.exists()
        for k in range(n + 1, n + 20):
            await journal.begin_intent(intent(k), f"intent {k}")
            assert await journal.record("decision", "chatty", at=float(k)) is False
        ids = {r.intent.intent_id for r in await journal.intents()}
        assert {f"i{k}" for k in range(1, n + 20)} <= ids, "no intent lost"
        assert journal.space.skipped >= 19
        assert [e for e, _ in heard] == [SpaceEvent.FULL], "said once"
        filler.unlink()
        journal.space.check()
        assert [e for e, _ in heard] == [SpaceEvent.FULL, SpaceEvent.RECOVERED]
        assert journal.space.reserve.exists() and not journal.space.full
        assert await journal.record("decision", "chatty again", at=1e6) is True
    finally:
        await journal.close()


async def test_no_room_even_in_the_reserve_refuses_the_intent(small_fs: Path) -> None:
    """With the reserve used up as well, an intent cannot be written: JournalFull, so that
    the action is not sent; the journal still reads."""
    journal = await Journal.open(small_fs / "journal.sqlite3")
    try:
        journal.space.configure(0, None)  # no reserve at all
        fill(small_fs)
        with pytest.raises(JournalFull) as caught:
            for n in range(1, 10_000):
                await journal.begin_intent(intent(n), f"intent {n}")
        assert "disk full" in str(caught.value)
        written = await journal.intents()
        assert caught.value.what.split()[-1] not in {r.intent.intent_id for r in written}
    finally:
        await journal.close()


@pytest.mark.slow
async def test_daemon_protects_through_a_full_disk(tmp_path: Path, small_fs: Path) -> None:
    """A live daemon whose journal disk fills up before a crash: one critical alert on every
    route, the ladder still acts (its intents journaled in the reserve), no liquidation,
    and every call has its intent."""
    world = await make_world(
        tmp_path,
        live=True,
        top={"journal_path": str(small_fs / "journal.sqlite3"), "journal_reserve": "1536KiB"},
    )
    try:
        assert isinstance(world.settings, Settings)
        fill(small_fs)
        await crash(world, "BTCUSDT", D(30000), D(19000), D(100), 1.0)
        assert world.sim.stats.liquidations == 0
        full = [a for a in world.sink.alerts if "disk full" in a.title]
        assert len(full) == 1, [a.title for a in world.sink.alerts]
        assert EVERY_ROUTE in full[0].tags
        journal = world.daemon.journal
        assert journal.space.full
        done = [r for r in await journal.intents() if r.status == SUCCEEDED]
        assert done, "the ladder acted while the disk was full"
        assert sum(world.mutating_calls().values()) == len(await journal.intents())
    finally:
        await world.close()
