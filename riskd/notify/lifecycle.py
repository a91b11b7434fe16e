"""Life-sign alerts: started, restarted after a crash, stopping cleanly, test. Pure."""

from __future__ import annotations

from riskd import __version__
from riskd.notify.alert import Alert, AlertKind
from riskd.severity import Severity

LIFECYCLE_TAG = "lifecycle"
_TAGS = frozenset({LIFECYCLE_TAG})


def started_alert(now: float, *, crashed_before: bool, detail: str = "") -> Alert:
    """``riskd started`` (info), or ``riskd restarted after a crash`` (critical)."""
    if crashed_before:
        return Alert(
            kind=AlertKind.LIFECYCLE,
            severity=Severity.CRITICAL,
            title="riskd restarted after a crash",
            at=now,
            message=detail or "the previous run ended without a clean stop; check the journal",
            tags=_TAGS,
        )
    return Alert(
        kind=AlertKind.LIFECYCLE,
        severity=Severity.INFO,
        title="riskd started",
        at=now,
        message=detail or f"riskd {__version__} is watching",
        tags=_TAGS,
    )


def stopping_alert(now: float, detail: str = "") -> Alert:
    """``riskd stopped`` after a clean stop: silence from now on is expected."""
    return Alert(
        kind=AlertKind.LIFECYCLE,
        severity=Severity.WARNING,
        title="riskd stopped (clean stop)",
        at=now,
        message=detail or "no more protection or alerts until it is started again",
        tags=_TAGS,
    )


def notify_test_alert(now: float, severity: Severity) -> Alert:
    """The message of ``riskd notify-test``."""
    return Alert(
        kind=AlertKind.TEST,
        severity=severity,
        title="riskd notification check",
        at=now,
        account="example",
        scope="cross",
        rule="notify-test",
        message="If you can read this, this route works.",
        tags=frozenset({"test"}),
    )
