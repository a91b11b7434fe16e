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

import warnings
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

    @property
    def label(self) -> str:
        return self._label

    @property
    def redacted_url(self) -> str:
        return self._redacted

    async def send(self, message: Outgoing) -> SendResult:
        result = await self._apprise.async_notify(
            body=message.body,
            title=message.title,
            notify_type=_notify_type(message),
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._timeout,
        )
        if bool(result):
            return SendResult(ok=True, detail="delivered")
        return SendResult(ok=False, detail=_failure_reason(result))

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
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
    except (TypeError, ValueError, AppriseException) as exc:
        return f"apprise rejects this {scheme}:// URL: {_short(redact(str(exc)))}{hint}"
    if plugin is None:
        return f"apprise cannot parse this {scheme}:// URL{hint}"
    return None


def register_url_secrets(url: str) -> None:
    """Register ``url`` and every private part apprise knows of (password, bot token…)."""
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


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"
