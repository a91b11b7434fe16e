"""The daemon's settings in a demo, and where the shipped rules are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskd.demo.settings import demo_settings, find_rules_dir
from riskd.redact import redact
from riskd.settings import PollSettings
from riskd.sim.simulator import SimKeys

KEYS = {"main": SimKeys("bg_demo_key", "s3cr3t-demo-secret-value", "demo-passphrase-1", "main")}


def test_settings_are_live_and_ignore_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RISKD_* variables in the shell change nothing in a rehearsal (live, sim keys)."""
    monkeypatch.setenv("RISKD_LIVE", "false")
    monkeypatch.setenv("RISKD_API_KEY", "someone-elses-real-key")
    s = demo_settings(KEYS, tmp_path, tmp_path / "j.sqlite3", "http://sim", PollSettings())
    assert s.live and s.account_live("main")
    assert s.credentials("main").api_key.get_secret_value() == "bg_demo_key"
    assert s.account_rules_dir("main") == tmp_path
    assert not s.metrics.enabled


def test_secrets_are_registered(tmp_path: Path) -> None:
    """The simulated account's secret and passphrase are redacted from any text."""
    demo_settings(KEYS, tmp_path, tmp_path / "j.sqlite3", "http://sim", PollSettings())
    text = redact("secret s3cr3t-demo-secret-value passphrase demo-passphrase-1")
    assert "s3cr3t-demo-secret-value" not in text
    assert "demo-passphrase-1" not in text


def test_rules_dir_search_order(tmp_path: Path) -> None:
    """--rules wins; then ./rules; then the repository's rules beside the package."""
    explicit = tmp_path / "mine"
    explicit.mkdir()
    (explicit / "a.toml").write_text("", encoding="utf-8")
    assert find_rules_dir(explicit, cwd=tmp_path) == explicit
    local = tmp_path / "rules"
    local.mkdir()
    (local / "b.toml").write_text("", encoding="utf-8")
    assert find_rules_dir(None, cwd=tmp_path) == local
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    shipped = find_rules_dir(None, cwd=elsewhere)
    assert shipped.name in ("rules", "rules_builtin") and any(shipped.glob("*.toml"))


def test_rules_dir_without_rules_is_an_error(tmp_path: Path) -> None:
    """A --rules directory without rule files is refused, naming it."""
    with pytest.raises(FileNotFoundError, match=r"not a directory with \*\.toml"):
        find_rules_dir(tmp_path, cwd=tmp_path)
