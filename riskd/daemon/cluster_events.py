"""The daemon's events about ownership and the shared journal (a cluster of nodes).

- An account taken over by this node, or lost to another (a lease), is an ``ownership``
  event: a warning for a loss, on the log and the journal; alerted when several nodes are
  involved (an account changing hands means a node died, froze or left).
- The journal's database lost and back (:class:`JournalOutage`): critical on every route at
  once, then one all-clear. While it is lost the daemon keeps polling and evaluating, sends
  no action (none can be fenced and journaled first) and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from riskd.daemon.events import DaemonEvent, EventKind
from riskd.notify.alert import EVERY_ROUTE, Alert, AlertKind
from riskd.severity import Severity


def ownership(
    node: str, acquired: Iterable[str], lost: Iterable[str], now: float
) -> list[DaemonEvent]:
    """One event per account acquired or lost by ``node``."""
    events: list[DaemonEvent] = []
    for account in sorted(acquired):
        events.append(
            DaemonEvent(
                EventKind.OWNERSHIP,
                now,
                f"node {node} owns account {account} now (its rule state and open intents "
                "were read back from the journal)",
                account=account,
                data={"node": node, "change": "acquired"},
            )
        )
    for account in sorted(lost):
        title = f"node {node} no longer owns account {account}"
        events.append(
            DaemonEvent(
                EventKind.OWNERSHIP,
                now,
                f"{title}: its lease went to another node or ran out; no action is sent for it "
                "from this node",
                severity=Severity.WARNING,
                account=account,
                data={"node": node, "change": "lost"},
                alert=Alert(
                    kind=AlertKind.ERROR,
                    severity=Severity.WARNING,
                    title=title,
                    at=now,
                    account=account,
                    message="another node protects it now (riskd cluster status)",
                ),
            )
        )
    return events


def takeovers(node: str, taken: Mapping[str, str], now: float) -> list[DaemonEvent]:
    """One warning per node whose leases ran out and that ``node`` took accounts from (a
    node crashed, froze or lost PostgreSQL: the cluster runs one node short until it is
    back). A hand-over by release is not one."""
    by_node: dict[str, list[str]] = {}
    for account, previous in taken.items():
        by_node.setdefault(previous, []).append(account)
    events: list[DaemonEvent] = []
    for previous, accounts in sorted(by_node.items()):
        names = ", ".join(sorted(accounts))
        title = f"node {node} took over {len(accounts)} account(s) from node {previous}"
        why = (
            f"the leases of node {previous} ran out: it stopped renewing them (crashed, frozen"
            " or cut off from PostgreSQL)"
        )
        events.append(
            DaemonEvent(
                EventKind.OWNERSHIP,
                now,
                f"{title}: {names}; {why}",
                severity=Severity.WARNING,
                data={
                    "node": node,
                    "change": "takeover",
                    "from": previous,
                    "accounts": sorted(accounts),
                },
                alert=Alert(
                    kind=AlertKind.ERROR,
                    severity=Severity.WARNING,
                    title=title,
                    at=now,
                    message=f"{names}: protected from node {node} now; {why}. Check node "
                    f"{previous} (riskd cluster status)",
                ),
            )
        )
    return events


def unowned(node: str, accounts: frozenset[str], now: float) -> DaemonEvent:
    """Accounts that no live node has room for (``cluster.max_accounts`` too low), or the
    all-clear once every account has an owner again."""
    if not accounts:
        return DaemonEvent(
            EventKind.OWNERSHIP,
            now,
            f"every account has an owner again (seen from node {node})",
            data={"node": node, "change": "all_owned"},
        )
    names = ", ".join(sorted(accounts))
    title = f"{len(accounts)} accounts have no node to protect them"
    return DaemonEvent(
        EventKind.OWNERSHIP,
        now,
        f"{title}: {names} (the live nodes are at cluster.max_accounts)",
        severity=Severity.CRITICAL,
        data={"node": node, "change": "unowned", "accounts": sorted(accounts)},
        alert=Alert(
            kind=AlertKind.ERROR,
            severity=Severity.CRITICAL,
            title=title,
            at=now,
            message=f"{names}: start another node or raise cluster.max_accounts",
            tags=frozenset({EVERY_ROUTE}),
        ),
        failure=True,
    )


def budget_storage(degraded: bool, message: str, now: float) -> DaemonEvent:
    """The shared rate budget's Redis lost (counting locally at a share) or back."""
    severity = Severity.WARNING if degraded else Severity.INFO
    return DaemonEvent(
        EventKind.BUDGET,
        now,
        message,
        severity=severity,
        data={"degraded": degraded},
        alert=Alert(
            kind=AlertKind.ERROR,
            severity=severity,
            title=message,
            at=now,
            message="protective calls are never held up by Redis (docs/budget-redis.md)",
            incident="budget-storage",
        ),
    )


def fenced(account: str, scope: str, rule: str, detail: str, now: float) -> DaemonEvent:
    """An intent refused by the fencing check: another node owns the account."""
    return DaemonEvent(
        EventKind.FENCED,
        now,
        detail,
        severity=Severity.WARNING,
        account=account,
        scope=scope,
        rule=rule,
    )


class JournalOutage:
    """Tracks whether the journal's database answers; one event when it is lost, one when
    it is back."""

    def __init__(self) -> None:
        self.down = False
        self.since: float | None = None
        #: Journal calls that failed during the outage so far.
        self.failures = 0

    def failed(self, detail: str, now: float) -> DaemonEvent | None:
        self.failures += 1
        if self.down:
            return None
        self.down, self.since = True, now
        title = "journal database unreachable: no action is sent"
        return DaemonEvent(
            EventKind.JOURNAL,
            now,
            f"{title} ({detail}); polling and evaluating go on, actions resume when it answers",
            severity=Severity.CRITICAL,
            data={"down": True},
            alert=Alert(
                kind=AlertKind.ERROR,
                severity=Severity.CRITICAL,
                title=title,
                at=now,
                message=f"{detail}. An action cannot be fenced and written ahead, so none is "
                "sent until the database answers. Rules are still evaluated and alerted.",
                tags=frozenset({EVERY_ROUTE}),
            ),
            failure=True,
        )

    def answered(self, now: float) -> DaemonEvent | None:
        if not self.down:
            return None
        lasted = now - (self.since or now)
        self.down, self.since, n = False, None, self.failures
        self.failures = 0
        title = "journal database answers again: actions resume"
        return DaemonEvent(
            EventKind.JOURNAL,
            now,
            f"{title} after {lasted:.0f}s ({n} journal calls failed meanwhile)",
            severity=Severity.WARNING,
            data={"down": False, "lasted_s": round(lasted, 3), "failures": n},
            alert=Alert(
                kind=AlertKind.ERROR,
                severity=Severity.WARNING,
                title=title,
                at=now,
                message=f"unreachable for {lasted:.0f}s",
                tags=frozenset({EVERY_ROUTE}),
            ),
        )


__all__ = ["JournalOutage", "budget_storage", "fenced", "ownership", "unowned"]
