"""The status rows: :class:`ScopeRow`, one account × scope as the daemon writes it each cycle.

:func:`riskd.daemon.status.status_rows` builds them, :meth:`ScopeRow.to_record` is the JSON
:meth:`~riskd.daemon.journal.Journal.write_status` stores, :meth:`ScopeRow.from_record` reads
it back (rows of older versions too), :meth:`ScopeRow.to_json` is one scope of
``riskd status --json`` (:data:`SCHEMA_VERSION`, :mod:`riskd.daemon.status_report`): risk
figures are decimal strings, times POSIX seconds, counts JSON numbers — never preformatted text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

#: ``schema_version`` of ``riskd status --json``: raised when a field changes meaning or goes.
SCHEMA_VERSION: Final = 1
#: The risk-rate samples a row keeps for its trend: this many seconds back, at most one per
#: :data:`SAMPLE_EVERY` seconds.
TREND_WINDOW_S: Final = 300.0
SAMPLE_EVERY: Final = 5.0
#: A trend needs samples at least this far apart.
MIN_TREND_SPAN_S: Final = 10.0
#: Scope id of the row of an account that is not protected at all (a Unified Trading Account).
ACCOUNT_ROW: Final = "account"

_EMPTY: Mapping[str, str] = MappingProxyType({})


def _dec(value: object) -> Decimal | None:
    """A decimal from the journal's JSON (strings, or numbers of older rows); None if absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class LastAction:
    """The latest protective action of a scope (any status, dry-run too)."""

    at: float
    kind: str
    rule: str
    status: str
    dry_run: bool
    params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "kind": self.kind,
            "rule": self.rule,
            "status": self.status,
            "dry_run": self.dry_run,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LastAction:
        params = d.get("params")
        return cls(
            at=float(d.get("at") or 0.0),
            kind=str(d.get("kind")),
            rule=str(d.get("rule")),
            status=str(d.get("status")),
            dry_run=bool(d.get("dry_run")),
            params=MappingProxyType(
                {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}
            ),
        )


