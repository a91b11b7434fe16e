"""riskd's settings: one typed, frozen tree read from TOML, environment and credential files.

Sources, highest priority first:

1. ``RISKD_*`` environment variables, nested with ``__``
   (``RISKD_LIVE=true``, ``RISKD_POLL__INTERVAL=5s``, ``RISKD_ACCOUNTS__MAIN__LIVE=true``);
2. files in ``$CREDENTIALS_DIRECTORY`` (systemd ``LoadCredential=``), see :data:`CREDENTIAL_FILES`;
3. the TOML config file (``--config``; default ``/etc/riskd/riskd.toml``, else ``./riskd.toml``).

Credential file names: ``api_key``, ``api_secret``, ``api_passphrase`` and ``api_rsa_key``
(the PEM text of an RSA private key, instead of ``api_secret``) are the defaults every account
without its own uses; ``<account>_api_key``, ``<account>_api_secret``,
``<account>_api_passphrase``, ``<account>_api_rsa_key`` belong to one account (e.g.
``main_api_secret``). Each file holds the value alone; surrounding whitespace is stripped.
``notify_urls`` holds apprise URLs (separated by commas, blanks or new lines) for a notify
route named ``notify_urls`` that takes every severity; ``RISKD_NOTIFY_URLS`` does the same
for a route named ``env``. The API credential names also work as settings (``api_secret =
…`` at the top level or in an account, ``RISKD_API_SECRET``,
``RISKD_ACCOUNTS__MAIN__API_SECRET``); ``api_rsa_key_file`` names a PEM file instead. An
empty credential file counts as absent.

Durations (``poll.*`` times, ``prices.max_age``, ``push.account_min_gap``, the ``[notify]``
times) are read in riskd's one syntax (:mod:`riskd.durations`: ``"90s"``, ``"1h30m"``, a bare
number is seconds); the ones here must be longer than 0s.

Secrets are :class:`pydantic.SecretStr`, registered with :mod:`riskd.redact` on load, and a
bad value is reported by its key only (never its value): :class:`ConfigError` names the file
and the dotted key (``accounts.main.caps.max_action_usdt``) and its environment variable.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    ByteSize,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from riskd.bitget.credentials import Credentials
from riskd.daemon.prices import ws_url_for
from riskd.dashboard.settings import DashboardSettings
from riskd.durations import parse_duration as parse_duration  # scripts/check_docs.py uses it
from riskd.notify.settings import ENV_ROUTE, ENV_URLS, NotifySettings, urls_from_env
from riskd.redact import redact, register_secret
from riskd.settings_sections import (  # the sections, re-exported
    DEFAULT_UTA_LIQUIDATION_LEVEL as DEFAULT_UTA_LIQUIDATION_LEVEL,
)
from riskd.settings_sections import (
    SYMBOL as SYMBOL,
)
from riskd.settings_sections import (
    AccountSettings as AccountSettings,
)
from riskd.settings_sections import (
    BudgetSettings as BudgetSettings,
)
from riskd.settings_sections import (
    CapsSettings as CapsSettings,
)
from riskd.settings_sections import (
    ClusterSettings as ClusterSettings,
)
from riskd.settings_sections import (
    CoinCap as CoinCap,
)
from riskd.settings_sections import (
    MetricsSettings as MetricsSettings,
)
from riskd.settings_sections import (
    NonNegDecimal as NonNegDecimal,
)
from riskd.settings_sections import (
    PollSettings as PollSettings,
)
from riskd.settings_sections import (
    PositiveDecimal as PositiveDecimal,
)
from riskd.settings_sections import (
    PricesSettings as PricesSettings,
)
from riskd.settings_sections import (
    PushSettings as PushSettings,
)
from riskd.telegram.settings import TelegramSettings

DEFAULT_CONFIG_PATHS = (Path("/etc/riskd/riskd.toml"), Path("riskd.toml"))
DEFAULT_BASE_URL = "https://api.bitget.com"
ENV_PREFIX = "RISKD_"
CREDENTIAL_FIELDS = ("api_key", "api_secret", "api_passphrase", "api_rsa_key")
#: Credential file with apprise URLs (commas, blanks or new lines between them): a notify
#: route of that name taking every severity.
NOTIFY_URLS_FILE = "notify_urls"
#: ``{account}`` is replaced by the account name.
CREDENTIAL_FILES = (*CREDENTIAL_FIELDS, *(f"{{account}}_{f}" for f in CREDENTIAL_FIELDS))
ACCOUNT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file and the key.

    ``path`` is the file at fault when there is one (config, credential or PEM file) and
    ``hint`` what to do about it: :mod:`riskd.preflight` makes both riskd's one-line start-up
    error. Neither ever holds a secret value.
    """

    def __init__(self, message: str, *, path: Path | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.hint = hint


def default_state_dir() -> Path:
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    return Path("riskd-state")


class Settings(BaseSettings):
    """Everything ``riskd run`` needs. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )

    #: Send protective calls. False (the default): dry-run, say what would be done.
    live: bool = False
    base_url: str = DEFAULT_BASE_URL
    #: Default rule directory for accounts that name none.
    rules_dir: Path = Path("rules")
    #: SQLite journal (decisions, intents, outcomes, rule state, status, pause state).
    journal_path: Path = Field(default_factory=lambda: default_state_dir() / "journal.sqlite3")
    #: ``postgresql://user:password@host:5432/db``: the journal on PostgreSQL instead of
    #: ``journal_path``, shared by several nodes (``[cluster]``, docs/cluster.md). The
    #: password is never shown.
    journal_url: str | None = None
    #: Disk space kept in ``<journal_path>.reserve`` for intents and outcomes when the disk
    #: fills up (riskd.daemon.journal_space); e.g. ``"8MiB"``; 0 keeps none.
    journal_reserve: ByteSize = ByteSize(8 * 1024 * 1024)
    #: Default credentials, for accounts that have none of their own.
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    api_passphrase: SecretStr | None = None
    api_rsa_key: SecretStr | None = None
    api_rsa_key_file: Path | None = None
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)
    poll: PollSettings = Field(default_factory=PollSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    prices: PricesSettings = Field(default_factory=PricesSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    #: Several nodes sharing the accounts; used when ``journal_url`` is set.
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    #: Notification routes and their behaviour (riskd.notify); ``RISKD_NOTIFY_URLS`` adds a
    #: route named ``env``.
    notify: NotifySettings = Field(default_factory=NotifySettings)
    #: Telegram commands from allow-listed chats (docs/telegram.md); off by default.
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    #: The local dashboard under the ops server's ``/dashboard`` (docs/dashboard.md).
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @field_validator("accounts")
    @classmethod
    def _names(cls, value: dict[str, AccountSettings]) -> dict[str, AccountSettings]:
        for name in value:
            if not ACCOUNT_NAME.match(name):
                raise ValueError(
                    f"account name {name!r}: use lower-case letters, digits, '_' or '-'"
                )
        return value

    @field_validator("journal_url")
    @classmethod
    def _journal_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            password = parts.password
        except ValueError:
            raise ValueError("not a URL; use postgresql://user:password@host:5432/db") from None
        if password:
            register_secret(password)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"scheme {parts.scheme!r} is not supported; use postgresql://user:password@"
                "host:5432/db (leave journal_url out for the SQLite journal at journal_path)"
            )
        return value

    @model_validator(mode="after")
    def _default_account(self) -> Settings:
        if not self.accounts:
            object.__setattr__(self, "accounts", {"main": AccountSettings()})
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(init_settings, InitSettingsSource)
        creds = CredentialsDirSource(settings_cls, init_settings.init_kwargs)
        return (env_settings, creds, init_settings)

    # --- derived values -----------------------------------------------------------------
    @property
    def journal_target(self) -> Path | str:
        """Where the journal lives: ``journal_url`` when set, else ``journal_path``."""
        return self.journal_url if self.journal_url is not None else self.journal_path

    @property
    def clustered(self) -> bool:
        """Whether this node shares its accounts with others (a PostgreSQL journal)."""
        return self.journal_url is not None

    def node_id(self) -> str:
        """``cluster.node_id``, or this host's name."""
        return self.cluster.node_id or socket.gethostname()

    def account_live(self, name: str) -> bool:
        acc = self.accounts[name]
        return self.live if acc.live is None else acc.live

    def price_ws_url(self, api: Literal["v1", "v2"] = "v2") -> str:
        """``prices.ws_url``, or the one of ``api`` derived from ``base_url``."""
        return self.prices.ws_url or ws_url_for(self.base_url, api)

    def push_ws_url(self) -> str:
        """``push.private_ws_url``, or v2's private URL derived from ``base_url``."""
        return self.push.private_ws_url or ws_url_for(self.base_url, "v2", private=True)

    def account_rules_dir(self, name: str) -> Path:
        return self.accounts[name].rules_dir or self.rules_dir

    def credentials(self, name: str) -> Credentials:
        """An account's API credentials; ConfigError naming what is missing."""
        acc = self.accounts[name]

        def pick(f: str) -> SecretStr | None:
            v: SecretStr | None = getattr(acc, f) or getattr(self, f)
            return v if v is not None and v.get_secret_value().strip() else None

        def missing(f: str) -> ConfigError:
            where = ""
            creds_dir = os.environ.get("CREDENTIALS_DIRECTORY")
            if creds_dir:
                gone = "" if Path(creds_dir).is_dir() else ", which does not exist"
                where = f" in $CREDENTIALS_DIRECTORY ({creds_dir}{gone})"
            return ConfigError(
                f"account {name!r} has no {f}: set accounts.{name}.{f} in the config, "
                f"{ENV_PREFIX}{f.upper()} or a credential file {name}_{f} / {f}{where}"
            )

        key, passphrase, secret = pick("api_key"), pick("api_passphrase"), pick("api_secret")
        if key is None:
            raise missing("api_key")
        if passphrase is None:
            raise missing("api_passphrase")
        rsa = pick("api_rsa_key")
        rsa_file = acc.api_rsa_key_file or self.api_rsa_key_file
        if rsa is None and rsa_file is not None and secret is None:
            try:
                pem = rsa_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"api_rsa_key_file {rsa_file}: {exc.strerror}",
                    path=rsa_file,
                    hint="give the PEM file of the account's RSA key, readable by riskd",
                ) from None
            except UnicodeDecodeError:
                raise ConfigError(
                    f"api_rsa_key_file {rsa_file}: not UTF-8 text (not a PEM file?)",
                    path=rsa_file,
                    hint="give the PEM text of the account's RSA private key",
                ) from None
            register_secret(pem)
            rsa = SecretStr(pem)
        if secret is None and rsa is None:
            raise missing("api_secret")
        try:
            if secret is not None:
                return Credentials(api_key=key, passphrase=passphrase, secret=secret)
            return Credentials(api_key=key, passphrase=passphrase, rsa_private_key=rsa)
        except ValidationError as exc:
            msg = format_validation_error(exc, f"account {name!r} credentials")
            raise ConfigError(msg) from None

    def register_secrets(self) -> None:
        """Register every secret value with riskd.redact."""
        for holder in (self, *self.accounts.values()):
            for f in CREDENTIAL_FIELDS:
                v = getattr(holder, f)
                if v is not None:
                    register_secret(v.get_secret_value())
        for route in self.notify.routes:
            for url in route.urls:
                register_secret(url.get_secret_value())
        if self.notify.heartbeat_url is not None:
            register_secret(self.notify.heartbeat_url.get_secret_value())


