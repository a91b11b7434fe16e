"""Message templates: short enough for a phone, with the numbers a person needs. Pure.

Three shapes:

- one incident (one or a few alerts with the same ``group_key``)::

    CRITICAL · DRY-RUN · margin ratio high
    account main · scope cross · rule margin-guard
    risk rate 0.9123 (warning 0.8, liquidation 1)
    DRY-RUN: would repay 120 USDT
    outcome: accepted; riskRate 0.91 → 0.62
    2026-11-23 20:02:42 UTC

- a resolved incident: ``RESOLVED · margin ratio high`` and where it stood when it stopped;
- a digest (flood control): one line per alert, most severe first, split into parts that
  respect the length caps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import Outgoing
from riskd.notify.settings import NotifySettings
from riskd.severity import Severity

_LINE_MAX = 160
_MESSAGE_MAX = 200
_QUANTUM = Decimal("0.0001")
ELLIPSIS = "…"


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
    """A Decimal for people: at most 4 decimals, no trailing zeros, never exponent form."""
    rounded = value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN) if value != 0 else value
    text = format(rounded.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def when(at: float) -> str:
    """``2026-11-23 20:02:42 UTC``."""
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def most_severe(alerts: Sequence[Alert]) -> Alert:
    """The most severe alert, the latest among equals."""
    best = alerts[0]
    for alert in alerts[1:]:
        if alert.severity >= best.severity:
            best = alert
    return best


def title_of(alert: Alert, caps: Caps = Caps()) -> str:
    """``CRITICAL · DRY-RUN · margin ratio high`` / ``RESOLVED · margin ratio high``."""
    parts = ["RESOLVED" if alert.kind is AlertKind.RESOLVED else alert.severity.upper()]
    if alert.kind is AlertKind.TEST:
        parts.append("TEST")
    if alert.dry_run:
        parts.append("DRY-RUN")
    parts.append(alert.title.strip() or alert.kind.value)
    return clip(" · ".join(parts), caps.title_max_chars)


def where_line(alert: Alert) -> str | None:
    """``account main · scope cross · rule margin-guard``."""
    parts = [
        f"{name} {value}"
        for name, value in (
            ("account", alert.account),
            ("scope", alert.scope),
            ("rule", alert.rule),
        )
        if value
    ]
    return " · ".join(parts) if parts else None


def risk_line(alert: Alert) -> str | None:
    """``risk rate 0.9123 (warning 0.8, liquidation 1)``."""
    if alert.risk_rate is None:
        return None
    limits = [
        f"{name} {num(value)}"
        for name, value in (
            ("warning", alert.warning_risk_ratio),
            ("liquidation", alert.liquidation_risk_ratio),
        )
        if value is not None
    ]
    label = "risk rate now" if alert.kind is AlertKind.RESOLVED else "risk rate"
    suffix = f" ({', '.join(limits)})" if limits else ""
    return f"{label} {num(alert.risk_rate)}{suffix}"


def action_line(alert: Alert) -> str | None:
    """``DRY-RUN: would repay 120 USDT`` or ``action: repay 120 USDT``."""
    if not alert.action:
        return None
    if alert.dry_run:
        return f"DRY-RUN: would {alert.action}"
    return f"action: {alert.action}"


def event_lines(alert: Alert) -> list[str]:
    """What happened: action, outcome, the rule's own message."""
    lines = [line for line in (action_line(alert),) if line]
    if alert.outcome:
        lines.append(f"outcome: {alert.outcome}")
    if alert.message:
        lines.append(clip(" ".join(alert.message.split()), _MESSAGE_MAX))
    if alert.kind is AlertKind.RESOLVED and not alert.message:
        lines.append(f"rule {alert.rule or alert.title} stopped firing")
    return lines


def render_incident(alerts: Sequence[Alert], caps: Caps = Caps()) -> Outgoing:
    """One message for one incident (alerts sharing a ``group_key``, in arrival order)."""
    if not alerts:
        raise ValueError("render_incident needs at least one alert")
    head = most_severe(alerts)
    latest = alerts[-1]
    lines: list[str] = []
    where = where_line(latest) or where_line(head)
    if where:
        lines.append(where)
    with_risk = [a for a in alerts if a.risk_rate is not None]
    risk = risk_line(with_risk[-1]) if with_risk else None
    if risk:
        lines.append(risk)
    if len(alerts) == 1:
        lines.extend(event_lines(head))
        lines.append(when(head.at))
    else:
        for alert in alerts:
            detail = "; ".join(event_lines(alert)) or alert.title
            stamp = datetime.fromtimestamp(alert.at, tz=UTC).strftime("%H:%M:%S")
            lines.append(f"- {stamp} {alert.kind.value}: {detail}")
        lines.append(when(latest.at))
    body = "\n".join(clip(line, _LINE_MAX) for line in lines)
    return Outgoing(
        title=title_of(head if latest.kind is not AlertKind.RESOLVED else latest, caps),
        body=clip(body, caps.message_max_chars),
        severity=head.severity,
        resolved=all(a.kind is AlertKind.RESOLVED for a in alerts),
    )


def digest_line(alert: Alert) -> str:
    """One alert on one line: ``CRITICAL [main/cross] margin ratio high · risk 0.91 · …``."""
    label = "RESOLVED" if alert.kind is AlertKind.RESOLVED else alert.severity.upper()
    where = "/".join(part for part in (alert.account, alert.scope) if part)
    parts = [f"{label} {f'[{where}] ' if where else ''}{alert.title.strip() or alert.kind}"]
    if alert.risk_rate is not None:
        parts.append(f"risk {num(alert.risk_rate)}")
    action = action_line(alert)
    if action:
        parts.append(action)
    if alert.outcome:
        parts.append(alert.outcome)
    return clip(" · ".join(parts), _LINE_MAX)


def digest_order(alerts: Sequence[Alert]) -> list[Alert]:
    """Most severe first; by time within a severity."""
    return sorted(alerts, key=lambda a: (-a.severity.rank, a.at))


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
    """``riskd: 25 alerts — 3 critical, 22 warning (+40 more)``."""
    counts = [
        f"{sum(1 for a in alerts if a.severity is severity)} {severity}"
        for severity in (Severity.CRITICAL, Severity.WARNING, Severity.INFO)
        if any(a.severity is severity for a in alerts)
    ]
    noun = "alert" if len(alerts) == 1 else "alerts"
    follow = f" (+{more} more)" if more > 0 else ""
    return clip(f"riskd: {len(alerts)} {noun} — {', '.join(counts)}{follow}", caps.title_max_chars)


def render_digest(
    part_alerts: Sequence[Alert], body: str, more: int = 0, caps: Caps = Caps()
) -> Outgoing:
    """One digest message; ``more`` alerts wait for the next one."""
    head = most_severe(part_alerts)
    return Outgoing(
        title=digest_title(part_alerts, more, caps),
        body=body,
        severity=head.severity,
        resolved=all(a.kind is AlertKind.RESOLVED for a in part_alerts),
    )
