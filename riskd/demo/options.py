"""How one demo run is made: the scenario, the rules, the pacing (shared by the runner and
the results, which must not import each other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from riskd.settings import PollSettings
from riskd.sim.scenario import Scenario

#: Pacing of ``riskd demo`` when it shows its live view (market seconds per wall second).
DEFAULT_SPEED = 10.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    scenario: Scenario
    #: Rule files for the daemon; ``None`` with ``daemon=False``.
    rules_dir: Path | None = None
    #: At most this many market seconds per wall second (the live view); ``None``: virtual
    #: time as fast as possible (the suite, ``--json``). The result does not depend on it.
    speed: float | None = None
    #: False: the same scenario with riskd off (``--no-daemon``).
    daemon: bool = True
    #: Apprise URLs to send alerts to, besides the console.
    notify_urls: tuple[str, ...] = ()
    #: Where the plots and the journal go; ``None``: write nothing.
    out_dir: Path | None = Path("riskd-demo-out")
    #: Market seconds between two samples of the true state.
    sample_s: float = 0.5
    #: Market seconds to run; ``None``: the scenario's ``duration_s``.
    duration_s: float | None = None
    poll: PollSettings = field(default_factory=PollSettings)
    seed: int = 0
    #: Bitget API version the daemon speaks to the simulator (v1: legacy, ``--api v1``).
    api: Literal["v1", "v2"] = "v2"
    #: Serve the dashboard over the demo's daemon on this loopback port (``--dashboard``;
    #: 0: a free port); ``None``: no dashboard. Needs a paced run (``speed``).
    dashboard_port: int | None = None

    def __post_init__(self) -> None:
        if self.speed is not None and self.speed <= 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")
        if self.daemon and self.rules_dir is None:
            raise ValueError("a rules directory is needed to run the daemon")
        if self.dashboard_port is not None and (not self.daemon or self.speed is None):
            raise ValueError("the dashboard needs the daemon and a paced run (--speed)")

    @property
    def run_s(self) -> float:
        if self.duration_s is not None:
            return self.duration_s
        return self.scenario.duration_s or 60.0

    @property
    def label(self) -> str:
        return self.scenario.name + ("" if self.daemon else "-no-daemon")


__all__ = ["DEFAULT_SPEED", "DemoOptions"]
