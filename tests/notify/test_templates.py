"""Message templates: the numbers a person needs, dry-run marked, short enough for a phone."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.templates import (
    Caps,
    num,
    pack_digest,
    render_digest,
    render_incident,
)
from riskd.severity import Severity

TELEGRAM_MAX = 4096


def test_single_action_message_has_the_numbers(alert: Callable[..., Alert]) -> None:
    """An action message names account, scope, rule, risk rate with thresholds, action, outcome."""
    a = alert(
        1,
        Severity.CRITICAL,
        AlertKind.ACTION,
        risk_rate=Decimal("0.91234567"),
        action="repay 120.5 USDT",
        outcome="accepted; riskRate 0.91 → 0.62",
    )
    m = render_incident([a])
    assert m.title == "CRITICAL · alert-001 risk high"
    lines = m.body.splitlines()
    assert lines[0] == "account main · scope isolated:COIN1USDT · rule margin-guard"
    assert lines[1] == "risk rate 0.9123 (warning 0.8, liquidation 1)"
    assert "action: repay 120.5 USDT" in lines
    assert "outcome: accepted; riskRate 0.91 → 0.62" in lines
    assert lines[-1] == "2023-11-14 22:13:20 UTC"
    assert m.severity is Severity.CRITICAL and not m.resolved


def test_dry_run_is_marked_in_title_and_action(alert: Callable[..., Alert]) -> None:
    """A dry-run action reads 'DRY-RUN: would repay 120 USDT' and the title says DRY-RUN."""
    a = alert(2, Severity.CRITICAL, AlertKind.ACTION, dry_run=True, action="repay 120 USDT")
    m = render_incident([a])
    assert "DRY-RUN" in m.title
    assert "DRY-RUN: would repay 120 USDT" in m.body.splitlines()
    assert "action: repay" not in m.body


def test_resolved_message(alert: Callable[..., Alert]) -> None:
    """A resolved alert says RESOLVED, that the rule stopped firing, and the risk rate now."""
    a = alert(3, Severity.WARNING, AlertKind.RESOLVED, risk_rate=Decimal("0.55"))
    m = render_incident([a])
    assert m.title.startswith("RESOLVED · ")
    assert "rule margin-guard stopped firing" in m.body
    assert "risk rate now 0.55" in m.body
    assert m.resolved


def test_incident_with_several_alerts_lists_each(alert: Callable[..., Alert]) -> None:
    """Alerts of one incident render as one message with a line per alert, resolved last."""
    fired = alert(4, Severity.WARNING, AlertKind.FIRING)
    acted = alert(4, Severity.CRITICAL, AlertKind.ACTION, at=fired.at + 5, action="repay 1 BTC")
    done = alert(4, Severity.WARNING, AlertKind.RESOLVED, at=fired.at + 65)
    m = render_incident([fired, acted, done])
    assert m.title.startswith("RESOLVED")
    assert m.severity is Severity.CRITICAL
    assert "- 22:13:25 action: action: repay 1 BTC" in m.body
    assert "- 22:14:25 resolved: rule margin-guard stopped firing" in m.body
    assert not m.resolved


def test_length_caps_hold(alert: Callable[..., Alert]) -> None:
    """A huge rule message and title are cut to the caps, marked with an ellipsis."""
    caps = Caps(message_max_chars=300, title_max_chars=40)
    a = alert(5, message="x" * 5000)
    a = Alert(**{**_fields(a), "title": "T" * 500})
    m = render_incident([a], caps)
    assert len(m.title) == 40 and m.title.endswith("…")
    assert len(m.body) <= 300


def test_message_fits_a_phone_and_telegram(alert: Callable[..., Alert]) -> None:
    """A typical message is a title plus a few lines, far below Telegram's 4096 limit."""
    m = render_incident([alert(6, Severity.CRITICAL, AlertKind.ACTION, action="repay 5 USDT")])
    assert len(m.body.splitlines()) <= 6
    assert len(m.title) + len(m.body) < 800 < TELEGRAM_MAX


def test_digest_lists_every_alert_most_severe_first(alert: Callable[..., Alert]) -> None:
    """A digest puts one line per alert, critical first, split within the caps."""
    alerts = [
        alert(i, (Severity.INFO, Severity.WARNING, Severity.CRITICAL)[i % 3]) for i in range(60)
    ]
    ordered = sorted(alerts, key=lambda a: (-a.severity.rank, a.at))
    parts = pack_digest(ordered, Caps(digest_max_lines=25))
    assert [len(p) for p, _ in parts] == [25, 25, 10]
    text = "\n".join(body for _, body in parts)
    for a in alerts:
        assert a.title in text
    assert parts[0][1].splitlines()[0].startswith("CRITICAL")
    assert parts[-1][1].splitlines()[-1].startswith("INFO")
    first = render_digest(parts[0][0], parts[0][1], more=35)
    assert first.title == "riskd: 25 alerts — 20 critical, 5 warning (+35 more)"
    assert all(len(body) <= 3500 for _, body in parts)


def test_digest_respects_character_cap(alert: Callable[..., Alert]) -> None:
    """Long lines close a digest part before the character cap is passed."""
    alerts = [alert(i, outcome="y" * 150) for i in range(40)]
    parts = pack_digest(alerts, Caps(digest_max_lines=200, digest_max_chars=1000))
    assert len(parts) > 1
    assert all(len(body) <= 1000 for _, body in parts)
    assert sum(len(p) for p, _ in parts) == 40


def test_numbers_are_plain_decimals() -> None:
    """Decimals show at most 4 decimals, no exponent, no trailing zeros."""
    assert num(Decimal("0.91234567")) == "0.9123"
    assert num(Decimal("1.00")) == "1"
    assert num(Decimal("1E+2")) == "100"
    assert num(Decimal("0")) == "0"
    assert num(Decimal("0.00001")) == "0"


def _fields(a: Alert) -> dict[str, object]:
    return {name: getattr(a, name) for name in Alert.__dataclass_fields__}
