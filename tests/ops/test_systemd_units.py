"""The systemd units: required directives by reading them, and `systemd-analyze verify`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from riskd.ops.server import DEFAULT_MAX_TICK_AGE, DEFAULT_PORT

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
SERVICE = SYSTEMD_DIR / "riskd.service"
TEMPLATE = SYSTEMD_DIR / "riskd@.service"
EXAMPLE = SYSTEMD_DIR / "riskd.toml.example"
ANALYZE = shutil.which("systemd-analyze")

CREDENTIALS = {"api_key", "api_secret", "api_passphrase", "notify_urls"}

#: Directive → value both units must carry exactly.
REQUIRED = {
    "Type": "notify",
    "NotifyAccess": "main",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "Restart": "always",
    "RestartSec": "5",
    "WatchdogSec": "30s",
    "TimeoutStopSec": "60",
    "StartLimitIntervalSec": "300",
    "StartLimitBurst": "10",
    "User": "riskd",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
}

#: Directives allowed to differ between riskd.service and riskd@.service.
INSTANCE_SPECIFIC = {
    "Description",
    "ExecStart",
    "SyslogIdentifier",
    "LoadCredential",
    "StateDirectory",
    "WorkingDirectory",
}


def _directives(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in order (keys may repeat)."""
    section, found = "", []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def _values(path: Path, key: str) -> list[str]:
    return [v for _, k, v in _directives(path) if k == key]


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "min": 60.0, "s": 1.0, "m": 60.0}
    for suffix, factor in units.items():
        if value.endswith(suffix) and value[: -len(suffix)].isdigit():
            return int(value[: -len(suffix)]) * factor
    return float(value)


@pytest.mark.parametrize("unit", [SERVICE, TEMPLATE], ids=lambda p: p.name)
def test_required_directives(unit: Path) -> None:
    """Both units carry notify type, watchdog, restart policy and the hardening list."""
    for key, expected in REQUIRED.items():
        values = _values(unit, key)
        assert values == [expected], f"{unit.name}: {key}= is {values}, expected [{expected!r}]"
    assert "@system-service" in _values(unit, "SystemCallFilter")
    assert any(v.startswith("/usr/bin/env riskd run --config ") for v in _values(unit, "ExecStart"))
    assert "RISKD_LOG_FORMAT=json" in _values(unit, "Environment")
    sections = {s for s, _, _ in _directives(unit)}
    assert sections == {"Unit", "Service", "Install"}


def test_credentials_are_the_four_documented_names() -> None:
    """LoadCredential= names api_key, api_secret, api_passphrase, notify_urls (per instance)."""
    for unit, base in (
        (SERVICE, "/etc/riskd/credentials/"),
        (TEMPLATE, "/etc/riskd/credentials/%i/"),
    ):
        entries = dict(v.split(":", 1) for v in _values(unit, "LoadCredential"))
        assert set(entries) == CREDENTIALS
        assert entries == {name: base + name for name in CREDENTIALS}


def test_template_is_per_instance() -> None:
    """riskd@NAME reads /etc/riskd/NAME.toml and keeps state in /var/lib/riskd/NAME."""
    assert _values(TEMPLATE, "ExecStart") == ["/usr/bin/env riskd run --config /etc/riskd/%i.toml"]
    assert _values(TEMPLATE, "StateDirectory") == ["riskd/%i"]
    assert _values(SERVICE, "ExecStart") == [
        "/usr/bin/env riskd run --config /etc/riskd/riskd.toml"
    ]
    assert _values(SERVICE, "StateDirectory") == ["riskd"]


def test_units_differ_only_in_instance_specific_lines() -> None:
    """Hardening and lifecycle settings cannot drift apart between the two units."""

    def common(unit: Path) -> list[tuple[str, str, str]]:
        return [d for d in _directives(unit) if d[1] not in INSTANCE_SPECIFIC]

    assert common(SERVICE) == common(TEMPLATE)


