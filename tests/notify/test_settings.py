"""Notify settings: routes, validation errors naming the route, secrets kept out of text."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from riskd.notify.routing import Router
from riskd.notify.settings import (
    ENV_URLS,
    NotifySettings,
    NotifySettingsError,
    load_notify_settings,
    parse_notify_settings,
    urls_from_env,
)
from riskd.redact import redact
from riskd.severity import Severity


def _settings(secrets: Any, **extra: Any) -> NotifySettings:
    table: dict[str, Any] = {
        "routes": [
            {"name": "telegram", "urls": [f"tgram://{secrets.bot_token}/-1001234567"]},
            {
                "name": "email",
                "urls": [f"mailtos://riskd:{secrets.smtp_password}@smtp.example.com?to=me@x.org"],
                "severities": ["critical"],
                "tags": ["lifecycle"],
            },
        ],
        "fallback": "email",
        **extra,
    }
    return parse_notify_settings(table, "test")


def test_routes_by_severity_and_tags(secrets: Any, alert: Any) -> None:
    """info goes to Telegram only; critical to Telegram and email; lifecycle tag adds email."""
    router = Router(_settings(secrets))
    assert router.route(alert(1, Severity.INFO)).routes == ("telegram",)
    assert router.route(alert(1, Severity.CRITICAL)).routes == ("telegram", "email")
    tagged = alert(1, Severity.INFO, tags=frozenset({"lifecycle"}))
    assert router.route(tagged).routes == ("telegram", "email")


def test_unrouted_alert_goes_to_fallback(secrets: Any, alert: Any) -> None:
    """An alert no route takes goes to the fallback route, marked as such."""
    settings = _settings(secrets)
    only_critical = settings.model_copy(update={"routes": (settings.routes[1],)})
    routed = Router(only_critical).route(alert(1, Severity.INFO))
    assert routed.routes == ("email",) and routed.via_fallback


def test_bad_telegram_url_names_the_route(secrets: Any) -> None:
    """A malformed tgram:// URL gives a settings error naming route and URL number, no secret."""
    table = {"routes": [{"name": "phone", "urls": ["tgram://not-a-token/123"]}]}
    with pytest.raises(NotifySettingsError) as info:
        parse_notify_settings(table, "riskd.toml")
    text = str(info.value)
    assert "routes.0.urls: Value error, notify route 'phone' url #1 (tgram://***)" in text
    assert "tgram://BOT_TOKEN/CHAT_ID" in text
    assert "not-a-token" not in text


