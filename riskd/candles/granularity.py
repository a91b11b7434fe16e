"""Granularities as users write them (``1m``, ``4h``, ``1d``) mapped to Bitget's names.

Bitget's own names (``1min``, ``4h``, ``1day``, ``1Dutc``… :data:`CANDLE_GRANULARITIES`) are
accepted as they are. The short forms: ``Nm`` → ``Nmin`` (a lower-case ``m`` is minutes; the
exchange's ``1M`` is a month), ``NH`` → ``Nh``, ``Nd``/``ND`` → ``Nday``, ``1w``/``1W`` →
``1week``. Month lines are refused here: a download pages by a fixed candle length.
"""

from __future__ import annotations

import re

from riskd.bitget.endpoint_types import CandleGranularity
from riskd.bitget.endpoints_v2 import CANDLE_GRANULARITIES

_SHORT = re.compile(r"^(\d+)(m|h|H|d|D|w|W)$")
_UNIT = {"m": "min", "h": "h", "H": "h", "d": "day", "D": "day", "w": "week", "W": "week"}


class GranularityError(ValueError):
    """A granularity the candle endpoints do not have; the message lists the ones they do."""


def supported() -> tuple[str, ...]:
    """Bitget's names of the fixed-length granularities."""
    return tuple(n for n, g in CANDLE_GRANULARITIES.items() if g.seconds is not None)


def parse_granularity(text: str) -> CandleGranularity:
    """``"1m"`` / ``"1min"`` → the ``1min`` granularity, and so on (see the module docstring)."""
    raw = text.strip()
    name = raw
    m = _SHORT.match(raw)
    if m is not None and raw not in CANDLE_GRANULARITIES:
        name = m.group(1) + _UNIT[m.group(2)]
    gran = CANDLE_GRANULARITIES.get(name)
    if gran is None:
        raise GranularityError(
            f"granularity {text!r} is not one of Bitget's: {', '.join(supported())} "
            "(short forms 1m, 5m, 1h, 4h, 1d, 1w are accepted)"
        )
    if gran.seconds is None:
        raise GranularityError(
            f"granularity {text!r} is a month line, which has no fixed length; "
            f"use one of {', '.join(supported())}"
        )
    return gran
