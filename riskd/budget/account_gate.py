"""One account's view of a :class:`~riskd.budget.budget.RateBudget` (a ``RequestGate`` and a
``SlotGate`` for that account's client): UID-scoped limits counted for the account, every
window, queue and back-off shared with the other views."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from riskd.bitget.endpoints import Endpoint
from riskd.bitget.gate import Priority

if TYPE_CHECKING:
    from riskd.budget.budget import RateBudget


class AccountGate:
    """One account's view of a :class:`RateBudget`: a ``RequestGate`` for its client."""

    def __init__(self, budget: RateBudget, account: str) -> None:
        self._budget = budget
        self._account = account

    @property
    def account(self) -> str:
        return self._account

    @property
    def budget(self) -> RateBudget:
        return self._budget

    def __repr__(self) -> str:
        return f"AccountGate({self._account!r})"

    async def acquire(self, endpoint: Endpoint, priority: Priority) -> None:
        await self._budget.acquire_for(self._account, endpoint, priority)

    async def reserve(self, endpoint: Endpoint, priority: Priority) -> None:
        await self._budget.reserve_for(self._account, endpoint, priority)

    def release(
        self, endpoint: Endpoint, status_code: int | None, retry_after: float | None
    ) -> None:
        self._budget.release_for(self._account, endpoint, status_code, retry_after)

    def suggest_interval(self, base_interval: float, calls_per_cycle: Mapping[str, int]) -> float:
        return self._budget.suggest_interval(base_interval, calls_per_cycle, account=self._account)

    async def poll_headroom(self, endpoint_names: Iterable[str]) -> float:
        return await self._budget.poll_headroom(endpoint_names, account=self._account)
