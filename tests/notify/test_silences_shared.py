"""Silences on the cluster's PostgreSQL journal (real server, tests/realservers.py): one
silence, added on any node or from any machine, holds on every node; errors are one line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from riskd.cli.main import cli
from riskd.clock import ManualClock
from riskd.notify.matchers import parse_matchers
from riskd.notify.notifier import Notifier
from riskd.notify.recorder import MemoryRecorder
from riskd.notify.silence_store import SilenceStore
from tests.notify.test_silences import T0, fake_settings
from tests.realservers import free_port, pg_url, postgres

__all__ = ["pg_url", "postgres"]  # the fixtures


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "riskd.toml"
    path.write_text(f'journal_url = "{url}"\n[accounts.main]\n')
    return path


async def test_a_silence_added_on_one_node_is_seen_by_another(pg_url: str) -> None:
    """Two stores on one database (two nodes): added on one, listed and expired on the other."""
    a = await SilenceStore.open(pg_url)
    b = await SilenceStore.open(pg_url)
    try:
        made = await a.add(
            parse_matchers(["account=main"]), starts_at=T0, ends_at=T0 + 60, comment="deploy"
        )
        seen = await b.active(T0 + 1)
        assert [s.id for s in seen] == [made.id]
        assert seen[0].comment == "deploy" and seen[0].describe() == made.describe()
        await b.expire(made.id[:5], T0 + 2)
        assert await a.active(T0 + 3) == []
        assert (await a.all())[0].expired_at == T0 + 2
    finally:
        await a.close()
        await b.close()


async def test_every_nodes_notifier_suppresses_a_shared_silence(
    pg_url: str, alert: Any, fakes_cls: Any, until: Any
) -> None:
    """A silence written once to the shared journal suppresses the alert on both notifiers."""
    writer = await SilenceStore.open(pg_url)
    await writer.add(parse_matchers(["account=main"]), starts_at=T0, ends_at=T0 + 600)
    await writer.close()
    stores: list[SilenceStore] = []
    notifiers: list[tuple[Notifier, MemoryRecorder]] = []
    try:
        for _ in range(2):
            store = await SilenceStore.open(pg_url)
            stores.append(store)
            clock = ManualClock(T0 + 5)
            recorder = MemoryRecorder()
            notifier = Notifier(
                fake_settings(), clock, recorder, channel_factory=fakes_cls(clock),
                silence_store=store,
            )  # fmt: skip
            await notifier.start()
            notifiers.append((notifier, recorder))
        for notifier, recorder in notifiers:
            assert notifier.status().silences == 1
            notifier.submit(alert(1))
            await until(lambda r=recorder: len(r.outcomes("suppressed")) == 1)
    finally:
        for notifier, _ in notifiers:
            await notifier.stop(timeout=1)
        for store in stores:
            await store.close()


def test_cli_silence_on_journal_url(pg_url: str, tmp_path: Path) -> None:
    """`riskd silence add|list|expire --config` with journal_url work on the shared table."""
    config = _config(tmp_path, pg_url)
    runner = CliRunner()
    args = ["--config", str(config)]
    added = runner.invoke(cli, ["silence", "add", *args, "--matcher", "account=main"])
    assert added.exit_code == 0, added.output
    silence_id = added.output.split()[0]

    async def active() -> list[str]:
        async with await SilenceStore.open(pg_url) as store:
            return [s.id for s in await store.active(time.time())]

    assert asyncio.run(active()) == [silence_id]
    listed = runner.invoke(cli, ["silence", "list", *args])
    assert listed.exit_code == 0 and silence_id in listed.output
    done = runner.invoke(cli, ["silence", "expire", *args, silence_id])
    assert done.exit_code == 0, done.output
    assert asyncio.run(active()) == []


def test_cli_silence_unreachable_database_is_one_line(tmp_path: Path) -> None:
    """A PostgreSQL that does not answer: exit 69, one line naming host:port/db, no password."""
    port = free_port()
    config = _config(tmp_path, f"postgresql://riskd:s1lence-pw@127.0.0.1:{port}/riskdb")
    result = CliRunner().invoke(cli, ["silence", "list", "--config", str(config)])
    assert result.exit_code == 69, result.output
    assert f"127.0.0.1:{port}/riskdb" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "s1lence-pw" not in result.output and "Traceback" not in result.output
