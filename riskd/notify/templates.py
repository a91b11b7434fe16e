"""Message templates: what happened first, the numbers next, lines that fit a phone. Pure.

A subject names the severity, the event, the account and scope, the risk rate and what the
alert says::

    CRITICAL · ACTION · alice/isolated:BTCUSDT · riskRate 0.86 · repay 1200 USDT

A group's message is named after its most important alert (LIQUIDATED, ACTION over errors and
stale data over FIRING over safety changes over RESOLVED; then severity), so an action is
never announced under a RESOLVED subject. The body::

    riskRate 0.86 → 0.62 · warning 0.8 · liquidation 1
    repay 1200 USDT
    capped: max_action_usdt 1200 USDT: asked 1500 USDT
    outcome: accepted
    alice · isolated:BTCUSDT · rule de-leverage
    2026-11-23 20:02:42 UTC
    also:
    20:02:40 WARNING FIRING isolated:BTCUSDT 0.86 de-leverage

Under flood control, a *digest* lists one line per alert, most important first. Every
message is cut to the channel's limit (:func:`fit`, Telegram: 4096 characters) with a
``… (N more lines)`` marker; alerts that do not fit a group's message wait for the next one.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from riskd.amounts import for_people
from riskd.notify.alert import EVENT_RANK, Alert, AlertKind
from riskd.notify.channel import Outgoing
from riskd.notify.channel import fit as fit  # re-exported: channels cut messages to their limit
from riskd.notify.settings import NotifySettings
from riskd.severity import Severity

_LINE_MAX = 160
#: Lines are wrapped to fit a phone where possible.
PHONE = 60
ELLIPSIS = "…"
SEP = " · "


@dataclass(frozen=True, slots=True)
class Caps:
    """Length caps (characters, lines)."""

    message_max_chars: int = 800
    digest_max_lines: int = 25
    digest_max_chars: int = 3500
    title_max_chars: int = 100

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> Caps:
        return cls(
            message_max_chars=settings.message_max_chars,
            digest_max_lines=settings.digest_max_lines,
            digest_max_chars=settings.digest_max_chars,
            title_max_chars=settings.title_max_chars,
        )


def num(value: Decimal) -> str:
    """A Decimal for people: at most 4 decimals, no trailing zeros, never exponent form,
    ``infinite`` for an infinite figure (:func:`riskd.amounts.for_people`)."""
    return for_people(value)


def when(at: float) -> str:
    """``2026-11-23 20:02:42 UTC``."""
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_time(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%H:%M:%S")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def importance(alert: Alert) -> tuple[int, int, float]:
    return (EVENT_RANK.get(alert.kind, 0), alert.severity.rank, alert.at)


def most_important(alerts: Sequence[Alert]) -> Alert:
    """The alert that names a group: event rank, then severity, then the latest."""
    return max(alerts, key=importance)


def where(alert: Alert) -> str:
    """``alice/isolated:BTCUSDT``, ``alice``, ``isolated:BTCUSDT`` or ``""``."""
    return "/".join(part for part in (alert.account, alert.scope) if part)


def event_word(alert: Alert) -> str:
    if alert.kind is AlertKind.LIVE and alert.dry_run:
        return "DRY-RUN"
    return alert.kind.label


def _strip_prefix(text: str, *prefixes: str) -> str:
    """``text`` without any (repeated) leading ``prefix:``, case-insensitive."""
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if text.lower().startswith(prefix.lower()):
                text = text[len(prefix) :].lstrip()
                changed = True
    return text


def action_text(alert: Alert) -> str | None:
    """``repay 1200 USDT`` / ``would repay 1200 USDT`` (never ``action: action: …``)."""
    if not alert.action:
        return None
    text = _strip_prefix(alert.action.strip(), "action:", "DRY-RUN:", "would ")
    return f"would {text}" if alert.dry_run else text


def tail_of(alert: Alert) -> str:
    """What the alert says, without what the subject already holds."""
    text = " ".join(alert.title.split())
    text = _strip_prefix(text, "DRY-RUN:", "DRY-RUN", "action:")
    if alert.kind is AlertKind.LIFECYCLE:
        text = _strip_prefix(text, "riskd ")
    place = where(alert)
    for repeated in filter(None, (place, alert.account and f"account {alert.account}")):
        text = text.replace(repeated, "")
    word = re.escape(alert.kind.value)
    for _ in range(2):  # "stale data for a/c" → "data"; "guard firing for a/c" → "guard"
        text = " ".join(text.split()).strip(" :·-,")
        text = re.sub(r"\s+(for|on|of)$", "", text).strip(" :·-,")
        text = re.sub(rf"^{word}\b|\b{word}$", "", text, flags=re.IGNORECASE)
    text = text.strip(" :·-,")
    action = action_text(alert)
    if action and action.lower() not in text.lower():
        text = f"{action}{SEP}{text}" if text else action
    return text


def subject_of(alert: Alert, caps: Caps = Caps(), more: int = 0) -> str:
    """``CRITICAL · ACTION · alice/isolated:BTCUSDT · riskRate 0.86 · repay 1200 USDT``."""
    parts = [alert.severity.upper(), event_word(alert)]
    if alert.dry_run and alert.kind is not AlertKind.LIVE:
        parts.append("DRY-RUN")
    place = where(alert)
    if place:
        parts.append(place)
    if alert.risk_rate is not None:
        parts.append(f"riskRate {num(alert.risk_rate)}")
    tail = tail_of(alert)
    if tail:
        parts.append(tail)
    follow = f" (+{more})" if more > 0 else ""
    return clip(SEP.join(parts), caps.title_max_chars - len(follow)) + follow


def risk_line(alert: Alert) -> str | None:
    """``riskRate 0.86 → 0.62 · warning 0.8 · liquidation 1``."""
    if alert.risk_rate is None:
        return None
    head = "riskRate now" if alert.kind is AlertKind.RESOLVED else "riskRate"
    text = f"{head} {num(alert.risk_rate)}"
    if alert.risk_after is not None:
        text += f" → {num(alert.risk_after)}"
    for name, value in (
        ("warning", alert.warning_risk_ratio),
        ("liquidation", alert.liquidation_risk_ratio),
    ):
        if value is not None:
            text += f"{SEP}{name} {num(value)}"
    return text


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), PHONE, break_on_hyphens=False) or [""]


def detail_lines(alert: Alert) -> list[str]:
    """The head alert's lines: numbers, what was done, why, where, when."""
    lines: list[str] = []
    risk = risk_line(alert)
    if risk:
        lines.append(risk)
    action = action_text(alert)
    if action:
        lines.append(f"DRY-RUN: {action}" if alert.dry_run else action)
    if alert.capped:
        lines.append(f"capped: {_strip_prefix(alert.capped.strip(), 'capped:')}")
    if alert.outcome:
        lines.append(f"outcome: {_strip_prefix(alert.outcome.strip(), 'outcome:')}")
    if alert.message:
        lines.extend(_wrapped(clip(alert.message, 400)))
    elif alert.kind is AlertKind.RESOLVED and alert.rule:
        lines.append(f"rule {alert.rule} stopped firing")
    origin = [part for part in (alert.account, alert.scope) if part]
    if alert.rule:
        origin.append(f"rule {alert.rule}")
    if origin:
        lines.append(SEP.join(origin))
    lines.append(when(alert.at))
    return [clip(line, _LINE_MAX) for line in lines]


