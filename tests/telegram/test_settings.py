"""[telegram] settings and the bot token's sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from riskd.clock import ManualClock
from riskd.redact import redact
from riskd.telegram.service import TelegramService
from riskd.telegram.settings import (
    TOKEN_FILE,
    TelegramSettings,
    TelegramSetupError,
    load_token,
)
from riskd.telegram.setup import make_telegram_service

SECRET = "5150:settings-token-Xy7-never-shown"


def test_disabled_by_default() -> None:
    """No [telegram] table: the bot is off and needs nothing."""
    s = TelegramSettings()
    assert not s.enabled and s.allowed_chats == ()


def test_enabled_needs_an_allow_list() -> None:
    """Enabled with no allowed chat is a configuration error saying what to add."""
    with pytest.raises(ValidationError, match="allowed_chats"):
        TelegramSettings(enabled=True)


def test_durations_use_the_duration_syntax() -> None:
    """confirm_expiry and friends take "2m" as well as seconds; zero or too long refused."""
    s = TelegramSettings.model_validate({"confirm_expiry": "2m", "rate_window": 30})
    assert s.confirm_expiry == 120 and s.rate_window == 30
    with pytest.raises(ValidationError, match="confirm_expiry"):
        TelegramSettings.model_validate({"confirm_expiry": "0s"})
    with pytest.raises(ValidationError, match="confirm_expiry"):
        TelegramSettings.model_validate({"confirm_expiry": "2h"})


def test_base_url_must_be_http() -> None:
    """A base URL that is not http(s) is refused."""
    with pytest.raises(ValidationError, match="base_url"):
        TelegramSettings(base_url="ftp://x/bot")


def test_token_from_credential_file_is_registered(tmp_path: Path) -> None:
    """The credential file wins, and its value is masked everywhere from then on."""
    (tmp_path / TOKEN_FILE).write_text(SECRET + "\n")
    token = load_token(TelegramSettings(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert token.get_secret_value() == SECRET
    assert redact(f"url /bot{SECRET}/x") == "url /bot***/x"


def test_token_from_settings_is_hidden() -> None:
    """A token given in the settings is registered and never in the model's repr."""
    s = TelegramSettings(token=SecretStr("4242:from-settings-Q1-never-shown"))
    assert "from-settings" not in repr(s)
    assert load_token(s, {}).get_secret_value() == "4242:from-settings-Q1-never-shown"
    assert redact("4242:from-settings-Q1-never-shown") == "***"


def test_missing_token_says_where_to_put_it(tmp_path: Path) -> None:
    """No token anywhere: an error naming the credential file and the variable."""
    with pytest.raises(TelegramSetupError, match=f"{TOKEN_FILE}.*RISKD_TELEGRAM__TOKEN"):
        load_token(TelegramSettings(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_unreadable_token_file_names_the_file(tmp_path: Path) -> None:
    """A token file that cannot be read: the error names it and never shows its bytes."""
    (tmp_path / TOKEN_FILE).write_bytes(b"\xff\xfe-binary-Zz9")
    with pytest.raises(TelegramSetupError, match="not UTF-8") as err:
        load_token(TelegramSettings(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert TOKEN_FILE in str(err.value) and "Zz9" not in str(err.value)


def test_setup_disabled_builds_nothing(tmp_path: Path) -> None:
    """telegram.enabled = false: no service, no token needed."""
    got = make_telegram_service(
        TelegramSettings(),
        journal=tmp_path / "j.sqlite3",
        accounts=lambda: ("main",),
        clock=ManualClock(),
        stale_after=30,
        environ={},
    )
    assert got is None


def test_setup_enabled_without_token_is_an_error(tmp_path: Path) -> None:
    """Enabled with no token anywhere: a setup error naming the credential file."""
    with pytest.raises(TelegramSetupError, match=TOKEN_FILE):
        make_telegram_service(
            TelegramSettings(enabled=True, allowed_chats=(1,)),
            journal=tmp_path / "j.sqlite3",
            accounts=lambda: ("main",),
            clock=ManualClock(),
            stale_after=30,
            environ={"CREDENTIALS_DIRECTORY": str(tmp_path)},
        )


async def test_setup_enabled_builds_an_idle_service(tmp_path: Path) -> None:
    """Enabled with a token file: a service that does nothing until started."""
    (tmp_path / TOKEN_FILE).write_text("1234:setup-token-Pp0-never-shown")
    service = make_telegram_service(
        TelegramSettings(enabled=True, allowed_chats=(1,)),
        journal=tmp_path / "j.sqlite3",
        accounts=lambda: ("main",),
        clock=ManualClock(),
        stale_after=30,
        environ={"CREDENTIALS_DIRECTORY": str(tmp_path)},
    )
    assert isinstance(service, TelegramService)
    assert "setup-token" not in repr(service)
    await service.stop()
    assert not (tmp_path / "j.sqlite3").exists()
