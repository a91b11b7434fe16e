"""Settings: TOML, environment, credential files, errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from riskd.redact import redact
from riskd.settings import CoinCap, ConfigError, PollSettings, load_settings

CONFIG = """
live = false
base_url = "http://sim"
journal_path = "{tmp}/journal.sqlite3"

[poll]
interval = "10s"
fast_interval = "2s"
slow_interval = "1m"
stale_after = 30

[accounts.alice]
isolated = ["BTCUSDT"]
discover_isolated = false

[accounts.alice.caps]
max_action_usdt = 500
max_day_usdt = 2000
coins.BTC = {{ max_action = 0.05 }}

[accounts.bob]
cross = true
live = true
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("RISKD_") or key in ("CREDENTIALS_DIRECTORY", "STATE_DIRECTORY"):
            monkeypatch.delenv(key)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "riskd.toml"
    path.write_text(text.format(tmp=tmp_path))
    return path


def test_toml_loads_typed_values(tmp_path: Path) -> None:
    """A full config loads into typed, frozen values (durations, decimals, accounts)."""
    s = load_settings(_write(tmp_path, CONFIG))
    assert s.poll.slow_interval == 60.0
    assert s.accounts["alice"].caps.max_action_usdt == Decimal(500)
    assert s.accounts["alice"].caps.coins["BTC"].max_action == Decimal("0.05")
    assert s.accounts["alice"].isolated == ("BTCUSDT",)
    assert s.account_live("alice") is False
    assert s.account_live("bob") is True
    with pytest.raises(ValueError):
        s.poll.interval = 3.0  # type: ignore[misc]


def test_env_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RISKD_* variables, nested with __, override the config file."""
    monkeypatch.setenv("RISKD_LIVE", "true")
    monkeypatch.setenv("RISKD_POLL__INTERVAL", "5s")
    monkeypatch.setenv("RISKD_ACCOUNTS__ALICE__CAPS__MAX_ACTION_USDT", "250")
    s = load_settings(_write(tmp_path, CONFIG))
    assert s.live is True
    assert s.poll.interval == 5.0
    assert s.accounts["alice"].caps.max_action_usdt == Decimal(250)
    assert s.accounts["alice"].isolated == ("BTCUSDT",)


def test_live_flag_overrides_everything(tmp_path: Path) -> None:
    """--live turns every account without its own live setting live."""
    s = load_settings(_write(tmp_path, CONFIG), live=True)
    assert s.account_live("alice") is True


def test_credentials_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd credential files fill in per-account and default secrets."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "alice_api_key").write_text("alice-key-1\n")
    (creds / "alice_api_secret").write_text("alice-secret-value\n")
    (creds / "api_passphrase").write_text("shared-passphrase\n")
    (creds / "api_key").write_text("default-key")
    (creds / "api_secret").write_text("default-secret-value")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    s = load_settings(_write(tmp_path, CONFIG))
    creds_alice = s.credentials("alice")
    assert creds_alice.api_key.get_secret_value() == "alice-key-1"
    assert creds_alice.secret is not None
    assert creds_alice.secret.get_secret_value() == "alice-secret-value"
    assert creds_alice.passphrase.get_secret_value() == "shared-passphrase"
    bob_secret = s.credentials("bob").secret
    assert bob_secret is not None and bob_secret.get_secret_value() == "default-secret-value"
    assert "alice-secret-value" not in repr(s)
    assert redact("x alice-secret-value y") == "x *** y"


def test_missing_credentials_named(tmp_path: Path) -> None:
    """An account without credentials is an error naming the account and the sources."""
    s = load_settings(_write(tmp_path, CONFIG))
    with pytest.raises(ConfigError, match=r"account 'alice' has no api_key.*alice_api_key"):
        s.credentials("alice")


def test_bad_values_name_keys_not_secrets(tmp_path: Path) -> None:
    """Every bad key is reported with its dotted path and env name; secret values never."""
    text = CONFIG + '\n[accounts.carol]\napi_secret = 42\nbogus = "zzz-secret-zzz"\n'
    text = text.replace('interval = "10s"', 'interval = "soon"')
    text = text.replace("max_action_usdt = 500", "max_action_usdt = -1")
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text))
    msg = str(info.value)
    assert "riskd.toml" in msg
    assert "poll.interval" in msg
    assert "accounts.alice.caps.max_action_usdt" in msg
    assert "accounts.carol.bogus: unknown setting" in msg
    assert "accounts.carol.api_secret" in msg
    assert "RISKD_POLL__INTERVAL" in msg
    assert "zzz-secret-zzz" not in msg


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line."""
    path = tmp_path / "riskd.toml"
    path.write_text("live = true\n[poll\n")
    with pytest.raises(ConfigError, match=r"riskd.toml: not valid TOML.*line 2"):
        load_settings(path)


def test_missing_file(tmp_path: Path) -> None:
    """An explicit config path that does not exist is a clear error."""
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_interval_order_and_account_names(tmp_path: Path) -> None:
    """Intervals must be ordered fast <= base <= slow; account names are checked."""
    with pytest.raises(ConfigError, match="fast_interval <= interval"):
        load_settings(
            _write(tmp_path, CONFIG.replace('fast_interval = "2s"', "fast_interval = 20"))
        )
    with pytest.raises(ConfigError, match="account name 'Bad Name'"):
        load_settings(_write(tmp_path, '[accounts."Bad Name"]\n'))


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No file: one default account 'main', dry-run, journal under $STATE_DIRECTORY."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    s = load_settings(None)
    assert list(s.accounts) == ["main"]
    assert s.live is False
    assert s.journal_path == tmp_path / "state" / "journal.sqlite3"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(5, 5.0), (2.5, 2.5), ("40", 40.0), ("500ms", 0.5), ("2m", 120.0), ("1h30m", 5400.0)],
)
def test_durations(text: object, seconds: float) -> None:
    """Duration settings take bare seconds and the duration syntax (riskd.durations)."""
    assert PollSettings(stale_after=text).stale_after == seconds


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (0, "must be longer than 0s"),
        ("0s", "must be longer than 0s"),
        (-1, "is negative"),
        ("x", "is not a duration"),
        ("10 parsecs", "unknown unit 'parsecs'"),
        (True, "is not a duration"),
        (None, "is not a duration"),
    ],
)
def test_bad_durations(bad: object, message: str) -> None:
    """Zero, negative and malformed duration settings are refused, saying why."""
    with pytest.raises(ValidationError, match=message):
        PollSettings(stale_after=bad)


