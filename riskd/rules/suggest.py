"""'Did you mean …?' hints for misspelt names (difflib, then case-insensitive match)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'riskRate'?)"`` or ``""`` when nothing is close."""
    pool = list(candidates)
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        close = [c for c in pool if c.lower() == name.lower()]
    return f" (did you mean '{close[0]}'?)" if close else ""
