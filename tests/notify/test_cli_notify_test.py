"""``riskd notify-test``: a test alert through every route, per-URL results, exit status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from riskd.cli.main import cli


def test_all_ok_exits_zero(http_sink: Any, tmp_path: Path) -> None:
    """With a [notify] file and RISKD_NOTIFY_URLS, every URL gets the test and reports ok."""
    config = tmp_path / "riskd.toml"
    config.write_text(
        f'[notify]\n[[notify.routes]]\nname = "hook"\nurls = ["json://127.0.0.1:{http_sink.port}/a"]\n'
    )
    env = {"RISKD_NOTIFY_URLS": f"json://127.0.0.1:{http_sink.port}/b"}
    result = CliRunner().invoke(cli, ["notify-test", "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["hook[0]", "json://***", "ok"]
    assert lines[1].split() == ["env[0]", "json://***", "ok"]
    assert lines[2] == "2 of 2 URL(s) ok"
    titles = sorted(body["title"] for body in http_sink.json_bodies())
    assert titles == ["INFO · TEST · example/cross · riskd notification check"] * 2


def test_failure_exits_nonzero_with_reason(http_sink: Any, smtp_cls: Any, secrets: Any) -> None:
    """A refused SMTP URL is reported failed with apprise's reason, no password, exit 1."""
    down = smtp_cls()  # never started: connection refused
    env = {"RISKD_NOTIFY_URLS": f"{down.url()} json://127.0.0.1:{http_sink.port}/ok"}
    result = CliRunner().invoke(cli, ["notify-test", "--severity", "critical"], env=env)
    assert result.exit_code == 1
    first, second, summary = result.output.splitlines()
    assert first.startswith("env[0]  mailto://***  FAILED  FAILURE: Connection error")
    assert second.split() == ["env[1]", "json://***", "ok"]
    assert summary == "1 of 2 URL(s) ok"
    assert secrets.smtp_password not in result.output
    assert (
        http_sink.json_bodies()[0]["title"]
        == "CRITICAL · TEST · example/cross · riskd notification check"
    )


def test_severity_skips_routes_that_do_not_take_it(http_sink: Any, tmp_path: Path) -> None:
    """--severity info goes only to routes taking info; the others are listed as skipped."""
    config = tmp_path / "riskd.toml"
    config.write_text(
        "[notify]\n"
        f'[[notify.routes]]\nname = "chat"\nurls = ["json://127.0.0.1:{http_sink.port}/c"]\n'
        f'[[notify.routes]]\nname = "mail"\nurls = ["json://127.0.0.1:{http_sink.port}/m"]\n'
        'severities = ["critical"]\n'
    )
    result = CliRunner().invoke(
        cli,
        ["notify-test", "--severity", "info", "--config", str(config)],
        env={"RISKD_NOTIFY_URLS": ""},
    )
    assert result.exit_code == 0, result.output
    assert "mail[0]  json://***  skipped  skipped: route takes critical" in result.output
    assert [p for _, p, _ in http_sink.requests] == ["/c"]


def test_no_routes_and_bad_config_are_clear(tmp_path: Path, secrets: Any) -> None:
    """No routes: exit 1 with the reason; a bad configuration: one line and exit 78
    (EX_CONFIG, as every command), no secret."""
    result = CliRunner().invoke(cli, ["notify-test"], env={"RISKD_NOTIFY_URLS": ""})
    assert result.exit_code == 1
    assert "no notification routes configured" in result.output
    config = tmp_path / "bad.toml"
    config.write_text(
        f'[notify]\n[[notify.routes]]\nname = "tg"\nurls = ["tgram://{secrets.bot_token}"]\n'
        'fallback = "x"\n'
    )
    result = CliRunner().invoke(
        cli, ["notify-test", "--config", str(config)], env={"RISKD_NOTIFY_URLS": ""}
    )
    assert result.exit_code == 78
    assert "invalid configuration" in result.output
    assert "notify.routes.0.fallback" in result.output
    assert secrets.bot_token not in result.output


def test_reads_credential_file_and_env_settings_like_run(http_sink: Any, tmp_path: Path) -> None:
    """notify-test loads notify settings as `riskd run` does: the notify_urls credential
    file and RISKD_NOTIFY__* variables count, not only --config and RISKD_NOTIFY_URLS."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "notify_urls").write_text(f"json://127.0.0.1:{http_sink.port}/cred\n")
    config = tmp_path / "riskd.toml"
    config.write_text("live = false\n")
    env = {"CREDENTIALS_DIRECTORY": str(creds), "RISKD_NOTIFY_URLS": ""}
    result = CliRunner().invoke(cli, ["notify-test", "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["notify_urls[0]", "json://***", "ok"]
    routes = f'[{{"name": "viaenv", "urls": ["json://127.0.0.1:{http_sink.port}/env"]}}]'
    env = {"RISKD_NOTIFY__ROUTES": routes, "RISKD_NOTIFY_URLS": ""}
    result = CliRunner().invoke(cli, ["notify-test", "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["viaenv[0]", "json://***", "ok"]
    assert sorted(p for _, p, _ in http_sink.requests) == ["/cred", "/env"]