def brief_line(alert: Alert, *, with_account: bool = True) -> str:
    """One alert on one line: ``20:02:40 WARNING FIRING alice/cross 0.86 margin-guard``."""
    parts = [clock_time(alert.at), alert.severity.upper(), event_word(alert)]
    if alert.dry_run and alert.kind is not AlertKind.LIVE:
        parts.append("DRY-RUN")
    place = where(alert) if with_account else (alert.scope or "")
    if place:
        parts.append(place)
    if alert.risk_rate is not None:
        parts.append(num(alert.risk_rate))
    tail = tail_of(alert)
    if tail:
        parts.append(tail)
    if alert.capped:
        parts.append("capped")
    if alert.outcome:
        parts.append(_strip_prefix(alert.outcome.strip(), "outcome:"))
    return clip(" ".join(parts), _LINE_MAX)


def plain_message(alert: Alert, error: Exception, caps: Caps = Caps()) -> Outgoing:
    """The alert's fields as plain text, built with ``str`` only: sent when the templates
    failed on it, so that a rendering defect loses no alert and never stops a channel."""
    head = f"{alert.severity.name} · {alert.kind.name} · {alert.account}/{alert.scope}"
    fields = {
        "riskRate": alert.risk_rate,
        "action": alert.action,
        "outcome": alert.outcome,
        "message": alert.message,
        "capped": alert.capped,
        "rule": alert.rule,
    }
    lines = [f"{k}: {v}" for k, v in fields.items() if v is not None]
    lines.append(f"(riskd could not format this alert in full: {type(error).__name__})")
    return Outgoing(
        title=clip(f"{head} · {alert.title}", caps.title_max_chars),
        body=clip("\n".join(lines), caps.message_max_chars),
        severity=alert.severity,
        resolved=alert.kind is AlertKind.RESOLVED,
    )