@dataclass(frozen=True, slots=True)
class ScopeRow:
    """One account × scope as of the daemon's last cycle."""

    account: str
    scope: str
    live: bool = False
    #: The rate the rules see, and the exchange's warning and liquidation ratios.
    risk_rate: Decimal | None = None
    warning_risk_ratio: Decimal | None = None
    liquidation_risk_ratio: Decimal | None = None
    #: The exchange's figure as sent (v2 ``riskRateRatio``), riskd's own, how it was read.
    reported_risk_rate: Decimal | None = None
    local_risk_rate: Decimal | None = None
    risk_reading: str | None = None
    reading_checked: bool | None = None
    #: Signed uniform price move that liquidates (−0.12: a 12 % fall); None: unknown, or no
    #: move reaches the liquidation ratio (no debt).
    price_move_to_liquidation: Decimal | None = None
    #: (observed_at, risk_rate), oldest first, the last :data:`TREND_WINDOW_S` seconds.
    risk_samples: tuple[tuple[float, Decimal], ...] = ()
    observed_at: float | None = None
    data_age_s: float | None = None
    #: When riskd applied a confirmed repay's answer to the scope's last read (its figures are
    #: from that answer, valued at the latest prices, until the next read); None: as read.
    adjusted_at: float | None = None
    stale: bool = False
    error: str | None = None
    firing: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    next_poll_at: float | None = None
    last_action: LastAction | None = None
    #: Why the account is not protected at all (scope :data:`ACCOUNT_ROW` only).
    stopped: str | None = None
    #: When the daemon wrote the row (set when read back from the journal).
    written_at: float | None = None
    #: A dry-run scope with a shadow ledger (:mod:`riskd.daemon.shadow`): the rate the account
    #: would show had its would-be actions been sent (what the rules see); ``risk_rate`` is
    #: the real one. None: no shadow.
    shadow_risk_rate: Decimal | None = None
    #: The push path on: when the last index-price push and the account's last private push
    #: arrived (clock seconds; None: none yet). Off: both None and ``pushes`` False.
    pushes: bool = False
    price_push_at: float | None = None
    account_push_at: float | None = None

    @property
    def headroom_to_liquidation(self) -> Decimal | None:
        """Liquidation ratio − risk rate (how far the rate may still rise)."""
        if self.risk_rate is None or self.liquidation_risk_ratio is None:
            return None
        return self.liquidation_risk_ratio - self.risk_rate

    @property
    def trend_per_min(self) -> Decimal | None:
        """Change of the risk rate per minute over the kept samples; None: too few."""
        if len(self.risk_samples) < 2:
            return None
        (t0, r0), (t1, r1) = self.risk_samples[0], self.risk_samples[-1]
        if t1 - t0 < MIN_TREND_SPAN_S:
            return None
        per_min = (r1 - r0) * Decimal(60) / Decimal(repr(round(t1 - t0, 3)))
        per_min = per_min.quantize(Decimal("1e-8"))
        return per_min if per_min != 0 else Decimal(0)

    def age(self, now: float) -> float | None:
        """Age of the data at ``now`` (the row's age plus the time since it was written)."""
        if self.data_age_s is None:
            return None
        return self.data_age_s + max(0.0, now - (self.written_at or now))

    def with_sample(self, previous: Sequence[tuple[float, Decimal]]) -> ScopeRow:
        """This row with ``previous`` samples plus its own reading, trimmed to the window."""
        samples = list(previous)
        at, rate = self.observed_at, self.risk_rate
        if (
            at is not None
            and rate is not None
            and (not samples or at - samples[-1][0] >= SAMPLE_EVERY)
        ):
            samples.append((at, rate))
        latest = samples[-1][0] if samples else 0.0
        kept = tuple(s for s in samples if latest - s[0] <= TREND_WINDOW_S)
        return replace(self, risk_samples=kept)

    def to_record(self) -> dict[str, object]:
        """The JSON object stored in the journal's ``status`` table."""
        if self.stopped is not None:
            return {"stopped": self.stopped, "live": self.live}
        return {
            "risk_rate": _text(self.risk_rate),
            "reported_risk_rate": _text(self.reported_risk_rate),
            "local_risk_rate": _text(self.local_risk_rate),
            "risk_reading": self.risk_reading,
            "reading_checked": self.reading_checked,
            "warning_risk_ratio": _text(self.warning_risk_ratio),
            "liquidation_risk_ratio": _text(self.liquidation_risk_ratio),
            "price_move_to_liquidation": _text(self.price_move_to_liquidation),
            "risk_samples": [[t, str(r)] for t, r in self.risk_samples],
            "observed_at": self.observed_at,
            "data_age_s": self.data_age_s,
            "adjusted_at": self.adjusted_at,
            "stale": self.stale,
            "error": self.error,
            "firing": list(self.firing),
            "pending": list(self.pending),
            "live": self.live,
            "next_poll_at": self.next_poll_at,
            "last_action": None if self.last_action is None else self.last_action.to_json(),
            "shadow_risk_rate": _text(self.shadow_risk_rate),
            "pushes": self.pushes,
            "price_push_at": self.price_push_at,
            "account_push_at": self.account_push_at,
        }

    @classmethod
    def from_record(
        cls, account: str, scope: str, d: Mapping[str, Any], written_at: float | None = None
    ) -> ScopeRow:
        """A row read back from the journal (rows of older versions lack some fields)."""
        last = d.get("last_action")
        samples: list[tuple[float, Decimal]] = []
        for item in d.get("risk_samples") or ():
            if isinstance(item, list) and len(item) == 2:
                t, r = _num(item[0]), _dec(item[1])
                if t is not None and r is not None:
                    samples.append((t, r))
        checked = d.get("reading_checked")
        stopped = d.get("stopped")
        return cls(
            account=account,
            scope=scope,
            live=bool(d.get("live")),
            risk_rate=_dec(d.get("risk_rate")),
            warning_risk_ratio=_dec(d.get("warning_risk_ratio")),
            liquidation_risk_ratio=_dec(d.get("liquidation_risk_ratio")),
            reported_risk_rate=_dec(d.get("reported_risk_rate")),
            local_risk_rate=_dec(d.get("local_risk_rate")),
            risk_reading=None if d.get("risk_reading") is None else str(d["risk_reading"]),
            reading_checked=None if checked is None else bool(checked),
            price_move_to_liquidation=_dec(d.get("price_move_to_liquidation")),
            risk_samples=tuple(samples),
            observed_at=_num(d.get("observed_at")),
            data_age_s=_num(d.get("data_age_s")),
            adjusted_at=_num(d.get("adjusted_at")),
            stale=bool(d.get("stale")),
            error=None if d.get("error") is None else str(d["error"]),
            firing=tuple(str(r) for r in d.get("firing") or ()),
            pending=tuple(str(r) for r in d.get("pending") or ()),
            next_poll_at=_num(d.get("next_poll_at")),
            last_action=LastAction.from_json(last) if isinstance(last, dict) else None,
            stopped=None if stopped is None else str(stopped),
            written_at=written_at,
            shadow_risk_rate=_dec(d.get("shadow_risk_rate")),
            pushes=bool(d.get("pushes")),
            price_push_at=_num(d.get("price_push_at")),
            account_push_at=_num(d.get("account_push_at")),
        )

    def to_json(self, now: float) -> dict[str, object]:
        """This scope in ``riskd status --json`` (schema :data:`SCHEMA_VERSION`)."""
        age = self.age(now)
        return {
            "scope": self.scope,
            "risk_rate": _text(self.risk_rate),
            "warning_risk_ratio": _text(self.warning_risk_ratio),
            "liquidation_risk_ratio": _text(self.liquidation_risk_ratio),
            "headroom_to_liquidation": _text(self.headroom_to_liquidation),
            "price_move_to_liquidation": _text(self.price_move_to_liquidation),
            "trend_per_min": _text(self.trend_per_min),
            "reported_risk_rate": _text(self.reported_risk_rate),
            "local_risk_rate": _text(self.local_risk_rate),
            "risk_reading": self.risk_reading,
            "reading_checked": self.reading_checked,
            "observed_at": self.observed_at,
            "data_age_s": None if age is None else round(age, 1),
            "adjusted_at": self.adjusted_at,
            "stale": self.stale,
            "error": self.error,
            "firing": list(self.firing),
            "pending": list(self.pending),
            "next_poll_at": self.next_poll_at,
            "last_action": None if self.last_action is None else self.last_action.to_json(),
            "written_at": self.written_at,
            "shadow_risk_rate": _text(self.shadow_risk_rate),
            "price_push_age_s": _age(self.price_push_at, now),
            "account_push_age_s": _age(self.account_push_at, now),
        }


def _age(at: float | None, now: float) -> float | None:
    return None if at is None else round(max(0.0, now - at), 1)


__all__ = [
    "ACCOUNT_ROW",
    "SCHEMA_VERSION",
    "LastAction",
    "ScopeRow",
]