def test_watchdog_covers_the_example_poll_interval_and_health_limit() -> None:
    """WatchdogSec >= 2 x the example's poll interval, and equals the /healthz default limit."""
    example = tomllib.loads(EXAMPLE.read_text())
    watchdog = _seconds(_values(SERVICE, "WatchdogSec")[0])
    assert watchdog >= 2 * _seconds(example["poll"]["interval"])
    assert watchdog == DEFAULT_MAX_TICK_AGE


def test_example_config_loads_with_the_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd/riskd.toml.example is accepted by riskd's settings loader as it is."""
    settings_module = pytest.importorskip("riskd.settings")
    for name in [n for n in os.environ if n.startswith("RISKD_") or n == "CREDENTIALS_DIRECTORY"]:
        monkeypatch.delenv(name)
    settings = settings_module.load_settings(EXAMPLE)
    assert settings.live is False
    assert (settings.metrics.host, settings.metrics.port) == ("127.0.0.1", DEFAULT_PORT)
    assert list(settings.accounts) == ["main"]


def test_example_config_sets_the_journal_path_the_unit_uses() -> None:
    """The example names the journal explicitly, inside the unit's StateDirectory, so that
    `riskd status/pause --config` from a shell (no $STATE_DIRECTORY) finds it."""
    example = tomllib.loads(EXAMPLE.read_text())
    state_dir = _values(SERVICE, "StateDirectory")[0]
    assert Path(example["journal_path"]) == Path("/var/lib") / state_dir / "journal.sqlite3"


# --- systemd-analyze verify -------------------------------------------------------------------


def _riskd_binary() -> str:
    candidate = Path(sys.executable).parent / "riskd"
    return str(candidate) if candidate.exists() else "/bin/true"


def _verify(unit_dir: Path, name: str) -> tuple[int, list[str]]:
    """Run verify; return its status and the diagnostics that concern our unit files."""
    assert ANALYZE is not None
    proc = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(unit_dir / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if str(unit_dir) in line or "riskd" in line
    ]
    return proc.returncode, ours


def _copy(unit: Path, tmp_path: Path, exec_binary: str | None = None) -> Path:
    """A copy whose ExecStart runs an existing binary instead of `/usr/bin/env riskd`."""
    text = unit.read_text().replace("/usr/bin/env riskd", exec_binary or _riskd_binary())
    target = tmp_path / unit.name
    target.write_text(text)
    return target


needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")


@pytest.mark.systemd
@needs_analyze
def test_service_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify riskd.service` passes with no diagnostics about it."""
    _copy(SERVICE, tmp_path)
    assert _verify(tmp_path, "riskd.service") == (0, [])


@pytest.mark.systemd
@needs_analyze
def test_template_instance_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify riskd@main.service` (from the template) passes cleanly."""
    _copy(TEMPLATE, tmp_path)
    assert _verify(tmp_path, "riskd@main.service") == (0, [])


@pytest.mark.systemd
@needs_analyze
def test_verify_catches_broken_units(tmp_path: Path) -> None:
    """The check above can fail: a missing binary fails verify; an unknown key is reported."""
    _copy(SERVICE, tmp_path, exec_binary="/nonexistent/riskd")
    status, _ = _verify(tmp_path, "riskd.service")
    assert status != 0

    broken = _copy(SERVICE, tmp_path)
    broken.write_text(broken.read_text().replace("[Service]\n", "[Service]\nWatchdogSecs=30\n"))
    status, diagnostics = _verify(tmp_path, "riskd.service")
    assert any("WatchdogSecs" in line for line in diagnostics)


def test_stop_grace_is_clearly_shorter_than_timeout_stop_sec() -> None:
    """The daemon gives up on the cycle in flight well before systemd's SIGKILL."""
    from riskd.daemon.service import STOP_GRACE_S

    for unit in (SERVICE, TEMPLATE):
        timeout = _seconds(_values(unit, "TimeoutStopSec")[0])
        assert timeout >= STOP_GRACE_S + 10, unit.name