def test_a_bare_scheme_is_refused_in_words_that_still_name_it(
    secrets: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """`tgram://` alone: one settings error that shows the scheme and its example (a bare
    scheme holds no secret, so it is not masked), and apprise logs nothing of its own."""
    table = {"routes": [{"name": "tg", "urls": ["tgram://"]}]}
    with (
        caplog.at_level(logging.DEBUG, logger="apprise"),
        pytest.raises(NotifySettingsError) as info,
    ):
        parse_notify_settings(table, "riskd.toml")
    text = str(info.value)
    assert "apprise cannot parse this tgram:// URL (expected e.g. tgram://BOT_TOKEN/CHAT_ID)" in (
        text
    )
    assert [r for r in caplog.records if r.name.startswith("apprise")] == []
    assert redact("see tgram:// docs") == "see tgram:// docs"


def test_unknown_scheme_is_named(secrets: Any) -> None:
    """An unknown scheme is reported as such."""
    table = {"routes": [{"name": "x", "urls": ["nosuchscheme://abc"]}]}
    with pytest.raises(NotifySettingsError, match=r"unknown apprise scheme 'nosuchscheme://'"):
        parse_notify_settings(table, "riskd.toml")


def test_bad_email_url_reason_is_redacted(secrets: Any) -> None:
    """apprise's reason for refusing a mailto URL is shown, the password is not."""
    url = f"mailto://u:{secrets.smtp_password}@?to=broken"
    table = {"routes": [{"name": "mail", "urls": [url]}]}
    with pytest.raises(NotifySettingsError) as info:
        parse_notify_settings(table, "riskd.toml")
    assert "notify route 'mail' url #1 (mailto://***)" in str(info.value)
    assert secrets.smtp_password not in str(info.value)


def test_other_validation_errors(secrets: Any) -> None:
    """Unknown fallback, duplicate names, unknown keys and bad heartbeat URLs are all named."""
    with pytest.raises(NotifySettingsError, match="fallback 'nope' is not a route"):
        _settings(secrets, fallback="nope")
    dup = {"routes": [{"name": "a", "urls": ["json://h/x"]}, {"name": "a", "urls": ["json://h/y"]}]}
    with pytest.raises(NotifySettingsError, match=r"unique names; repeated: \['a'\]"):
        parse_notify_settings(dup, "t")
    with pytest.raises(NotifySettingsError, match="flood_limt: Extra inputs are not permitted"):
        _settings(secrets, flood_limt=3)
    with pytest.raises(NotifySettingsError, match=r"heartbeat_url \(ftp://\*\*\*\) must be"):
        _settings(secrets, heartbeat_url="ftp://hc.example.com/uuid-secret")
    with pytest.raises(NotifySettingsError, match="takes nothing"):
        parse_notify_settings(
            {"routes": [{"name": "a", "urls": ["json://h/x"], "severities": []}]}, "t"
        )


def test_secrets_absent_from_repr_and_errors(secrets: Any) -> None:
    """Settings repr/str/dump hide the URLs; the registry redacts token and password."""
    settings = _settings(secrets, heartbeat_url="https://hc-ping.com/4b1e-secret-uuid")
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert secrets.bot_token not in text
        assert secrets.smtp_password not in text
        assert "4b1e-secret-uuid" not in text
    leak = (
        f"GET https://api.telegram.org/bot{secrets.bot_token}/sendMessage"
        f" pw={secrets.smtp_password}"
    )
    assert redact(leak) == "GET https://api.telegram.org/bot***/sendMessage pw=***"


def test_env_urls_split_keeps_commas_inside_a_url() -> None:
    """RISKD_NOTIFY_URLS splits on commas and blanks between URLs, not inside one."""
    value = " json://h/a, mailto://u:p@h?to=a@x.org,b@x.org  tgram://1:abc/2,"
    assert urls_from_env(value) == (
        "json://h/a",
        "mailto://u:p@h?to=a@x.org,b@x.org",
        "tgram://1:abc/2",
    )


def test_load_from_toml_and_env(tmp_path: Path, secrets: Any) -> None:
    """The [notify] table of a TOML file is read; RISKD_NOTIFY_URLS adds a route 'env'."""
    path = tmp_path / "riskd.toml"
    path.write_text(
        '[notify]\nflood_limit = 10\n[[notify.routes]]\nname = "hook"\n'
        'urls = ["json://127.0.0.1:9/x"]\nseverities = ["warning", "critical"]\n'
    )
    settings = load_notify_settings(path, {ENV_URLS: "json://127.0.0.1:9/y"})
    assert settings.flood_limit == 10
    assert [r.name for r in settings.routes] == ["hook", "env"]
    assert settings.route("hook").severities == frozenset({Severity.WARNING, Severity.CRITICAL})
    assert settings.route("env").severities == frozenset(Severity)
    assert load_notify_settings(None, {}).routes == ()


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    """Unreadable or invalid files give an error naming the file."""
    with pytest.raises(NotifySettingsError, match="cannot read"):
        load_notify_settings(tmp_path / "missing.toml", {})
    bad = tmp_path / "bad.toml"
    bad.write_text("[notify\n")
    with pytest.raises(NotifySettingsError, match=r"bad\.toml is not valid TOML"):
        load_notify_settings(bad, {})
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[notify]\nqueue_size = 1\n")
    with pytest.raises(NotifySettingsError, match=r"wrong.toml:\n  queue_size: Input should be"):
        load_notify_settings(wrong, {})


def test_all_url_problems_reported_at_once(secrets: Any) -> None:
    """Several bad URLs and a bad severity in one route are all named in one error."""
    table = {
        "routes": [
            {
                "name": "tg",
                "urls": [f"tgram://{secrets.bot_token}/1", "tgram://bad/1", "mailto://u:pw99@"],
                "severities": ["critical", "urgent"],
            }
        ]
    }
    with pytest.raises(NotifySettingsError) as info:
        parse_notify_settings(table, "riskd.toml")
    text = str(info.value)
    assert "url #2 (tgram://***)" in text and "url #3 (mailto://***)" in text
    assert "url #1" not in text
    assert "routes.0.severities.1: Input should be 'info', 'warning' or 'critical'" in text
    assert "pw99" not in text and secrets.bot_token not in text


def test_plain_validation_error_hides_inputs(secrets: Any) -> None:
    """Even pydantic's own error text (str of ValidationError) shows no input values."""
    url = f"tgram://{secrets.bot_token}/1"
    with pytest.raises(ValidationError) as info:
        NotifySettings.model_validate({"routes": [{"name": "t", "urls": [url, "tgram://x/1"]}]})
    assert secrets.bot_token not in str(info.value)
    assert "url #2 (tgram://***)" in str(info.value)


def test_single_url_may_be_bare(secrets: Any) -> None:
    """urls = "json://…" (one URL, no list) is accepted."""
    settings = parse_notify_settings({"routes": [{"name": "a", "urls": "json://h/x"}]}, "t")
    assert settings.routes[0].urls[0].get_secret_value() == "json://h/x"
