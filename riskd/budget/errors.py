"""The error ``RateBudget.acquire`` raises when no slot can be had in time."""

from __future__ import annotations

from riskd.bitget.gate import Priority
from riskd.budget.limit_table import LimitKey
from riskd.redact import redact


class BudgetExhausted(Exception):
    """``acquire`` could not get a slot within its max wait."""

    def __init__(
        self,
        endpoint_name: str,
        key: LimitKey,
        priority: Priority,
        reason: str,
        waited_s: float,
        max_wait_s: float,
    ) -> None:
        self.endpoint = endpoint_name
        self.key = key
        self.priority = priority
        self.waited_s = waited_s
        self.max_wait_s = max_wait_s
        super().__init__(
            redact(
                f"rate budget exhausted for {endpoint_name} at priority {priority.name}: "
                f"{key.describe()} {reason}; waited {waited_s:.2f}s of max {max_wait_s:.2f}s"
            )
        )