class CredentialsDirSource(PydanticBaseSettingsSource):
    """Reads ``$CREDENTIALS_DIRECTORY`` files (systemd ``LoadCredential=``)."""

    def __init__(self, settings_cls: type[BaseSettings], init_kwargs: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        self._data: dict[str, Any] = {}
        if not directory:
            return
        base = Path(directory)
        for f in CREDENTIAL_FIELDS:
            value = _read_credential(base / f)
            if value is not None:
                self._data[f] = value
        per: dict[str, dict[str, str]] = {}
        for name in _account_names(init_kwargs):
            for f in CREDENTIAL_FIELDS:
                value = _read_credential(base / f"{name}_{f}")
                if value is not None:
                    per.setdefault(name, {})[f] = value
        if per:
            self._data["accounts"] = per

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _account_names(init_kwargs: Mapping[str, Any]) -> list[str]:
    """Accounts named in the config file or the environment; none: the implicit ``main``."""
    names: list[str] = []
    accounts = init_kwargs.get("accounts")
    if isinstance(accounts, Mapping):
        names.extend(str(n) for n in accounts)
    prefix = f"{ENV_PREFIX}ACCOUNTS__"
    for key in os.environ:
        if key.upper().startswith(prefix):
            name = key[len(prefix) :].split("__", 1)[0].lower()
            if name and name not in names:
                names.append(name)
    return names or ["main"]


def _read_credential(path: Path) -> str | None:
    """A credential file's value (stripped), None when absent; never shows the value."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"cannot read credential file {path}: {exc.strerror}",
            path=path,
            hint="make it a file readable by the user riskd runs as (systemd: LoadCredential=)",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"credential file {path} is not UTF-8 text",
            path=path,
            hint="write the value alone, as UTF-8 text",
        ) from None
    register_secret(text)
    return text or None


def find_config(explicit: Path | None) -> Path | None:
    """The config file to use: ``explicit``, else the first default that exists, else None."""
    if explicit is not None:
        return explicit
    for candidate in DEFAULT_CONFIG_PATHS:
        if candidate.is_file():
            return candidate
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """The config file's tables; ConfigError naming the file, what is wrong and what to do.

    Messages never quote the file's text (it may hold a secret): TOML errors give the line and
    column, a byte that is not UTF-8 gives its line.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found",
            path=path,
            hint="check the --config path (docs/configuration.md shows a complete file)",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a directory, not a config file",
            path=path,
            hint="pass the TOML file itself with --config",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read: {exc.strerror}",
            path=path,
            hint="make it readable by the user riskd runs as",
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (first bad byte on line {line})",
            path=path,
            hint="save the file as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}", path=path, hint="fix the TOML at that place"
        ) from None