def pack_group(alerts: Sequence[Alert], caps: Caps = Caps()) -> tuple[list[Alert], Outgoing]:
    """The message for one group: the most important alert in full, one line per other
    alert, as many as fit ``message_max_chars`` and ``digest_max_lines``. Returns the alerts
    it carries (the rest wait for the next message) and the message."""
    if not alerts:
        raise ValueError("pack_group needs at least one alert")
    head = most_important(alerts)
    lines = detail_lines(head)
    others = [a for a in alerts if a is not head]
    taken = [head]
    same_account = len({a.account for a in alerts}) == 1
    if others:
        lines.append("also:")
    for alert in others:
        line = brief_line(alert, with_account=not same_account)
        size = sum(len(x) + 1 for x in lines) + len(line)
        if len(taken) > caps.digest_max_lines or size > caps.message_max_chars:
            break
        lines.append(line)
        taken.append(alert)
    if len(taken) == 1 and others:
        lines.pop()  # "also:" with nothing after it
    more = len(alerts) - len(taken)
    body = "\n".join(lines)
    message = Outgoing(
        title=subject_of(head, caps, more=len(taken) - 1 + more),
        body=clip(body, caps.message_max_chars),
        severity=max((a.severity for a in taken), key=lambda s: s.rank),
        resolved=all(a.kind is AlertKind.RESOLVED for a in taken),
    )
    return taken, message


def render_incident(alerts: Sequence[Alert], caps: Caps = Caps()) -> Outgoing:
    """One message for ``alerts`` (all of them must fit; see :func:`pack_group`)."""
    return pack_group(alerts, caps)[1]


def digest_line(alert: Alert) -> str:
    return brief_line(alert)


def digest_order(alerts: Sequence[Alert]) -> list[Alert]:
    """Most important first; by time within the same rank."""
    return sorted(alerts, key=lambda a: (-EVENT_RANK.get(a.kind, 0), -a.severity.rank, a.at))


def pack_digest(alerts: Sequence[Alert], caps: Caps = Caps()) -> list[tuple[list[Alert], str]]:
    """Split alerts (already ordered) into parts within the line and character caps."""
    parts: list[tuple[list[Alert], str]] = []
    current: list[Alert] = []
    lines: list[str] = []
    size = 0
    for alert in alerts:
        line = digest_line(alert)
        full = len(lines) >= caps.digest_max_lines or size + len(line) + 1 > caps.digest_max_chars
        if lines and full:
            parts.append((current, "\n".join(lines)))
            current, lines, size = [], [], 0
        current.append(alert)
        lines.append(line)
        size += len(line) + 1
    if lines:
        parts.append((current, "\n".join(lines)))
    return parts


def digest_title(alerts: Sequence[Alert], more: int = 0, caps: Caps = Caps()) -> str:
    """``CRITICAL · ACTION · 25 alerts: 3 critical, 22 warning (+40 more)``."""
    head = most_important(alerts)
    counts = [
        f"{sum(1 for a in alerts if a.severity is severity)} {severity}"
        for severity in (Severity.CRITICAL, Severity.WARNING, Severity.INFO)
        if any(a.severity is severity for a in alerts)
    ]
    noun = "alert" if len(alerts) == 1 else "alerts"
    follow = f" (+{more} more)" if more > 0 else ""
    text = f"{head.severity.upper()}{SEP}{event_word(head)}{SEP}{len(alerts)} {noun}: "
    return clip(text + ", ".join(counts), caps.title_max_chars - len(follow)) + follow


def render_digest(
    part_alerts: Sequence[Alert], body: str, more: int = 0, caps: Caps = Caps()
) -> Outgoing:
    """One digest message; ``more`` alerts wait for the next one."""
    return Outgoing(
        title=digest_title(part_alerts, more, caps),
        body=body,
        severity=max((a.severity for a in part_alerts), key=lambda s: s.rank),
        resolved=all(a.kind is AlertKind.RESOLVED for a in part_alerts),
    )
