"""Which way the exchange's risk figure points: one pure decision, made every poll.

Bitget's texts disagree on v2's ``riskRateRatio``: the API page calls it "total assets / total
liabilities" (lower = riskier), the help centre defines the risk ratio as liabilities ÷ assets
with the margin call at 0.8 and liquidation at 1 (higher = riskier). riskd therefore computes
the rate itself from the scope's balances, index prices and tier maintenance margin rates
(:func:`riskd.risk.math.value`) and takes the reading of the reported figure that agrees:

``liabilities/assets``
    the figure is the risk rate as it is: ``riskRate = riskRateRatio``;
``assets/liabilities``
    the figure is its inverse: ``riskRate = 1 / riskRateRatio``.

A reading agrees when it is within :data:`DEFAULT_TOLERANCE` of riskd's own figure: an
absolute 0.02 plus 10 % of the larger of the two — riskd's figure at the prices of the read's
answer, or at those of its start, or between the two (the exchange computed its figure at
some instant in between; with a slow API in a fast market the ends are far apart; the rules
then see riskd's figure at the answer's prices, the fresher one). The slack covers what the
local model cannot see exactly — tiers above the first, interest accrued since the assets
were read — while keeping the two readings apart: they differ by a factor
``riskRateRatio²``, more than 10 % everywhere but within about 5 % of 1.

- Both agree (the figure is close to 1, or both are tiny): the reading that agreed last time
  (``previous``) is kept; without one the riskier of the two is taken.
- Neither agrees: riskd acts on its own figure and the caller raises a loud alert naming both
  (``mismatch``). Its own figure is what the liquidation engine is documented to compute.
- riskd cannot compute its own figure (no price for a coin, no tier data yet): the previous
  reading, else the help centre's ``liabilities/assets``; ``checked`` is false.
- No debt: the rate is 0 whatever the exchange sent (there is nothing to liquidate).
- ``contested=False`` (API v1, whose document is unambiguous): the reported figure as it is.

Rules see one ``riskRate``, higher = riskier; :class:`RiskReading` keeps the reported figure
and the local one beside it for ``riskd status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from riskd.amounts import for_people

Reading = Literal["liabilities/assets", "assets/liabilities", "own", "no debt"]
DIRECT: Reading = "liabilities/assets"
INVERSE: Reading = "assets/liabilities"
OWN: Reading = "own"
NO_DEBT: Reading = "no debt"
#: The help centre's reading, used until riskd can check one.
DEFAULT_READING: Reading = DIRECT

ZERO = Decimal(0)
ONE = Decimal(1)
INFINITE = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Two figures agree when ``|a − b| ≤ absolute + relative × max(|a|, |b|)``."""

    absolute: Decimal = Decimal("0.02")
    relative: Decimal = Decimal("0.10")

    def agree(self, a: Decimal, b: Decimal) -> bool:
        if a.is_infinite() or b.is_infinite():
            return a == b
        return abs(a - b) <= self.absolute + self.relative * max(abs(a), abs(b))

    def agree_within(self, a: Decimal, b: Decimal, then: Decimal | None) -> bool:
        """``a`` agrees with ``b`` or with ``then``, or lies between them: the exchange
        computed ``a`` at some instant between the read's start (riskd's own figure at that
        moment's prices: ``then``) and its answer (``b``), and in a fast market with a slow
        API the two ends can be far apart."""
        if self.agree(a, b):
            return True
        if then is None:
            return False
        return self.agree(a, then) or min(b, then) <= a <= max(b, then)


DEFAULT_TOLERANCE = Tolerance()


