"""`riskd journal`, `status`, `pause`, `resume` on a journal database."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from pathlib import Path

from click.testing import CliRunner

from riskd.cli.main import cli
from riskd.daemon.journal import Intent, Journal


def _seed(path: Path) -> None:
    async def go() -> None:
        j = await Journal.open(path)
        await j.begin_intent(
            Intent(
                "i1",
                1_700_000_000.0,
                "alice",
                "cross",
                "repay",
                "r1",
                "a1",
                {"coin": "USDT", "amount": "5"},
                "USDT",
                D(5),
                D(5),
            ),
            "repay 5 USDT in alice/cross",
        )
        await j.finish_intent("i1", "succeeded", at=1_700_000_001.0, summary="repaid 5 USDT")
        await j.write_status(
            [
                (
                    "alice",
                    "cross",
                    {
                        "risk_rate": "0.5",
                        "warning_risk_ratio": "0.8",
                        "liquidation_risk_ratio": "1",
                        "data_age_s": 1.0,
                        "live": True,
                        "firing": ["r1"],
                    },
                )
            ],
            at=1_700_000_001.0,
        )
        await j.set_meta("daemon", {"pid": 1, "last_cycle_at": 1_700_000_001.0})
        await j.close()

    asyncio.run(go())


def test_journal_text_and_json(tmp_path: Path) -> None:
    """`riskd journal` prints the history; --json one object per line; --since filters."""
    path = tmp_path / "j.sqlite3"
    _seed(path)
    runner = CliRunner()
    out = runner.invoke(cli, ["journal", "--journal", str(path)])
    assert out.exit_code == 0, out.output
    assert "intent" in out.output and "repaid 5 USDT" in out.output
    out = runner.invoke(cli, ["journal", "--journal", str(path), "--json"])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [r["kind"] for r in rows] == ["intent", "outcome"]
    out = runner.invoke(cli, ["journal", "--journal", str(path), "--since", "1h"])
    assert out.exit_code == 0 and out.output == ""
    out = runner.invoke(cli, ["journal", "--journal", str(path), "--since", "yesterday"])
    assert out.exit_code != 0 and "duration" in out.output


def test_status_text_and_json(tmp_path: Path) -> None:
    """`riskd status` shows each scope's risk, firing rules and last action."""
    path = tmp_path / "j.sqlite3"
    _seed(path)
    runner = CliRunner()
    out = runner.invoke(cli, ["status", "--journal", str(path)])
    assert out.exit_code == 0, out.output
    assert "riskRate 0.5" in out.output and "firing: r1" in out.output
    out = runner.invoke(cli, ["status", "--journal", str(path), "--json"])
    doc = json.loads(out.output)
    assert doc["schema_version"] == 1
    (account,) = doc["accounts"]
    assert account["name"] == "alice" and account["scopes"][0]["risk_rate"] == "0.5"
    assert doc["recent_actions"] == [] or doc["recent_actions"][0]["status"] == "succeeded"


def test_pause_and_resume(tmp_path: Path) -> None:
    """pause/resume write the state the running daemon reads each cycle."""
    path = tmp_path / "j.sqlite3"
    _seed(path)
    runner = CliRunner()
    out = runner.invoke(cli, ["pause", "--journal", str(path), "--account", "alice"])
    assert out.exit_code == 0 and "paused for account alice" in out.output
    out = runner.invoke(cli, ["pause", "--journal", str(path)])
    out = runner.invoke(cli, ["resume", "--journal", str(path), "--account", "alice"])
    assert "still paused" in out.output
    out = runner.invoke(cli, ["resume", "--journal", str(path)])
    assert out.exit_code == 0

    async def read() -> tuple[bool, frozenset[str]]:
        j = await Journal.open(path)
        st = await j.pause_state()
        await j.close()
        return st.global_paused, st.accounts

    assert asyncio.run(read()) == (False, frozenset())


def test_missing_journal_is_clear(tmp_path: Path) -> None:
    """status on a journal that does not exist says so."""
    out = CliRunner().invoke(cli, ["status", "--journal", str(tmp_path / "nope.sqlite3")])
    assert out.exit_code != 0 and "no journal at" in out.output


def test_run_with_bad_config_names_key(tmp_path: Path) -> None:
    """`riskd run` with a bad config exits with the key named, before doing anything."""
    cfg = tmp_path / "riskd.toml"
    cfg.write_text("[poll]\ninterval = 'soon'\n")
    out = CliRunner().invoke(cli, ["run", "--config", str(cfg)])
    assert out.exit_code != 0 and "poll.interval" in out.output


def test_pause_refuses_missing_journal_and_creates_none(tmp_path: Path, monkeypatch) -> None:
    """pause/resume/status/journal without a journal fail naming the path; nothing is created."""
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "riskd.toml"
    config.write_text("live = false\n")
    runner = CliRunner()
    for args in (["pause"], ["resume"], ["status"], ["journal"]):
        out = runner.invoke(cli, [*args, "--config", str(config)])
        assert out.exit_code != 0, args
        assert str(tmp_path / "riskd-state" / "journal.sqlite3") in out.output
        assert "STATE_DIRECTORY" in out.output
    assert not (tmp_path / "riskd-state").exists()


