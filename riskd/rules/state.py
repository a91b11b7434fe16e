"""Engine state: pure data passed into and returned from every evaluation.

Per (account, scope, rule) a :class:`RuleScopeState` (only non-idle ones are kept), per
(account, scope) a bounded history of the scalars that ``delta``/``rate`` follow, and a
counter for incident ids. It round-trips through JSON (:meth:`EngineState.to_json` /
:meth:`EngineState.from_json`) so that a restart resumes mid-incident, with every action
still outstanding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from riskd.rules.variables import Sample

STATE_VERSION = 1

#: (account, scope, rule name)
Key = tuple[str, str, str]
#: (account, scope)
ScopeKey = tuple[str, str]


class Status(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


class StateError(ValueError):
    """A saved state that cannot be read."""


@dataclass(frozen=True, slots=True)
class Outstanding:
    """An action handed to the daemon whose outcome has not come back yet."""

    action_id: str
    kind: str
    step: int
    issued_at: float
    #: No further step of the run follows it.
    last: bool


@dataclass(frozen=True, slots=True)
class RuleScopeState:
    status: Status = Status.INACTIVE
    #: When the condition became true (start of pending).
    active_since: float | None = None
    fired_at: float | None = None
    #: First evaluation with the condition false while firing (keep_firing_for anchor).
    false_since: float | None = None
    incident: str | None = None
    #: The incident's firing notification was sent (so resolved will be too).
    notified: bool = False
    #: Runs of ``then`` started in this incident.
    run: int = 0
    #: Index of the next step of the run in progress; ``None``: no run in progress.
    next_step: int | None = None
    outstanding: Outstanding | None = None
    #: When the last run ended (cooldown counts from here).
    last_run_end: float | None = None
    last_outcome: str | None = None
    #: Why the condition cannot be evaluated (unhealthy); ``None``: healthy.
    error: str | None = None

    def idle(self) -> bool:
        return (
            self.status == Status.INACTIVE
            and self.outstanding is None
            and self.error is None
            and self.next_step is None
        )


_TIMES = frozenset({"active_since", "fired_at", "false_since", "last_run_end", "issued_at"})


def _time(name: str, value: Any) -> Any:
    """Times as floats in and out of JSON (so that a round trip is exact)."""
    if name in _TIMES and value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StateError(f"{name} must be a number of seconds, not {value!r}")
        return float(value)
    return value


_FIELDS = tuple(f.name for f in fields(RuleScopeState))
_OUT_FIELDS = tuple(f.name for f in fields(Outstanding))
ScopeEntries = Mapping[str, RuleScopeState]
_EMPTY_ENTRIES: Mapping[ScopeKey, ScopeEntries] = MappingProxyType({})
_EMPTY_HISTORY: Mapping[ScopeKey, Mapping[str, tuple[Sample, ...]]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class EngineState:
    #: (account, scope) → rule name → state; idle rule × scopes are absent.
    entries: Mapping[ScopeKey, ScopeEntries] = field(default_factory=lambda: _EMPTY_ENTRIES)
    history: Mapping[ScopeKey, Mapping[str, tuple[Sample, ...]]] = field(
        default_factory=lambda: _EMPTY_HISTORY
    )
    #: Incidents opened so far (incident ids are unique and stable across restarts).
    seq: int = 0

    def get(self, account: str, scope: str, rule: str) -> RuleScopeState:
        return self.entries.get((account, scope), {}).get(rule) or RuleScopeState()

    def items(self) -> list[tuple[Key, RuleScopeState]]:
        """Every non-idle rule × scope, sorted by (account, scope, rule)."""
        return sorted(
            ((a, s, r), e) for (a, s), per in self.entries.items() for r, e in per.items()
        )

    def outstanding(self) -> tuple[tuple[Key, Outstanding], ...]:
        """Every action still awaiting :func:`record_outcome` (for reconciliation)."""
        return tuple((k, e.outstanding) for k, e in self.items() if e.outstanding)

    # --- JSON -------------------------------------------------------------------------

    def to_json(self) -> str:
        entries = []
        for (account, scope, rule), e in self.items():
            d: dict[str, Any] = {"account": account, "scope": scope, "rule": rule}
            for name in _FIELDS:
                value = getattr(e, name)
                if name == "outstanding" and value is not None:
                    value = {k: _time(k, getattr(value, k)) for k in _OUT_FIELDS}
                d[name] = _time(name, value)
            entries.append(d)
        history = [
            {
                "account": account,
                "scope": scope,
                "series": {
                    n: [[float(t), str(v)] for t, v in s] for n, s in sorted(series.items())
                },
            }
            for (account, scope), series in sorted(self.history.items())
        ]
        doc = {"version": STATE_VERSION, "seq": self.seq, "entries": entries, "history": history}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> EngineState:
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
                version = doc.get("version") if isinstance(doc, dict) else None
                raise StateError(f"state version {version!r} is not {STATE_VERSION}")
            entries: dict[ScopeKey, dict[str, RuleScopeState]] = {}
            for d in doc["entries"]:
                d = dict(d)
                skey = (str(d.pop("account")), str(d.pop("scope")))
                rule = str(d.pop("rule"))
                if set(d) != set(_FIELDS):
                    raise StateError(f"entry fields {sorted(d)} are not {sorted(_FIELDS)}")
                out = d.get("outstanding")
                if out is not None:
                    d["outstanding"] = Outstanding(**{k: _time(k, v) for k, v in out.items()})
                d = {k: _time(k, v) for k, v in d.items()}
                d["status"] = Status(d["status"])
                entries.setdefault(skey, {})[rule] = RuleScopeState(**d)
            history: dict[ScopeKey, Mapping[str, tuple[Sample, ...]]] = {}
            for h in doc["history"]:
                series = {
                    str(n): tuple((float(t), Decimal(v)) for t, v in samples)
                    for n, samples in h["series"].items()
                }
                history[(str(h["account"]), str(h["scope"]))] = MappingProxyType(series)
            frozen = {k: MappingProxyType(v) for k, v in entries.items()}
            return cls(MappingProxyType(frozen), MappingProxyType(history), int(doc["seq"]))
        except StateError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
            raise StateError(f"cannot read saved rule state: {exc!r}") from None


def _settle(
    state: EngineState, action_id: str, change: Callable[[RuleScopeState], RuleScopeState]
) -> EngineState:
    """``state`` with ``change`` applied to the entry whose outstanding action is
    ``action_id``; unchanged when no entry waits for it."""
    for skey, per in state.entries.items():
        for rule, e in per.items():
            if e.outstanding is None or e.outstanding.action_id != action_id:
                continue
            scope_entries = dict(per)
            scope_entries[rule] = change(e)
            entries = dict(state.entries)
            entries[skey] = MappingProxyType(scope_entries)
            return replace(state, entries=MappingProxyType(entries))
    return state


def withdraw(state: EngineState, action_id: str) -> EngineState:
    """The daemon did not send an outstanding action (another rule acted on the scope
    first): forget it, so that the next evaluation decides that step again on fresh data.
    Unknown ids leave the state unchanged."""

    def forget(e: RuleScopeState) -> RuleScopeState:
        assert e.outstanding is not None
        return replace(e, outstanding=None, next_step=e.outstanding.step)

    return _settle(state, action_id, forget)


def record_outcome(state: EngineState, action_id: str, succeeded: bool, now: float) -> EngineState:
    """The daemon's report that an action finished. Unknown ids leave the state unchanged.

    After the last step of a run, the cooldown starts counting from ``now``. A failed step
    does not stop the run: the next step is issued at the next evaluation (if the rule still
    holds), because a later protective step may still help.
    """

    def finish(e: RuleScopeState) -> RuleScopeState:
        assert e.outstanding is not None
        run_over = e.outstanding.last or e.next_step is None
        return replace(
            e,
            outstanding=None,
            next_step=None if run_over else e.next_step,
            last_run_end=now if run_over else e.last_run_end,
            last_outcome="succeeded" if succeeded else "failed",
        )

    return _settle(state, action_id, finish)
