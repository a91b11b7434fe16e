"""Typed, frozen settings of the notifier (the ``[notify]`` table of riskd's settings).

Every apprise URL and the heartbeat URL is a secret (bot tokens, SMTP passwords, ping UUIDs):
they are held as :class:`pydantic.SecretStr`, registered with :mod:`riskd.redact` as soon as
they are read, and error messages name the route and a redacted form (``tgram://***``), never
the URL itself.

Times are durations in riskd's one syntax (:mod:`riskd.durations`: ``"90s"``, ``"5m"``,
``"1h30m"``; a bare number is seconds) and are held as float seconds. ``group_wait`` and
``group_interval`` may be ``0s``; every other time must be longer than 0.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from riskd.durations import Duration, PositiveDuration, format_duration
from riskd.notify.alert import EVERY_ROUTE
from riskd.notify.matchers import MatcherError, parse_matchers, valid_label_name
from riskd.notify.silences import InhibitRule
from riskd.redact import redact, register_secret
from riskd.severity import Severity

#: Environment variable with apprise URLs for a quick check (comma or space separated).
ENV_URLS = "RISKD_NOTIFY_URLS"
#: Name of the route built from :data:`ENV_URLS`.
ENV_ROUTE = "env"

_ROUTE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
# Split "a://x, b://y c://z" at commas/blanks that are followed by a new scheme, so that a
# comma inside one URL (``mailto://…?to=a@x.org,b@x.org``) stays part of it.
_URL_SPLIT = re.compile(r"[\s,]+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def redacted_url(url: str) -> str:
    """``tgram://***``: the scheme of a URL and nothing else."""
    scheme, sep, _ = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return "***"
    return f"{scheme.lower()}://***"


class RouteSettings(BaseModel):
    """One route: a name, its apprise URLs, and which alerts it takes.

    An alert goes to a route when its severity is in ``severities`` **or** it carries one of
    ``tags`` (e.g. ``tags = ["lifecycle"]`` sends start/stop messages to a route that
    otherwise only takes critical alerts).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    name: Annotated[str, Field(pattern=_ROUTE_NAME)]
    urls: tuple[SecretStr, ...] = Field(min_length=1)
    severities: frozenset[Severity] = frozenset(Severity)
    tags: frozenset[str] = frozenset()

    @field_validator("urls", mode="before")
    @classmethod
    def _register_urls(cls, value: Any) -> Any:
        """Register every URL (and its private parts) as a secret before anything else."""
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            raw = item.get_secret_value() if isinstance(item, SecretStr) else item
            if isinstance(raw, str):
                _register_url(raw)
        return [value] if isinstance(value, str) else value  # one URL may be given bare

    @field_validator("urls")
    @classmethod
    def _check_urls(
        cls, urls: tuple[SecretStr, ...], info: ValidationInfo
    ) -> tuple[SecretStr, ...]:
        """Every URL must be one apprise can use; all problems are reported at once."""
        name = info.data.get("name", "?")
        problems = []
        for index, url in enumerate(urls):
            raw = url.get_secret_value().strip()
            problem = _check_url(raw)
            if problem:
                problems.append(f"url #{index + 1} ({redacted_url(raw)}): {redact(problem)}")
        if problems:
            raise ValueError(f"notify route '{name}' " + "; ".join(problems))
        return tuple(SecretStr(url.get_secret_value().strip()) for url in urls)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.severities and not self.tags:
            raise ValueError(
                f"notify route '{self.name}' takes nothing: give it severities or tags"
            )
        return self

    def takes(self, severity: Severity, tags: frozenset[str]) -> bool:
        """Whether an alert of ``severity`` carrying ``tags`` goes to this route."""
        return severity in self.severities or bool(self.tags & tags) or EVERY_ROUTE in tags


class InhibitRuleSettings(BaseModel):
    """One inhibition rule, as Alertmanager's ``inhibit_rules``: while an active alert matches
    ``source_matchers``, alerts matching ``target_matchers`` that agree with it on every label
    in ``equal`` are not sent (recorded as inhibited)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_matchers: tuple[str, ...] = Field(min_length=1)
    target_matchers: tuple[str, ...] = Field(min_length=1)
    equal: tuple[str, ...] = ()

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            parse_matchers(value)
        except MatcherError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("equal")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not valid_label_name(name)]
        if bad:
            raise ValueError(f"not label names: {bad}")
        return value

    def rule(self) -> InhibitRule:
        return InhibitRule(
            parse_matchers(self.source_matchers), parse_matchers(self.target_matchers), self.equal
        )


