"""Rate budget: limits from the endpoint table, priorities, reserve, 429 backoff.

Build one :class:`RateBudget` per daemon and hand each account's client
``budget.for_account(identity)`` as its :class:`riskd.bitget.gate.RequestGate`. With a Redis
``storage_uri`` several nodes share the windows; when Redis is unreachable each node counts
locally at ``fallback_share`` of each limit (:mod:`riskd.budget.fallback`).
"""

from riskd.budget.account_gate import AccountGate
from riskd.budget.accounting import Share, split, suggest_interval
from riskd.budget.backoff import BackoffPolicy, BackoffState
from riskd.budget.budget import RateBudget
from riskd.budget.config import BudgetConfig, BudgetConfigError, BudgetStorageUnreachable
from riskd.budget.errors import BudgetExhausted
from riskd.budget.fallback import FallbackStorage, StorageEvent, StorageListener
from riskd.budget.limit_table import (
    LIMIT_TABLE,
    PUBLIC_GLOBAL,
    PUBLIC_GLOBAL_RULE,
    LimitKey,
    LimitRule,
    api_key_identity,
    rules_for,
)
from riskd.budget.status import BudgetStatus, KeyStatus
from riskd.budget.storage import ClockMemoryStorage, make_storage

__all__ = [
    "LIMIT_TABLE",
    "PUBLIC_GLOBAL",
    "PUBLIC_GLOBAL_RULE",
    "AccountGate",
    "BackoffPolicy",
    "BackoffState",
    "BudgetConfig",
    "BudgetConfigError",
    "BudgetExhausted",
    "BudgetStatus",
    "BudgetStorageUnreachable",
    "ClockMemoryStorage",
    "FallbackStorage",
    "KeyStatus",
    "LimitKey",
    "LimitRule",
    "RateBudget",
    "Share",
    "StorageEvent",
    "StorageListener",
    "api_key_identity",
    "make_storage",
    "rules_for",
    "split",
    "suggest_interval",
]
