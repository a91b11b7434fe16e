"""The caps on protective actions live in :mod:`riskd.sizing.caps` (sizing owns targets,
caps, lot sizes and minimums); this module keeps the daemon's import path."""

from riskd.sizing.caps import DAY_S, CapDecision, apply_caps, price_of, value_usdt

__all__ = ["DAY_S", "CapDecision", "apply_caps", "price_of", "value_usdt"]
