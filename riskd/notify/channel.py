"""The apprise adapter behind a narrow :class:`Channel` protocol.

A *channel* is one apprise URL (one Telegram chat, one mailbox, one webhook): the unit of
flood control and of health. Tests inject fakes through :class:`ChannelFactory`.

apprise (>= 2) delivers through ``Apprise.async_notify``: blocking plugins (SMTP, requests)
run in apprise's worker threads, so a send never blocks the event loop; the structured
``AppriseResult`` gives the per-URL outcome and the plugin's log lines, which become the
(redacted) failure reason. At DEBUG level apprise logs request URLs that contain bot tokens:
:mod:`riskd.notify.logredact` puts a filter on its logger that redacts every record.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

with warnings.catch_warnings():
    # apprise's e-mail plugin loads its PGP helper, which imports the stdlib ``imghdr``
    # (deprecated in 3.11, gone in 3.13 where apprise installs a shim). Load both here, once,
    # with that one DeprecationWarning silenced, instead of at the first e-mail URL.
    warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
    import apprise
    import apprise.utils.pgp
    from apprise.apprise import N_MGR
    from apprise.exception import AppriseException
    from apprise.plugins import url_to_dict
from pydantic import SecretStr

from riskd.notify.logredact import install_log_redaction
from riskd.notify.settings import redacted_url
from riskd.redact import redact, register_secret
from riskd.severity import Severity

_REASON_MAX = 200
#: Characters kept free under a plugin's limit (apprise adds a newline between title and body).
_LIMIT_MARGIN = 16
#: apprise's log line for a refused request ends ``…, error=429.``; Telegram's description
#: says ``Too Many Requests: retry after 35``.
_TOO_MANY = re.compile(r"error=429\b|too many requests", re.IGNORECASE)
_RETRY_AFTER = re.compile(r"retry[ _-]?after\D{0,3}(\d+(?:\.\d+)?)", re.IGNORECASE)
_EXAMPLES = {
    "tgram": "tgram://BOT_TOKEN/CHAT_ID",
    "mailto": "mailto://user:password@smtp.example.com?to=me@example.com",
    "mailtos": "mailtos://user:password@smtp.example.com?to=me@example.com",
    "json": "json://host:port/path",
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for one channel."""

    title: str
    body: str
    severity: Severity
    #: Every alert in it has resolved (rendered as a success, e.g. green in some apps).
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one delivery attempt; ``detail`` is redacted."""

    ok: bool
    detail: str
    #: The destination asked us to wait (HTTP 429): seconds before the next attempt.
    retry_after: float | None = None


class Channel(Protocol):
    """Something that delivers a rendered message to one destination."""

    @property
    def label(self) -> str:
        """``route[index]``, e.g. ``telegram[0]``: safe to log."""
        ...

    @property
    def redacted_url(self) -> str:
        """e.g. ``tgram://***``: safe to log."""
        ...

    async def send(self, message: Outgoing) -> SendResult:
        """Deliver ``message``; report failures in the result rather than raising."""
        ...


class ChannelFactory(Protocol):
    """Builds the channel for one URL of one route."""

    def __call__(self, route: str, index: int, url: SecretStr, timeout: float) -> Channel: ...


class ChannelError(ValueError):
    """A URL apprise cannot use (message names the route, never the URL)."""


class AppriseChannel:
    """One apprise URL, delivered through ``Apprise.async_notify``."""

    def __init__(
        self,
        route: str,
        index: int,
        url: SecretStr,
        timeout: float,
        *,
        min_interval: float | None = None,
    ) -> None:
        raw = url.get_secret_value().strip()
        register_url_secrets(raw)
        self._label = f"{route}[{index}]"
        self._redacted = redacted_url(raw)
        self._timeout = timeout
        self._apprise = apprise.Apprise()
        if not self._apprise.add(raw):
            raise ChannelError(
                f"notify route '{route}' url #{index + 1} ({self._redacted}): "
                + (check_url(raw) or "apprise cannot use this URL")
            )
        if min_interval is not None:
            for plugin in self._apprise:
                plugin.request_rate_per_sec = min_interval
        #: Longest message (title + body) every plugin of this URL takes whole: Telegram
        #: 4096. apprise would send a longer one as is (and Telegram refuse it) unless the URL
        #: asks it to split or truncate, so riskd cuts it first (templates.fit).
        limits = [int(getattr(plugin, "body_maxlen", 0) or 0) for plugin in self._apprise]
        self.max_chars: int | None = min((n for n in limits if n > 0), default=None)

    @property
    def label(self) -> str:
        return self._label

    @property
    def redacted_url(self) -> str:
        return self._redacted

    async def send(self, message: Outgoing) -> SendResult:
        if self.max_chars is not None:
            message = fit(message, self.max_chars - _LIMIT_MARGIN)
        result = await self._apprise.async_notify(
            body=message.body,
            title=message.title,
            notify_type=_notify_type(message),
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._timeout,
        )
        if bool(result):
            return SendResult(ok=True, detail="delivered")
        detail = _failure_reason(result)
        return SendResult(ok=False, detail=detail, retry_after=rate_limited(detail))

    def __repr__(self) -> str:
        return f"AppriseChannel({self._label}, {self._redacted})"


