"""Dedup like Alertmanager: one message per incident, repeats only after the repeat interval."""

from __future__ import annotations

from typing import Any

import pytest

from riskd.notify.alert import AlertKind
from riskd.notify.grouping import Deduper
from riskd.severity import Severity

T0 = 1_700_000_000.0


def test_repeat_suppressed_within_interval(alert: Any) -> None:
    """The same firing state of one incident is accepted once per repeat interval."""
    d = Deduper(repeat_interval=600)
    a = alert(1)
    assert d.accept(a, T0)
    assert not d.accept(a, T0 + 10)
    assert not d.accept(a, T0 + 599)
    assert d.accept(a, T0 + 600)


def test_severity_change_goes_at_once(alert: Any) -> None:
    """Escalation (or de-escalation) of an incident is news: accepted at once."""
    d = Deduper(repeat_interval=600)
    assert d.accept(alert(1, Severity.WARNING), T0)
    assert d.accept(alert(1, Severity.CRITICAL), T0 + 1)
    assert not d.accept(alert(1, Severity.CRITICAL), T0 + 2)


def test_resolved_then_firing_again_is_announced(alert: Any) -> None:
    """Resolved clears the incident: firing again right after is accepted, resolved once."""
    d = Deduper(repeat_interval=600)
    assert d.accept(alert(1), T0)
    assert d.accept(alert(1, kind=AlertKind.RESOLVED), T0 + 5)
    assert not d.accept(alert(1, kind=AlertKind.RESOLVED), T0 + 6)
    assert d.accept(alert(1), T0 + 7)
    assert d.accept(alert(1, kind=AlertKind.RESOLVED), T0 + 8)


def test_events_never_suppressed(alert: Any) -> None:
    """Actions (and other events) are never suppressed as repeats."""
    d = Deduper(repeat_interval=600)
    act = alert(1, kind=AlertKind.ACTION, action="repay 1 USDT")
    assert all(d.accept(act, T0 + i) for i in range(5))
    assert len(d) == 0


def test_incidents_are_independent(alert: Any) -> None:
    """Different incidents do not suppress each other."""
    d = Deduper(repeat_interval=600)
    assert all(d.accept(alert(i), T0) for i in range(50))
    assert len(d) == 50


def test_prune_forgets_expired(alert: Any) -> None:
    """Entries older than the repeat interval are pruned; fresh ones stay."""
    d = Deduper(repeat_interval=60)
    d.accept(alert(1), T0)
    d.accept(alert(2), T0 + 50)
    assert d.prune(T0 + 70) == 1
    assert len(d) == 1


def test_bad_interval_refused() -> None:
    """A non-positive repeat interval is refused with a clear message."""
    with pytest.raises(ValueError, match="repeat_interval must be > 0"):
        Deduper(0)