def load_settings(path: Path | None = None, *, live: bool | None = None) -> Settings:
    """Load settings from ``path`` (or the defaults), the environment and credential files.

    ``live=True`` (the ``--live`` flag) overrides the file and environment. Raises
    :class:`ConfigError` with one line per problem, each naming the key.
    """
    found = find_config(path)
    data = read_toml(found) if found is not None else {}
    extra_routes = []
    env_urls = urls_from_env(os.environ.get(ENV_URLS, ""))
    if env_urls:
        extra_routes.append({"name": ENV_ROUTE, "urls": list(env_urls)})
    creds_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    file_urls = _read_credential(Path(creds_dir) / NOTIFY_URLS_FILE) if creds_dir else None
    if file_urls:
        extra_routes.append({"name": NOTIFY_URLS_FILE, "urls": list(urls_from_env(file_urls))})
    if extra_routes:
        for route in extra_routes:
            for url in route["urls"]:
                register_secret(url)
        notify = dict(data.get("notify") or {})
        routes = list(notify.get("routes") or [])
        notify["routes"] = [*routes, *extra_routes]
        data = {**data, "notify": notify}
    origin = str(found) if found is not None else "settings"
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(exc, origin),
            path=found,
            hint="fix these settings (docs/configuration.md lists every one)",
        ) from None
    if live is not None:
        settings = settings.model_copy(update={"live": live})
    settings.register_secrets()
    return settings


def format_validation_error(exc: ValidationError, origin: str) -> str:
    """One line per error: file, dotted key, env var, message — never the input value."""
    lines = [f"{origin}: invalid configuration ({exc.error_count()} problem(s))"]
    for err in exc.errors(include_input=False, include_url=False):
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        env = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown setting (check its spelling and section)"
        lines.append(f"  {key}: {msg} (env {env})")
    return redact("\n".join(lines))