class AppriseChannelFactory:
    """The production :class:`ChannelFactory`.

    ``min_interval``: seconds apprise itself waits between two requests on one URL. ``None``
    keeps each plugin's default (5.5 s for e-mail, about none for Telegram and webhooks);
    riskd's own flood control applies either way.
    """

    def __init__(self, *, min_interval: float | None = None) -> None:
        self._min_interval = min_interval

    def __call__(self, route: str, index: int, url: SecretStr, timeout: float) -> Channel:
        return AppriseChannel(route, index, url, timeout, min_interval=self._min_interval)

    def __repr__(self) -> str:
        return f"AppriseChannelFactory(min_interval={self._min_interval})"


def check_url(url: str) -> str | None:
    """Why apprise cannot use ``url`` (redacted), or ``None`` when it can."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "not a URL (expected scheme://…, e.g. tgram://BOT_TOKEN/CHAT_ID)"
    scheme = scheme.lower()
    if scheme not in N_MGR:
        return f"unknown apprise scheme '{scheme}://'"
    example = _EXAMPLES.get(scheme)
    hint = f" (expected e.g. {example})" if example else ""
    try:
        with _apprise_quiet():
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
    except (TypeError, ValueError, AppriseException) as exc:
        return f"apprise rejects this {scheme}:// URL: {_short(redact(str(exc)))}{hint}"
    if plugin is None:
        return f"apprise cannot parse this {scheme}:// URL{hint}"
    return None


@contextlib.contextmanager
def _apprise_quiet() -> Iterator[None]:
    """apprise logs its own words for a URL it cannot parse; :func:`check_url` says it once,
    in riskd's, naming the route and the setting."""
    logger = logging.getLogger("apprise")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def register_url_secrets(url: str) -> None:
    """Register ``url`` and every private part apprise knows of (password, bot token…). A
    bare ``scheme://`` holds nothing private: registering it would mask that scheme in every
    message (the hint that names it too)."""
    _, sep, rest = url.partition("://")
    if sep and not rest.strip("/ "):
        return
    register_secret(url)
    parsed: dict[str, Any] | None = url_to_dict(url, secure_logging=True)  # type: ignore[no-untyped-call]
    if not parsed:
        return
    values: list[object] = [parsed.get("password")]
    plugin = N_MGR[parsed["schema"]] if parsed.get("schema") else None
    if plugin is not None:
        specs = {**plugin.template_tokens, **plugin.template_args}
        for name, spec in specs.items():
            if isinstance(spec, dict) and spec.get("private"):
                values.append(parsed.get(name))
                map_to = spec.get("map_to")
                if isinstance(map_to, str):
                    values.append(parsed.get(map_to))
    for value in values:
        if isinstance(value, str) and value:
            register_secret(value)
            register_secret(quote(value, safe=""))


install_log_redaction()


def _notify_type(message: Outgoing) -> apprise.NotifyType:
    if message.resolved:
        return apprise.NotifyType.SUCCESS
    if message.severity is Severity.CRITICAL:
        return apprise.NotifyType.FAILURE
    if message.severity is Severity.WARNING:
        return apprise.NotifyType.WARNING
    return apprise.NotifyType.INFO


def _failure_reason(result: apprise.AppriseResult) -> str:
    reasons: list[str] = []
    for service in result.results:
        messages = [
            entry.message
            for entry in service.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        reason = messages[-1] if messages else "no detail"
        reasons.append(f"{service.status.name}: {reason}")
    if not reasons:
        call = [entry.message for entry in result.call_logs()]
        reasons.append(f"{result.status.name}: {call[-1] if call else 'nothing was sent'}")
    return _short(redact("; ".join(reasons)))


def rate_limited(detail: str) -> float | None:
    """Seconds a rate-limited destination asked us to wait, ``0.0`` when it said 429 without
    a time (the caller then waits its own default), ``None`` when it was no 429."""
    if not _TOO_MANY.search(detail):
        return None
    m = _RETRY_AFTER.search(detail)
    return float(m.group(1)) if m else 0.0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


_ELLIPSIS = "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + _ELLIPSIS


def fit(message: Outgoing, limit: int) -> Outgoing:
    """``message`` within ``limit`` characters (title, a blank line and body), cutting whole
    lines from the end and saying so: ``… (N more lines)``."""
    if len(message.title) + 2 + len(message.body) <= limit:
        return message
    title = _clip(message.title, max(20, min(len(message.title), limit // 4)))
    room = limit - len(title) - 2
    lines = message.body.split("\n")
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        marker = f"{_ELLIPSIS} ({len(lines) - index} more lines)"
        if size + len(line) + 1 + len(marker) > room:
            if not kept:  # one very long first line: cut it
                kept.append(_clip(line, max(1, room - len(marker) - 1)))
                index += 1
                marker = f"{_ELLIPSIS} ({len(lines) - index} more lines)"
            if index < len(lines):
                kept.append(marker)
            break
        kept.append(line)
        size += len(line) + 1
    return Outgoing(title, "\n".join(kept), message.severity, message.resolved)
