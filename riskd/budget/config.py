"""The budget's configuration: a frozen value built from ``riskd.settings.BudgetSettings``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from riskd.bitget.gate import Priority
from riskd.budget.backoff import BackoffPolicy
from riskd.budget.limit_table import check_identity


class BudgetConfigError(ValueError):
    """A budget setting that cannot be used; the message names the setting."""


class BudgetStorageUnreachable(BudgetConfigError):
    """The shared budget storage (Redis) does not answer at start: the message is one line
    naming it as ``redis://host:port/db`` (never the password); ``where`` is that name and
    ``problem`` the rest (``Redis does not answer (ConnectionError: …)``)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"budget.storage_uri {where}: {problem}")


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """How the rate budget shares the exchange's limits."""

    #: Share of every documented limit left unused (clock skew against the exchange's windows).
    safety_margin: float = 0.1
    #: Share of each window's capacity only protective calls may use.
    reserved_share: float = 0.3
    #: ``memory://`` (one process) or ``redis://host:6379`` (daemons sharing an IP or a key).
    storage_uri: str = "memory://"
    #: Name the IP-scoped limits are counted under. Daemons sharing one Redis but not one
    #: public IP must use different names.
    ip_group: str = "local"
    #: How long ``acquire`` may wait before it raises ``BudgetExhausted``.
    max_wait_poll_s: float = 5.0
    max_wait_protective_s: float = 20.0
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    #: With a Redis storage: the share of every limit this node counts with while Redis is
    #: unreachable (1 / the number of nodes sharing the limits; docs/budget-redis.md).
    fallback_share: float = 0.5
    #: Longest wait for one Redis call; past it the budget counts locally at once.
    storage_deadline_s: float = 0.25
    #: While counting locally, try Redis again this often.
    storage_probe_s: float = 3.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.safety_margin <= 0.5:
            raise BudgetConfigError(
                f"budget.safety_margin must be between 0 and 0.5, got {self.safety_margin}"
            )
        if not 0.0 <= self.reserved_share <= 0.9:
            raise BudgetConfigError(
                f"budget.reserved_share must be between 0 and 0.9, got {self.reserved_share}"
            )
        if not 0.0 < self.fallback_share <= 1.0:
            raise BudgetConfigError(
                f"budget.fallback_share must be > 0 and <= 1 (1 / nodes), got {self.fallback_share}"
            )
        if not 0.0 < self.storage_deadline_s <= 2.0:
            raise BudgetConfigError(
                f"budget.storage_deadline_s must be > 0 and <= 2, got {self.storage_deadline_s}"
            )
        for name in ("max_wait_poll_s", "max_wait_protective_s", "storage_probe_s"):
            value = getattr(self, name)
            if not value > 0:
                raise BudgetConfigError(f"budget.{name} must be > 0, got {value}")
        try:
            check_identity(self.ip_group, "budget.ip_group")
        except ValueError as exc:
            raise BudgetConfigError(str(exc)) from None

    def max_wait(self, priority: Priority) -> float:
        if priority >= Priority.PROTECTIVE:
            return self.max_wait_protective_s
        return self.max_wait_poll_s

    @classmethod
    def from_settings(cls, settings: object, **overrides: Any) -> BudgetConfig:
        """Build from ``Settings.budget`` (any object with matching attributes), then
        ``overrides``. Attributes the settings model does not have keep their defaults."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {n: getattr(settings, n) for n in names if hasattr(settings, n)}
        unknown = set(overrides) - names
        if unknown:
            raise BudgetConfigError(f"unknown budget setting(s): {', '.join(sorted(unknown))}")
        values.update(overrides)
        return cls(**values)
