"""Message templates: the numbers a person needs, dry-run marked, short enough for a phone."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import Outgoing
from riskd.notify.templates import (
    Caps,
    fit,
    num,
    pack_digest,
    pack_group,
    render_digest,
    render_incident,
)
from riskd.severity import Severity

TELEGRAM_MAX = 4096


def test_action_subject_says_what_happened(alert: Callable[..., Alert]) -> None:
    """An action's subject: severity, ACTION, account/scope, risk rate and the amount."""
    a = alert(
        1,
        Severity.CRITICAL,
        AlertKind.ACTION,
        account="alice",
        scope="isolated:BTCUSDT",
        risk_rate=Decimal("0.86"),
        title="repay 1200 USDT",
        action="repay 1200 USDT",
        outcome="accepted; riskRate 0.86 → 0.62",
    )
    m = render_incident([a])
    assert m.title == "CRITICAL · ACTION · alice/isolated:BTCUSDT · riskRate 0.86 · repay 1200 USDT"
    lines = m.body.splitlines()
    assert lines[0] == "riskRate 0.86 · warning 0.8 · liquidation 1"
    assert lines[1] == "repay 1200 USDT"
    assert "outcome: accepted; riskRate 0.86 → 0.62" in lines
    assert m.severity is Severity.CRITICAL and not m.resolved


def test_no_repeated_words(alert: Callable[..., Alert]) -> None:
    """Prefixes given twice by a caller (action: action:, DRY-RUN:) appear once."""
    a = alert(
        2,
        Severity.WARNING,
        AlertKind.ACTION,
        dry_run=True,
        title="DRY-RUN: would repay 5 USDT",
        action="action: action: repay 5 USDT",
        outcome="outcome: accepted",
    )
    m = render_incident([a])
    text = f"{m.title}\n{m.body}"
    assert "action:" not in text and "outcome: outcome:" not in text
    assert text.count("would repay 5 USDT") == 2  # once in the subject, once in the body
    assert m.title.startswith("WARNING · ACTION · DRY-RUN · main/isolated:COIN2USDT")
    assert "DRY-RUN: would repay 5 USDT" in m.body.splitlines()


def test_cap_is_stated(alert: Callable[..., Alert]) -> None:
    """An amount lowered by a cap says which cap and what was asked."""
    a = alert(
        3,
        Severity.CRITICAL,
        AlertKind.ACTION,
        action="repay 1200 USDT",
        capped="max_action_usdt 1200 USDT: asked 2400 USDT",
    )
    assert "capped: max_action_usdt 1200 USDT: asked 2400 USDT" in render_incident([a]).body


def test_action_never_under_resolved(alert: Callable[..., Alert]) -> None:
    """Firing, action and resolved in one group: the subject is the ACTION, never RESOLVED."""
    fired = alert(4, Severity.WARNING, title="de-leverage")
    acted = alert(4, Severity.WARNING, AlertKind.ACTION, at=1_700_000_001.0, action="repay 1 BTC")
    resolved = alert(4, Severity.WARNING, AlertKind.RESOLVED, at=1_700_000_009.0)
    m = render_incident([fired, acted, resolved])
    assert m.title.startswith("WARNING · ACTION · main/isolated:COIN4USDT")
    assert "RESOLVED" not in m.title and not m.resolved
    assert "also:" in m.body and "RESOLVED" in m.body and "FIRING" in m.body


def test_subject_priority_order(alert: Callable[..., Alert]) -> None:
    """LIQUIDATED over ACTION over FIRING over RESOLVED, whatever the order of arrival."""
    kinds = [AlertKind.RESOLVED, AlertKind.FIRING, AlertKind.LIQUIDATED, AlertKind.ACTION]
    alerts = [alert(i, Severity.WARNING, kind) for i, kind in enumerate(kinds)]
    assert " · LIQUIDATED · " in render_incident(alerts).title
    assert " · ACTION · " in render_incident(alerts[:2] + alerts[3:]).title
    assert " · FIRING · " in render_incident(alerts[:2]).title


def test_rule_title_is_the_subject_tail(alert: Callable[..., Alert]) -> None:
    """A rule's rendered title ends the subject; the event word and the place are not repeated."""
    a = alert(5, Severity.WARNING, title="margin-guard firing for main/isolated:COIN5USDT")
    assert render_incident([a]).title == (
        "WARNING · FIRING · main/isolated:COIN5USDT · riskRate 0.8123 · margin-guard"
    )


def test_safety_events_are_named(alert: Callable[..., Alert]) -> None:
    """PAUSED, LIVE, RELOAD and a switch back to dry-run name their event in the subject."""
    for kind, dry, word in (
        (AlertKind.PAUSED, False, "PAUSED"),
        (AlertKind.LIVE, False, "LIVE"),
        (AlertKind.LIVE, True, "DRY-RUN"),
        (AlertKind.RELOAD, False, "RELOAD"),
    ):
        a = Alert(kind=kind, severity=Severity.WARNING, title="x", at=0.0, account="a", dry_run=dry)
        assert render_incident([a]).title == f"WARNING · {word} · a · x"


def test_lines_fit_a_phone(alert: Callable[..., Alert]) -> None:
    """Every line of a single alert's message but the rule's own words fits 60 characters."""
    a = alert(6, Severity.CRITICAL, AlertKind.ACTION, action="repay 5 USDT", message="m " * 100)
    body = render_incident([a]).body
    assert all(len(line) <= 60 for line in body.splitlines())


def test_fit_cuts_lines_and_says_how_many(alert: Callable[..., Alert]) -> None:
    """A message longer than a channel's limit is cut to it, whole lines, with a marker."""
    m = Outgoing(
        "T" * 300, "\n".join(f"line {i:04d} " + "x" * 50 for i in range(200)), Severity.INFO
    )
    cut = fit(m, TELEGRAM_MAX)
    assert len(cut.title) + 2 + len(cut.body) <= TELEGRAM_MAX
    last = cut.body.splitlines()[-1]
    kept = len(cut.body.splitlines()) - 1
    assert last == f"… ({200 - kept} more lines)"
    assert fit(Outgoing("t", "short", Severity.INFO), TELEGRAM_MAX).body == "short"


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
    assert parts[0][1].splitlines()[0].split()[1] == "CRITICAL"
    assert parts[-1][1].splitlines()[-1].split()[1] == "INFO"
    first = render_digest(parts[0][0], parts[0][1], more=35)
    assert first.title == "CRITICAL · FIRING · 25 alerts: 20 critical, 5 warning (+35 more)"
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


def test_an_infinite_risk_rate_renders(alert: Callable[..., Alert]) -> None:
    """A scope whose debt exceeds its assets has an infinite risk rate: its alerts render
    (the console worker died on it once, and every later alert of its channel was lost)."""
    assert num(Decimal("Infinity")) == "infinite" and num(Decimal("-Infinity")) == "-infinite"
    assert num(Decimal("NaN")) == "NaN"
    a = alert(3, Severity.CRITICAL, AlertKind.ACTION, risk_rate=Decimal("Infinity"))
    m = render_incident([a])
    assert "riskRate infinite" in m.title and m.body.startswith("riskRate infinite")
    taken, message = pack_group([a, a], Caps())
    assert taken and "riskRate infinite" in message.body


def _fields(a: Alert) -> dict[str, object]:
    return {name: getattr(a, name) for name in Alert.__dataclass_fields__}
