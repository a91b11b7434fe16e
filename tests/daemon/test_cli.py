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
    assert doc["accounts"]["alice"]["scopes"]["cross"]["risk_rate"] == "0.5"


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