#: The default inhibition rules (see docs/notifications.md#inhibition).
DEFAULT_INHIBIT_RULES: tuple[InhibitRuleSettings, ...] = (
    # An exchange outage or built-in staleness (a STALE alert of no rule) hides the per-rule
    # stale / cannot-evaluate alerts of the same account.
    InhibitRuleSettings(
        source_matchers=("kind=stale", "rule="),
        target_matchers=("kind=~stale|error", "rule!="),
        equal=("account",),
    ),
    # An account-wide outage (STALE of no rule and no scope) hides the per-scope stale alerts.
    InhibitRuleSettings(
        source_matchers=("kind=stale", "rule=", "scope="),
        target_matchers=("kind=stale", "rule=", "scope!="),
        equal=("account",),
    ),
    # A critical firing escalation hides the warning (de-leverage) notices of that scope.
    InhibitRuleSettings(
        source_matchers=("kind=firing", "severity=critical"),
        target_matchers=("kind=~firing|stale|error", "severity=warning"),
        equal=("account", "scope"),
    ),
)


class NotifySettings(BaseModel):
    """Everything the notifier needs; embedded by the daemon's settings under ``notify``."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    routes: tuple[RouteSettings, ...] = ()
    #: Route that receives an alert when its own route keeps failing, or when no route
    #: takes it. ``None``: no fallback.
    fallback: str | None = None
    #: Consecutive failed attempts on a channel before its alerts are copied to the fallback.
    fallback_after_failures: int = Field(default=2, ge=1)
    #: Time before the same still-firing alert (incident × kind × severity) is sent again.
    repeat_interval: PositiveDuration = 3600.0
    #: How long a new alert waits to collect others arriving with it into one message.
    group_wait: Duration = 2.0
    #: How long a group already notified waits before an update of the same or lower
    #: severity is sent (a more severe one, an action, a liquidation or a safety change goes
    #: after ``group_wait``). A state that flips back within it is not sent again.
    group_interval: Duration = 60.0
    #: Labels whose values make a group (one message collects a group's alerts):
    #: any of account, scope, rule, kind, severity, incident, or a rule label.
    group_by: tuple[str, ...] = ("account",)
    #: Inhibition rules (Alertmanager's ``inhibit_rules``); the default hides per-rule stale
    #: alerts during an outage and warnings under a critical escalation of the same scope.
    inhibit_rules: tuple[InhibitRuleSettings, ...] = DEFAULT_INHIBIT_RULES
    #: Undelivered alerts kept in the journal's outbox are re-sent after a restart unless
    #: older than this; older ones are dropped with a log line.
    outbox_max_age: PositiveDuration = 86400.0
    #: Wall time between two reloads of the silences from the journal.
    silence_refresh: PositiveDuration = 10.0
    #: Back-off after a channel answers "429 Too Many Requests" without saying
    #: how long to wait (Telegram's ``retry_after`` is honoured when given).
    rate_limit_backoff: PositiveDuration = 60.0
    #: At most this many messages per channel (one apprise URL, e.g. one Telegram chat) …
    flood_limit: int = Field(default=20, ge=1)
    #: … in any window this long. Above it, alerts are grouped into digests.
    flood_window: PositiveDuration = 60.0
    #: Most alerts waiting per channel; above it the least severe, oldest one is dropped
    #: (info before warning before critical) and counted.
    queue_size: int = Field(default=1000, ge=10)
    #: Retry backoff: first wait, growth factor, longest wait.
    retry_initial: PositiveDuration = 2.0
    retry_multiplier: float = Field(default=2.0, ge=1)
    retry_max: PositiveDuration = 300.0
    #: Longest time one delivery attempt may take.
    send_timeout: PositiveDuration = 20.0
    #: Length caps: a single message's body, a digest's lines and characters, a title.
    message_max_chars: int = Field(default=800, ge=200, le=4000)
    digest_max_lines: int = Field(default=25, ge=3, le=200)
    digest_max_chars: int = Field(default=3500, ge=500, le=4000)
    title_max_chars: int = Field(default=100, ge=20, le=250)
    #: Optional dead-man's-switch URL (e.g. https://hc-ping.com/UUID), pinged with GET every
    #: ``heartbeat_interval`` while the notifier is healthy.
    heartbeat_url: SecretStr | None = None
    heartbeat_interval: PositiveDuration = 60.0
    heartbeat_timeout: PositiveDuration = 10.0
    #: A channel failing for longer than this makes the notifier unhealthy: the
    #: heartbeat stops, so the external switch tells the user.
    unhealthy_after: PositiveDuration = 600.0
    #: Send start, clean-stop and restarted-after-crash messages.
    lifecycle_messages: bool = True

    @field_validator("heartbeat_url", mode="before")
    @classmethod
    def _register_heartbeat(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str):
            register_secret(raw)
        return value

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not valid_label_name(name)]
        if bad:
            raise ValueError(f"group_by: not label names: {bad}")
        return value

    def inhibit(self) -> tuple[InhibitRule, ...]:
        return tuple(rule.rule() for rule in self.inhibit_rules)

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [route.name for route in self.routes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"notify routes must have unique names; repeated: {duplicates}")
        if self.fallback is not None and self.fallback not in names:
            raise ValueError(
                f"notify fallback '{self.fallback}' is not a route (routes: {names or 'none'})"
            )
        if self.retry_max < self.retry_initial:
            raise ValueError(
                f"notify retry_max ({format_duration(self.retry_max)}) is below retry_initial"
                f" ({format_duration(self.retry_initial)})"
            )
        if self.heartbeat_url is not None:
            raw = self.heartbeat_url.get_secret_value()
            if not raw.startswith(("http://", "https://")):
                raise ValueError(
                    f"notify heartbeat_url ({redacted_url(raw)}) must be an http(s) URL"
                )
        return self

    def route(self, name: str) -> RouteSettings:
        """The route called ``name`` (KeyError if there is none)."""
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(name)


class NotifySettingsError(ValueError):
    """Settings that cannot be used; the message names what and where, never a secret."""


def urls_from_env(value: str) -> tuple[str, ...]:
    """Split ``RISKD_NOTIFY_URLS``: URLs separated by commas and/or blanks."""
    parts = (part.strip().strip(",").strip() for part in _URL_SPLIT.split(value.strip()))
    return tuple(part for part in parts if part)


def describe_errors(exc: ValidationError, where: str) -> str:
    """A readable, secret-free account of a validation error (no input values)."""
    lines = [f"invalid notify settings in {where}:"]
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(part) for part in error["loc"]) or "notify"
        lines.append(f"  {loc}: {redact(error['msg'])}")
    return "\n".join(lines)


def parse_notify_settings(table: Mapping[str, object], where: str) -> NotifySettings:
    """Validate a ``[notify]`` table; :class:`NotifySettingsError` names every problem."""
    try:
        return NotifySettings.model_validate(dict(table))
    except ValidationError as exc:
        raise NotifySettingsError(describe_errors(exc, where)) from None


def load_notify_settings(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> NotifySettings:
    """Settings from a TOML file's ``[notify]`` table and/or ``RISKD_NOTIFY_URLS``.

    The environment variable adds a route named ``env`` taking every severity (for a quick
    ``riskd notify-test``); with no file it is the only route.
    """
    env = os.environ if environ is None else environ
    table: dict[str, object] = {}
    where = "environment"
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise NotifySettingsError(f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise NotifySettingsError(f"{path} is not valid TOML: {exc}") from None
        notify = data.get("notify", {})
        if not isinstance(notify, dict):
            raise NotifySettingsError(f"{path}: 'notify' must be a table")
        table = dict(notify)
    env_value = env.get(ENV_URLS, "")
    env_urls = urls_from_env(env_value)
    for url in env_urls:
        _register_url(url)
    if env_urls:
        routes = table.get("routes", [])
        if not isinstance(routes, list):
            raise NotifySettingsError(f"{where}: notify.routes must be an array of tables")
        table["routes"] = [*routes, {"name": ENV_ROUTE, "urls": list(env_urls)}]
        where = f"{where} + {ENV_URLS}" if path is not None else ENV_URLS
    return parse_notify_settings(table, where)


def _register_url(url: str) -> None:
    from riskd.notify.channel import register_url_secrets  # apprise loads only when needed

    register_url_secrets(url)


def _check_url(url: str) -> str | None:
    from riskd.notify.channel import check_url

    return check_url(url)