@dataclass(frozen=True, slots=True)
class RiskReading:
    """The decision for one scope at one poll."""

    #: What the rules see: higher = riskier, 1 = liquidation.
    risk_rate: Decimal
    #: ``riskRateRatio`` as the exchange sent it (``None``: not asked, e.g. no debt).
    reported: Decimal | None
    #: riskd's own figure (``None``: it could not be computed).
    local: Decimal | None
    #: How ``risk_rate`` was obtained.
    reading: Reading
    #: The reading was confirmed against riskd's own figure this poll.
    checked: bool
    #: Neither reading agrees with riskd's figure: alert loudly, naming both.
    mismatch: bool = False

    def describe(self) -> str:
        """One line naming every figure (alerts, logs, journal)."""
        rep = "not read" if self.reported is None else str(self.reported)
        loc = "unknown" if self.local is None else for_people(self.local)
        how = f"read as {self.reading}" + ("" if self.checked else " (unchecked)")
        if self.mismatch:
            inv = _inverse(self.reported) if self.reported is not None else None
            return (
                f"riskRateRatio {rep} matches riskd's own risk rate {loc} neither as "
                f"liabilities/assets ({rep}) nor as assets/liabilities "
                f"({'undefined' if inv is None else for_people(inv)}); acting on riskd's own "
                f"figure {for_people(self.risk_rate)}"
            )
        return f"riskRate {for_people(self.risk_rate)} (riskRateRatio {rep}, own {loc}; {how})"


def _inverse(x: Decimal) -> Decimal | None:
    """``1 / x`` for a positive finite x; 0 for an infinite one; ``None`` for x ≤ 0."""
    if x.is_infinite():
        return ZERO if x > 0 else None
    if x <= 0:
        return None
    return ONE / x


def read_risk_rate(
    reported: Decimal | None,
    local: Decimal | None,
    *,
    owes: bool,
    contested: bool = True,
    previous: Reading | None = None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    local_then: Decimal | None = None,
) -> RiskReading:
    """Decide the risk rate the rules see from the exchange's figure and riskd's own.

    ``owes``: the scope has a liability (borrow or interest) in some coin. ``previous``: the
    reading this scope's last poll settled on (kept when both readings agree, or riskd cannot
    check). ``local_then``: riskd's own figure at the prices of when the read started
    (``local`` is at the prices of its answer); a reading agrees with either, or between
    them (:meth:`Tolerance.agree_within`); one that agrees only with the start, or between, settles
    the reading but the rules see ``local``, the fresher figure. Pure: no clock, no I/O.
    """
    if not owes:
        return RiskReading(ZERO, reported, local, NO_DEBT, checked=True)
    if reported is None:
        if local is None:
            raise ValueError("no risk figure at all: neither reported nor computed")
        return RiskReading(local, None, local, OWN, checked=True)
    if not contested:
        return RiskReading(reported, reported, local, DIRECT, checked=False)
    candidates: dict[Reading, Decimal] = {DIRECT: reported}
    inverse = _inverse(reported)
    if inverse is not None:
        candidates[INVERSE] = inverse
    if local is None:
        fallback: Reading = (
            previous if previous is not None and previous in candidates else DEFAULT_READING
        )
        rate = candidates.get(fallback, reported)
        return RiskReading(rate, reported, None, fallback, checked=False)
    agreeing = [
        r for r, value in candidates.items() if tolerance.agree_within(value, local, local_then)
    ]
    if not agreeing:
        return RiskReading(local, reported, local, OWN, checked=True, mismatch=True)
    if len(agreeing) == 1:
        chosen = agreeing[0]
    elif previous in agreeing:
        chosen = previous
    else:
        chosen = max(agreeing, key=lambda r: candidates[r])
    # A figure that agrees only with the read's start (or between) is older than riskd's
    # own at the answer's prices: the reading is settled, the rules see the fresher figure.
    fresh = tolerance.agree(candidates[chosen], local)
    return RiskReading(
        candidates[chosen] if fresh else local, reported, local, chosen, checked=True
    )


__all__ = [
    "DEFAULT_READING",
    "DEFAULT_TOLERANCE",
    "DIRECT",
    "INVERSE",
    "NO_DEBT",
    "OWN",
    "Reading",
    "RiskReading",
    "Tolerance",
    "read_risk_rate",
]
