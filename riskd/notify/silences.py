"""Silences (``riskd silence``) and inhibition rules: which alerts are not sent, and why. Pure.

A *silence* drops every alert whose labels match all its matchers between ``starts_at`` and
``ends_at``. An *inhibition rule* drops a *target* alert while a *source* alert is active
(firing, stale, error, not yet resolved) and both agree on the ``equal`` labels — like
Alertmanager's ``inhibit_rules``. Liquidations, actions, safety changes and life signs are
never inhibited; only a silence the user wrote can hide an action, never a liquidation or a
life sign.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskd.notify.alert import Alert, AlertKind
from riskd.notify.matchers import Matcher, all_match

#: Kinds an inhibition rule may drop (states, never events).
INHIBITABLE = frozenset({AlertKind.FIRING, AlertKind.STALE, AlertKind.ERROR, AlertKind.RESOLVED})
#: Kinds a silence never drops.
UNSILENCEABLE = frozenset({AlertKind.LIQUIDATED, AlertKind.LIFECYCLE, AlertKind.TEST})
#: Kinds that make an alert active (a possible inhibition source) until it resolves.
ACTIVE_KINDS = frozenset({AlertKind.FIRING, AlertKind.STALE, AlertKind.ERROR})


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    comment: str = ""
    created_by: str = ""
    #: Set when expired early with ``riskd silence expire``.
    expired_at: float | None = None

    def active(self, now: float) -> bool:
        end = self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)
        return self.starts_at <= now < end

    def matches(self, labels: Mapping[str, str]) -> bool:
        return bool(self.matchers) and all_match(self.matchers, labels)

    def describe(self) -> str:
        return ", ".join(str(m) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def describe(self) -> str:
        src = ",".join(str(m) for m in self.source)
        return f"{{{src}}} on {'+'.join(self.equal) or 'everything'}"


def silenced_by(alert: Alert, silences: Iterable[Silence], now: float) -> Silence | None:
    """The first active silence that matches ``alert`` (never a liquidation or life sign)."""
    if alert.kind in UNSILENCEABLE:
        return None
    labels = alert.label_set()
    for silence in silences:
        if silence.active(now) and silence.matches(labels):
            return silence
    return None


def inhibited_by(
    alert: Alert, rules: Iterable[InhibitRule], active: Iterable[Alert]
) -> tuple[InhibitRule, Alert] | None:
    """The rule and active source alert that inhibit ``alert``, if any."""
    if alert.kind not in INHIBITABLE:
        return None
    labels = alert.label_set()
    sources = [a for a in active if a.group_key != alert.group_key]
    for rule in rules:
        if not all_match(rule.target, labels):
            continue
        for source in sources:
            src = source.label_set()
            if all_match(rule.source, src) and all(
                src.get(name, "") == labels.get(name, "") for name in rule.equal
            ):
                return rule, source
    return None


def suppression_reason(
    alert: Alert,
    *,
    silences: Iterable[Silence],
    rules: Iterable[InhibitRule],
    active: Iterable[Alert],
    now: float,
) -> str | None:
    """Why ``alert`` is not sent (recorded with it), or ``None`` when it is."""
    silence = silenced_by(alert, silences, now)
    if silence is not None:
        return f"silenced by {silence.id} ({silence.describe()})"
    hit = inhibited_by(alert, rules, active)
    if hit is not None:
        rule, source = hit
        return f"inhibited by {source.kind.label} {source.group_key} (rule {rule.describe()})"
    return None


def active_map_update(active: dict[str, Alert], alert: Alert) -> None:
    """Track active alerts: firing/stale/error make an incident active, resolved ends it."""
    if alert.kind in ACTIVE_KINDS:
        active[alert.group_key] = alert
    elif alert.kind is AlertKind.RESOLVED:
        active.pop(alert.group_key, None)


__all__ = [
    "ACTIVE_KINDS",
    "INHIBITABLE",
    "UNSILENCEABLE",
    "InhibitRule",
    "Matcher",
    "Silence",
    "active_map_update",
    "inhibited_by",
    "silenced_by",
    "suppression_reason",
]
