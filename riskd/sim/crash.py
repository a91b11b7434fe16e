"""A crash on request: new price paths that start *now* in market time.

Asked for over the control surface (``POST /_sim/crash``, ``riskd sim crash``) in one of two
forms:

- ``{"scenario": NAME_OR_PATH}``: the price paths of a scenario (a shipped name or a TOML
  file on the simulator's machine). Each symbol the running market knows follows its path
  from its current price; leading ``hold`` segments are skipped so the move starts at once
  (``"as_written": true`` keeps them). Relative segments (``change``) move from the current
  price, absolute ones (``to``) go to the price written. Symbols the market does not know are
  reported as skipped.
- ``{"change": "-0.3", "over_s": 60, "symbols": [...]}``: every named symbol (none = all)
  moves by ``change`` (−0.3 = −30 %) in a straight line over ``over_s`` seconds (0 = a step).

A price pinned with ``/_sim/price`` is released: the new path starts from it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from riskd.sim.market import Segment
from riskd.sim.scenario import load_scenario

#: Longest crash on request (market seconds).
MAX_OVER_S = 86_400.0


@dataclass(frozen=True, slots=True)
class CrashRequest:
    """What to move: a scenario's paths, or one relative change for some symbols."""

    scenario: str | None = None
    as_written: bool = False
    change: Decimal | None = None
    over_s: float = 60.0
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.scenario is None) == (self.change is None):
            raise ValueError("give either 'scenario' or 'change' (with 'over_s')")
        if self.change is not None and (not self.change.is_finite() or self.change <= -1):
            raise ValueError(f"change: {self.change} must be > -1 (−100 %)")
        if self.change is not None and self.change == 0:
            raise ValueError("change: 0 moves nothing")
        if not 0 <= self.over_s <= MAX_OVER_S:
            raise ValueError(f"over_s: {self.over_s:g} must be within 0..{MAX_OVER_S:g} seconds")


@dataclass(frozen=True, slots=True)
class CrashPlan:
    """The paths to start and the symbols left out (not in this market)."""

    paths: Mapping[str, tuple[Segment, ...]]
    skipped: tuple[str, ...]
    source: str


def crash_from_mapping(body: Mapping[str, object]) -> CrashRequest:
    """A :class:`CrashRequest` from JSON read with ``parse_float=Decimal`` (numbers are strings,
    integers or Decimals, never binary floats); a bad or unknown field is a ``ValueError``
    naming it."""
    allowed = {"scenario", "as_written", "change", "over_s", "symbols"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} (allowed: {sorted(allowed)})")
    scenario = body.get("scenario")
    if scenario is not None and (not isinstance(scenario, str) or not scenario):
        raise ValueError(f"scenario: expected a name or a path, got {scenario!r}")
    as_written = body.get("as_written", False)
    if not isinstance(as_written, bool):
        raise ValueError(f"as_written: expected true or false, got {as_written!r}")
    change: Decimal | None = None
    raw_change = body.get("change")
    if raw_change is not None:
        if isinstance(raw_change, bool) or not isinstance(raw_change, (str, int, Decimal)):
            raise ValueError(f"change: expected a decimal string, got {raw_change!r}")
        try:
            change = Decimal(str(raw_change))
        except InvalidOperation:
            raise ValueError(f"change: {raw_change!r} is not a decimal number") from None
    raw_over = body.get("over_s", 60)
    if isinstance(raw_over, bool) or not isinstance(raw_over, (str, int, Decimal)):
        raise ValueError(f"over_s: expected a number of seconds, got {raw_over!r}")
    try:
        over_s = float(Decimal(str(raw_over)))
    except InvalidOperation:
        raise ValueError(f"over_s: {raw_over!r} is not a number") from None
    symbols = body.get("symbols", [])
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise ValueError(f"symbols: expected a list of symbols, got {symbols!r}")
    return CrashRequest(
        scenario if isinstance(scenario, str) else None,
        as_written,
        change,
        over_s,
        tuple(str(s) for s in symbols),
    )


def _skip_lead(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    i = 0
    while i < len(segments) and segments[i].kind == "hold":
        i += 1
    return tuple(segments[i:])


def plan_crash(request: CrashRequest, known: Collection[str]) -> CrashPlan:
    """The paths ``request`` starts in a market of the ``known`` symbols.

    Raises ``ValueError`` (a :class:`~riskd.sim.scenario.ScenarioError` for a bad scenario)
    when nothing would move."""
    unknown = [s for s in request.symbols if s not in known]
    if unknown:
        raise ValueError(f"symbols: {', '.join(unknown)} not in this market ({', '.join(known)})")
    if request.change is not None:
        seg = (
            Segment("linear", request.over_s, change=request.change)
            if request.over_s > 0
            else Segment("step", change=request.change)
        )
        chosen = request.symbols or tuple(known)
        label = f"{request.change:+} over {request.over_s:g} s"
        return CrashPlan({s: (seg,) for s in chosen}, (), label)
    assert request.scenario is not None
    scenario = load_scenario(request.scenario)
    paths: dict[str, tuple[Segment, ...]] = {}
    skipped: list[str] = []
    for symbol, segments in scenario.paths.items():
        if symbol not in known or (request.symbols and symbol not in request.symbols):
            skipped.append(symbol)
            continue
        chosen_segments = tuple(segments) if request.as_written else _skip_lead(segments)
        if chosen_segments:
            paths[symbol] = chosen_segments
    if not paths:
        raise ValueError(
            f"scenario {scenario.name!r} moves none of this market's symbols "
            f"({', '.join(known)}); its paths: {', '.join(scenario.paths) or 'none'}"
        )
    return CrashPlan(paths, tuple(skipped), f"scenario {scenario.name!r}")
