"""What running one protective action came to (:class:`ActionReport`) and its statuses.

Produced by :class:`riskd.daemon.actions.ActionRunner`; read by the daemon (the rules
engine's ``record_outcome``), the events and the notifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from riskd.daemon.journal import DRY_RUN, SUCCEEDED, UNKNOWN

#: Outcome statuses of an :class:`ActionReport` besides the journal's
#: (succeeded, failed, unknown, dry_run, not_executed).
PAUSED = "paused"
STALE = "stale"
BLOCKED = "blocked"
SKIPPED = "skipped"
AWAITING = "awaiting_reconciliation"
OPEN = "open"
#: Accepted and still running at the exchange (a flash repay): followed by reconciliation.
IN_PROGRESS = "in_progress"
#: Statuses whose outcome the rules engine must not be told yet.
UNSETTLED = (OPEN, IN_PROGRESS)


class ActionRequestLike(Protocol):
    """What the runner needs from the rules engine's action request."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def scope(self) -> str: ...

    @property
    def rule(self) -> str: ...

    @property
    def params(self) -> Mapping[str, object]: ...


@dataclass(frozen=True, slots=True)
class ActionReport:
    action_id: str
    kind: str
    account: str
    scope: str
    rule: str
    status: str
    detail: str
    dry_run: bool
    description: str | None = None
    intent_id: str | None = None
    risk_before: Decimal | None = None
    risk_after: Decimal | None = None

    @property
    def executed(self) -> bool:
        """The call went through (or, in dry-run, would have been made)."""
        return self.status in (SUCCEEDED, DRY_RUN, UNKNOWN)

    #: The call was not executed for a passing reason: it may be tried again.
    retryable: bool = False
    #: A skip repeated from an earlier cycle (riskd.daemon.repeats): not journaled or alerted
    #: again.
    quiet: bool = False

    @property
    def improved(self) -> bool | None:
        if self.risk_before is None or self.risk_after is None:
            return None
        return self.risk_after < self.risk_before

    @property
    def succeeded(self) -> bool:
        """What the rules engine is told: executed, and the risk did not get worse."""
        return self.status == SUCCEEDED and self.improved is not False

    def outcome_text(self) -> str:
        text = self.detail
        if self.risk_before is not None and self.risk_after is not None:
            text += f"; riskRate {self.risk_before} → {self.risk_after}"
        return text
