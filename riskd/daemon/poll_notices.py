"""What a poll tells the owner at once, and the risk-figure reading it applies.

:class:`PollNotices` belongs to one account's poller. It turns three situations into one
:class:`Notice` each (alerted and journaled through the wiring's hook), never one per poll:

- ``risk_reading``: the exchange's risk figure matches riskd's own in neither direction
  (:mod:`riskd.risk.reading`); the scope gets riskd's figure. A notice when a scope starts
  disagreeing, none while it goes on, a new one if it disagrees again after agreeing;
- ``bad_answer``: an answer in a shape the document does not describe (the poller drops the
  scope's snapshot: nothing is decided on it); a notice per distinct error and scope;
- ``account_mode``: a Unified Trading Account (40085): the account is stopped for good.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from riskd.daemon.events import EventKind
from riskd.daemon.snapshots import with_reading
from riskd.risk.snapshot import ScopeSnapshot

log = logging.getLogger("riskd.daemon.poller")


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell the account's owner at once (critical; alerted and journaled).

    ``kind``: :attr:`EventKind.RISK_READING`, :attr:`EventKind.BAD_ANSWER` or
    :attr:`EventKind.ACCOUNT_MODE` (see the module); the journal entry has the same kind.
    """

    kind: EventKind
    account: str
    scope: str | None
    title: str
    message: str


NoticeHook = Callable[[Notice], Awaitable[None]]


class PollNotices:
    """One account's notices, each said once; and the account's stop, when it comes."""

    def __init__(self, account: str, hook: NoticeHook | None) -> None:
        self.account = account
        self._hook = hook
        #: Why the account is no longer polled (a Unified Trading Account); None: it is.
        self.stopped: str | None = None
        self._mismatch: set[str] = set()
        self._bad: dict[str, str] = {}

    async def tell(self, kind: EventKind, scope: str | None, title: str, message: str) -> None:
        if self._hook is not None:
            await self._hook(Notice(kind, self.account, scope, title, message))

    async def stop(self, why: str) -> bool:
        """Stop the account (True the first time: the caller clears its state)."""
        if self.stopped is not None:
            return False
        self.stopped = why
        log.error("%s: %s", self.account, why)
        await self.tell(
            EventKind.ACCOUNT_MODE,
            None,
            f"{self.account}: Unified Trading Account, not protected",
            why,
        )
        return True

    async def bad_answer(self, scope: str, error: str) -> None:
        log.error("%s/%s: %s", self.account, scope, error)
        if self._bad.get(scope) == error:
            return
        self._bad[scope] = error
        await self.tell(
            EventKind.BAD_ANSWER,
            scope,
            f"unexpected answer from Bitget for {self.account}/{scope}",
            f"{error}; no action is taken on this scope until a good answer comes",
        )

    def good_answer(self, scope: str) -> None:
        self._bad.pop(scope, None)

    async def read(
        self,
        snap: ScopeSnapshot,
        reported: Decimal | None,
        previous: ScopeSnapshot | None,
        *,
        contested: bool,
        own_then: Decimal | None = None,
    ) -> ScopeSnapshot:
        """``snap`` with the risk rate the rules see (the reading settled against riskd's own
        figure where the exchange's is contested, at the prices of the read's answer or of its
        start: ``own_then``); a loud notice when neither agrees."""
        new, reading = with_reading(
            snap, reported=reported, contested=contested, previous=previous, own_then=own_then
        )
        if not reading.mismatch:
            self._mismatch.discard(snap.scope)
            return new
        log.error("%s/%s: %s", self.account, snap.scope, reading.describe())
        if snap.scope not in self._mismatch:
            self._mismatch.add(snap.scope)
            await self.tell(
                EventKind.RISK_READING,
                snap.scope,
                f"risk figures disagree for {self.account}/{snap.scope}",
                reading.describe(),
            )
        return new
