"""What the user watches while a demo runs.

The runner hands an :class:`Observer` a :class:`Frame` (the state at one market instant) a
few times per wall second, and every event (action, alert, liquidation) as it happens.

- :class:`RichView`: a live terminal view (rich): prices, each scope's risk rate as a bar
  against its warning and liquidation lines, the latest events, and the counters;
- :class:`PlainView`: one line per event (not a terminal, or ``--no-live``);
- :class:`NullView`: nothing (``--json``, tests).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

BAR_WIDTH = 40
#: The bar spans risk rates 0 … BAR_MAX.
BAR_MAX = Decimal("1.25")
EVENTS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class ScopeView:
    key: str
    risk: Decimal
    warning: Decimal
    liquidation: Decimal
    #: signed fraction of price move to liquidation (None: none reaches it)
    distance: Decimal | None


@dataclass(frozen=True, slots=True)
class Frame:
    scenario: str
    mode: str
    t: float
    duration: float
    speed: float | None
    prices: Mapping[str, Decimal]
    scopes: tuple[ScopeView, ...]
    api_calls: int
    rate_limited: int
    actions: int
    alerts: int
    liquidated: bool


class Observer(Protocol):
    def start(self) -> None: ...

    def frame(self, frame: Frame) -> None: ...

    def event(self, t: float, kind: str, text: str) -> None: ...

    def stop(self) -> None: ...


class NullView:
    """Shows nothing."""

    def start(self) -> None:
        return None

    def frame(self, frame: Frame) -> None:
        return None

    def event(self, t: float, kind: str, text: str) -> None:
        return None

    def stop(self) -> None:
        return None


_STYLE = {"action": "bold green", "alert": "yellow", "liquidation": "bold red", "info": "dim"}


class PlainView:
    """One line per event, for logs and pipes."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def start(self) -> None:
        return None

    def frame(self, frame: Frame) -> None:
        return None

    def event(self, t: float, kind: str, text: str) -> None:
        self._out.write(f"[t={t:7.1f}s] {kind:<11} {text}\n")
        self._out.flush()

    def stop(self) -> None:
        return None


def risk_bar(view: ScopeView) -> Text:
    """A bar of the risk rate with ``|`` at the warning line and ``‖`` at liquidation."""

    def pos(value: Decimal) -> int:
        return max(0, min(BAR_WIDTH - 1, int(value / BAR_MAX * BAR_WIDTH)))

    filled = BAR_WIDTH if not view.risk.is_finite() else pos(view.risk) + (view.risk > 0)
    if view.risk >= view.liquidation:
        color = "red"
    elif view.risk >= view.warning:
        color = "yellow"
    else:
        color = "green"
    text = Text()
    w, liq = pos(view.warning), pos(view.liquidation)
    for i in range(BAR_WIDTH):
        if i == liq:
            text.append("‖", style="bold red")
        elif i == w:
            text.append("|", style="bold yellow")
        elif i < filled:
            text.append("█", style=color)
        else:
            text.append("·", style="dim")
    return text


def _rate(value: Decimal) -> str:
    return "∞" if not value.is_finite() else f"{value:.3f}"


def render(frame: Frame, events: list[tuple[float, str, str]]) -> Group:
    head = Text()
    head.append(f"riskd demo — {frame.scenario}", style="bold")
    head.append(f"   {frame.mode}   ", style="cyan")
    pace = "virtual time" if frame.speed is None else f"×{frame.speed:g}"
    head.append(f"t = {frame.t:6.1f}s / {frame.duration:.0f}s  ({pace})")
    prices = Table.grid(padding=(0, 2))
    for sym, price in frame.prices.items():
        prices.add_row(Text(sym, style="bold"), f"{price:,.2f} USDT")
    scopes = Table(show_edge=False, box=None, padding=(0, 1))
    scopes.add_column("scope")
    scopes.add_column("risk", justify="right")
    scopes.add_column(f"0 … {BAR_MAX}   | warning  ‖ liquidation")
    scopes.add_column("to liquidation", justify="right")
    for sv in frame.scopes:
        dist = "—" if sv.distance is None else f"{abs(sv.distance) * 100:5.1f} %"
        scopes.add_row(sv.key, _rate(sv.risk), risk_bar(sv), dist)
    log = Table.grid()
    for t, kind, text in events[-EVENTS_SHOWN:]:
        log.add_row(
            Text(f"{t:7.1f}s ", style="dim"), Text(f"{kind:<11} ", _STYLE.get(kind, "")), Text(text)
        )
    counters = Text(
        f"API calls {frame.api_calls}   429s {frame.rate_limited}   actions {frame.actions}   "
        f"alerts {frame.alerts}   "
    )
    counters.append(
        "LIQUIDATED" if frame.liquidated else "no liquidation",
        style="bold red" if frame.liquidated else "green",
    )
    return Group(
        head,
        Panel(prices, title="index prices", title_align="left"),
        Panel(scopes, title="risk rate per scope", title_align="left"),
        Panel(log, title="actions and alerts", title_align="left"),
        counters,
    )


class RichView:
    """A live terminal view that redraws on every frame."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._events: deque[tuple[float, str, str]] = deque(maxlen=200)
        self._live: Live | None = None
        self._last: Frame | None = None

    def start(self) -> None:
        self._live = Live(console=self._console, auto_refresh=False, transient=False)
        self._live.start()

    def frame(self, frame: Frame) -> None:
        self._last = frame
        if self._live is not None:
            self._live.update(render(frame, list(self._events)), refresh=True)

    def event(self, t: float, kind: str, text: str) -> None:
        self._events.append((t, kind, text))
        if self._last is not None:
            self.frame(self._last)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
