"""SIGHUP reloads: the journal records what happened — `reload_failed` with the reason (and
the account whose rules were refused), `reload` only for a reload that was applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskd.daemon.journal import Event
from riskd.daemon.service import Service
from riskd.notify.alert import EVERY_ROUTE, AlertKind
from riskd.ops.metrics import Metrics
from riskd.ops.sdnotify import SystemdNotifier
from riskd.severity import Severity

from .harness import REPO_RULES, World, make_world

RELOAD_KINDS = ("reload", "reload_failed")


def _write_config(world: World, path: Path, *, rules_dir: Path, extra: str = "") -> None:
    keys = world.sim.keys("alice")
    path.write_text(
        f"live = true\n"
        f'base_url = "{extra or "http://sim"}"\n'
        f'journal_path = "{world.settings.journal_path}"\n'
        f'journal_reserve = "{int(world.settings.journal_reserve)}"\n'
        f'rules_dir = "{rules_dir}"\n'
        "[metrics]\nenabled = false\n"
        '[poll]\nflash_repay_timeout = "4s"\n'
        "[accounts.alice]\n"
        f'api_key = "{keys.api_key}"\n'
        f'api_secret = "{keys.secret}"\n'
        f'api_passphrase = "{keys.passphrase}"\n'
    )


def _service(world: World, config: Path) -> Service:
    return Service(
        world.built,
        config_path=config,
        clock=world.clock,
        metrics=Metrics(),
        systemd=SystemdNotifier({}),
        notifier=None,
        live_override=None,
    )


async def _reloads(world: World) -> list[Event]:
    return await world.daemon.journal.events(kinds=RELOAD_KINDS)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outer RISKD_* variable or credential directory changes what the reload reads."""
    import os

    for key in list(os.environ):
        if key.startswith("RISKD_") or key == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(key)


@pytest.mark.usefixtures("clean_env")
async def test_config_error_is_journaled_as_reload_failed(tmp_path: Path) -> None:
    """A config that is not valid TOML: the journal says `reload_failed` with the file and
    the reason, never `reload`; the running rules and dry-run stay."""
    world = await make_world(tmp_path, live=False)
    try:
        config = tmp_path / "riskd.toml"
        config.write_text("live = = true\n")
        acc = world.daemon.accounts["alice"]
        rules = acc.rules
        await _service(world, config).reload()
        events = await _reloads(world)
        assert [e.kind for e in events] == ["reload_failed"]
        assert str(config) in events[0].summary and "not valid TOML" in events[0].summary
        assert events[0].data["stage"] == "config" and events[0].data["path"] == str(config)
        assert acc.rules is rules and acc.dry_run
    finally:
        await world.close()


@pytest.mark.usefixtures("clean_env")
async def test_refused_rules_are_journaled_with_their_account(tmp_path: Path) -> None:
    """A valid config whose rules for account alice do not load: `reload_failed` naming
    alice and the rule problem; nothing applied (alice stays dry-run)."""
    world = await make_world(tmp_path, live=False)
    try:
        bad = tmp_path / "bad-rules"
        bad.mkdir()
        (bad / "x.toml").write_text('[[rule]]\nname = "x"\nwhen = "riskRat > 1"\n')
        config = tmp_path / "riskd.toml"
        _write_config(world, config, rules_dir=bad)
        await _service(world, config).reload()
        events = await _reloads(world)
        assert [e.kind for e in events] == ["reload_failed"]
        event = events[0]
        assert event.account == "alice" and event.data["account"] == "alice"
        assert event.data["stage"] == "rules" and "x.toml" in event.data["reason"]
        assert "rules of account alice were refused" in event.summary
        assert "reloaded" not in event.summary
        assert world.daemon.accounts["alice"].dry_run
    finally:
        await world.close()


@pytest.mark.usefixtures("clean_env")
async def test_only_an_applied_reload_is_journaled_as_reloaded(tmp_path: Path) -> None:
    """A good config is applied and journaled as `reload`; one that also changes a
    restart-only setting says what was kept until a restart."""
    world = await make_world(tmp_path, live=False)
    try:
        config = tmp_path / "riskd.toml"
        _write_config(world, config, rules_dir=REPO_RULES)
        service = _service(world, config)
        await service.reload()
        assert not world.daemon.accounts["alice"].dry_run
        _write_config(world, config, rules_dir=REPO_RULES, extra="http://elsewhere")
        await service.reload()
        events = await _reloads(world)
        assert [e.kind for e in events] == ["reload", "reload"]
        assert events[0].summary == "configuration and rules reloaded"
        assert "kept until a restart: base_url changed" in events[1].summary
    finally:
        await world.close()


@pytest.mark.usefixtures("clean_env")
async def test_safety_changes_of_a_reload_are_alerted_on_every_route(tmp_path: Path) -> None:
    """A refused reload, its all-clear and a switch to LIVE each reach people: RELOAD
    (critical, then all clear) and LIVE alerts, tagged for every route."""
    world = await make_world(tmp_path, live=False)
    try:
        config = tmp_path / "riskd.toml"
        bad = tmp_path / "bad-rules"
        bad.mkdir()
        (bad / "x.toml").write_text('[[rule]]\nname = "x"\nwhen = "riskRat > 1"\n')
        _write_config(world, config, rules_dir=bad)
        service = _service(world, config)
        await service.reload()
        _write_config(world, config, rules_dir=REPO_RULES)
        await service.reload()
        seen = [
            (a.kind, a.severity, a.title)
            for a in world.sink.alerts
            if a.kind in (AlertKind.RELOAD, AlertKind.LIVE)
        ]
        assert seen == [
            (AlertKind.RELOAD, Severity.CRITICAL, "configuration not reloaded (previous one kept)"),
            (AlertKind.RELOAD, Severity.WARNING, "configuration reloaded: all clear"),
            (
                AlertKind.LIVE,
                Severity.CRITICAL,
                "now LIVE: protective actions will be sent",
            ),
        ]
        assert all(
            EVERY_ROUTE in a.tags
            for a in world.sink.alerts
            if a.kind in (AlertKind.RELOAD, AlertKind.LIVE)
        )
        modes = await world.daemon.journal.events(kinds=["mode"])
        assert [e.account for e in modes] == ["alice"]
    finally:
        await world.close()