def test_bad_duration_names_the_key_and_the_syntax(tmp_path: Path) -> None:
    """A bad duration in the file names its dotted key, the syntax and its variable."""
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, '[poll]\ninterval = "10 seconds"\n'))
    text = str(caught.value)
    assert "poll.interval: Value error, '10 seconds' is not a duration: unknown unit" in text
    assert '"1h30m"' in text and "(env RISKD_POLL__INTERVAL)" in text


def test_example_config_loads(tmp_path: Path) -> None:
    """The documented example configuration is valid."""
    from riskd.settings_example import EXAMPLE_CONFIG

    path = tmp_path / "riskd.toml"
    path.write_text(EXAMPLE_CONFIG)
    s = load_settings(path)
    assert s.accounts["main"].caps.coins["BTC"].max_day == Decimal("0.2")
    assert not s.account_live("main") and not s.live  # the example never goes live by itself
    assert s.prices.enabled and s.prices.max_age == 30.0
    assert s.notify.routes[0].name == "phone"
    assert "AAExampleExample" not in repr(s)


def test_notify_urls_credential_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$CREDENTIALS_DIRECTORY/notify_urls adds a route of that name; the URLs are secrets."""
    creds = tmp_path / "creds"
    creds.mkdir()
    url = "json://localhost:9/hook-secret-token"
    (creds / "notify_urls").write_text(url + "\n")
    (creds / "api_key").write_text("")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    s = load_settings(_write(tmp_path, CONFIG))
    assert [r.name for r in s.notify.routes] == ["notify_urls"]
    assert redact(url) == "***"


def test_coin_caps_from_environment_are_upper_cased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RISKD_ACCOUNTS__ALICE__CAPS__COINS__BTC__MAX_ACTION caps BTC (env names arrive
    lower-case); the same coin twice in different case is refused."""
    monkeypatch.setenv("RISKD_ACCOUNTS__ALICE__CAPS__COINS__BTC__MAX_ACTION", "0.01")
    s = load_settings(_write(tmp_path, CONFIG.replace("coins.BTC = {{ max_action = 0.05 }}", "")))
    assert s.accounts["alice"].caps.coins == {"BTC": CoinCap(max_action=Decimal("0.01"))}
    twice = CONFIG.replace(
        "coins.BTC = {{ max_action = 0.05 }}",
        "coins.BTC = {{ max_action = 0.05 }}\ncoins.btc = {{ max_action = 1 }}",
    )
    with pytest.raises(ConfigError, match="given twice"):
        load_settings(_write(tmp_path, twice))


def test_credential_files_of_the_implicit_main_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without [accounts], main_api_key etc. fill the implicit account main, as the
    missing-credential message suggests; an account named only in the environment too."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "main_api_key").write_text("main-key-1\n")
    (creds / "main_api_secret").write_text("main-secret-value\n")
    (creds / "main_api_passphrase").write_text("main-passphrase\n")
    (creds / "carol_api_key").write_text("carol-key-1\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    s = load_settings(_write(tmp_path, "live = false\n"))
    assert list(s.accounts) == ["main"]
    main = s.credentials("main")
    assert main.api_key.get_secret_value() == "main-key-1"
    assert main.secret is not None and main.secret.get_secret_value() == "main-secret-value"
    monkeypatch.setenv("RISKD_ACCOUNTS__CAROL__CROSS", "true")
    s = load_settings(_write(tmp_path, "live = false\n"))
    assert list(s.accounts) == ["carol"]
    key = s.accounts["carol"].api_key
    assert key is not None and key.get_secret_value() == "carol-key-1"


def test_a_negative_price_move_names_its_key(tmp_path: Path) -> None:
    """poll.price_move below 0 is refused with its key and env name; 0 turns the trigger off."""
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, _with_poll(CONFIG, "price_move = -0.01")))
    assert "poll.price_move" in str(info.value)
    assert "RISKD_POLL__PRICE_MOVE" in str(info.value)
    off = load_settings(_write(tmp_path, _with_poll(CONFIG, "price_move = 0")))
    assert off.poll.price_move == 0


def test_a_bad_near_distance_names_its_key(tmp_path: Path) -> None:
    """poll.near_distance below 0 or not a number is refused with its key and env name; 0
    turns the distance rule off."""
    for bad in ("-0.05", '"five percent"'):
        with pytest.raises(ConfigError) as info:
            load_settings(_write(tmp_path, _with_poll(CONFIG, f"near_distance = {bad}")))
        assert "poll.near_distance" in str(info.value)
        assert "RISKD_POLL__NEAR_DISTANCE" in str(info.value)
    off = load_settings(_write(tmp_path, _with_poll(CONFIG, "near_distance = 0")))
    assert off.poll.near_distance == 0


def _with_poll(text: str, line: str) -> str:
    if "[poll]\n" in text:
        return text.replace("[poll]\n", f"[poll]\n{line}\n", 1)
    return f"{text}\n[poll]\n{line}\n"