def test_cli_finds_the_journal_riskd_run_uses(tmp_path: Path, monkeypatch) -> None:
    """With the same --config and environment, pause writes to riskd run's journal."""
    from riskd.cli.daemon import journal_path_for
    from riskd.settings import load_settings

    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    config = tmp_path / "riskd.toml"
    config.write_text("live = false\n")
    path = journal_path_for(config)
    assert path == load_settings(config).journal_path == state / "journal.sqlite3"
    _seed(path)
    out = CliRunner().invoke(cli, ["pause", "--config", str(config)])
    assert out.exit_code == 0, out.output

    async def read() -> bool:
        j = await Journal.open(path)
        try:
            return (await j.pause_state()).global_paused
        finally:
            await j.close()

    assert asyncio.run(read())


def _events(path: Path, n: int) -> None:
    async def go() -> None:
        j = await Journal.open(path)
        for i in range(n):
            await j.record("lifecycle", f"event {i}", at=1_700_000_000.0 + i)
        await j.record("risk_reading", "Bitget disagrees", at=1_700_000_100.0)
        await j.close()

    asyncio.run(go())


def test_journal_says_when_it_truncates(tmp_path: Path) -> None:
    """More events than --limit: the last ones are shown and stderr says how many of how many."""
    path = tmp_path / "j.sqlite3"
    _events(path, 1_234)
    out = CliRunner().invoke(cli, ["journal", "--journal", str(path), "--kind", "lifecycle"])
    assert out.exit_code == 0, out.output
    assert len(out.stdout.splitlines()) == 200 and "event 1233" in out.stdout.splitlines()[-1]
    assert out.stderr == ("showing the last 200 of 1,234 events; --limit or --since for more\n")
    out = CliRunner().invoke(cli, ["journal", "--journal", str(path), "--limit", "2000"])
    assert out.exit_code == 0 and out.stderr == "" and len(out.stdout.splitlines()) == 1_235


def test_journal_refuses_an_unknown_kind(tmp_path: Path) -> None:
    """An unknown --kind exits 2 listing the kinds; a kind this journal holds is accepted."""
    path = tmp_path / "j.sqlite3"
    _events(path, 1)
    out = CliRunner().invoke(cli, ["journal", "--journal", str(path), "--kind", "outcomes"])
    assert out.exit_code == 2
    assert "unknown event kind 'outcomes'" in out.output
    assert "outcome" in out.output and "liquidated" in out.output and "risk_reading" in out.output
    out = CliRunner().invoke(cli, ["journal", "--journal", str(path), "--kind", "risk_reading"])
    assert out.exit_code == 0 and "Bitget disagrees" in out.output


def test_pause_refuses_an_unknown_account(tmp_path: Path, monkeypatch) -> None:
    """pause/resume --account nosuch exit 2 listing the accounts, and pause nothing."""
    path = tmp_path / "j.sqlite3"
    _seed(path)
    runner = CliRunner()
    for command in ("pause", "resume"):
        out = runner.invoke(cli, [command, "--journal", str(path), "--account", "nosuch"])
        assert out.exit_code == 2, out.output
        assert "no account 'nosuch'" in out.output and "knows: alice" in out.output
    config = tmp_path / "riskd.toml"
    config.write_text(f"journal_path = '{path}'\n[accounts.main]\n[accounts.fund]\n")
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    out = runner.invoke(cli, ["pause", "--config", str(config), "--account", "alice"])
    assert out.exit_code == 2 and "configuration's accounts: fund, main" in out.output

    async def read() -> tuple[bool, frozenset[str], int]:
        j = await Journal.open(path)
        st = await j.pause_state()
        n = len(await j.events(kinds=["paused", "resumed"]))
        await j.close()
        return st.global_paused, st.accounts, n

    assert asyncio.run(read()) == (False, frozenset(), 0)
    out = runner.invoke(cli, ["pause", "--config", str(config), "--account", "fund"])
    assert out.exit_code == 0 and "paused for account fund" in out.output


def test_resume_takes_an_account_still_paused(tmp_path: Path) -> None:
    """An account paused before it left the journal's status can still be resumed."""
    path = tmp_path / "j.sqlite3"
    _seed(path)

    async def pause_gone() -> None:
        j = await Journal.open(path)
        await j.set_paused("gone", True, at=1.0)
        await j.close()

    asyncio.run(pause_gone())
    out = CliRunner().invoke(cli, ["resume", "--journal", str(path), "--account", "gone"])
    assert out.exit_code == 0 and "resumed for account gone" in out.output


def test_every_event_kind_is_documented() -> None:
    """Each EventKind has a row in the kinds table of docs/operations.md."""
    import re

    from riskd.daemon.events import EventKind

    page = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
    table = page.read_text(encoding="utf-8").split("Event kinds:", 1)[1].split("\n## ", 1)[0]
    rows = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([a-z_]+)`", line.split("|")[1])
    }
    assert {k.value for k in EventKind} - rows == set()
