"""Sizing: how much a protective action moves, decided in one place (pure, Decimal).

- :mod:`riskd.sizing.kinds` — the one :class:`ActionKind` enum and the one :class:`Skip`.
- :mod:`riskd.sizing.targets` — the debt value that brings a scope to a target risk rate
  and/or a target distance to liquidation.
- :mod:`riskd.daemon.plans` turns a rule's request into the exact call on the freshest data,
  with these, just before the request leaves.
"""

from riskd.sizing.kinds import PROTECTIVE_KINDS, ActionKind, Skip

__all__ = ["PROTECTIVE_KINDS", "ActionKind", "Skip"]
