"""The backtest's plot (PNG, matplotlib's Agg backend as :mod:`riskd.demo.plot` uses).

:mod:`riskd.demo.plot` draws the demo's own timeline type (prices per symbol, scopes read
from the simulator); a backtest has one price path and two runs to compare, so it is drawn
here in the same style: price, highest risk rate, and equity — riskd against no riskd —
with riskd's actions and the liquidations marked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from riskd.backtest.engine import Backtest


def _dates(ts: list[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in ts]


def write_png(bt: Backtest, path: Path, title: str = "") -> Path:
    """Draw ``bt`` into ``path`` (PNG) and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    r, b = bt.riskd, bt.baseline
    fig = Figure(figsize=(11, 8), dpi=100)
    FigureCanvasAgg(fig)
    ax_p, ax_r, ax_e = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1, 1]})
    xs = _dates(r.timeline.t)
    xb = _dates(b.timeline.t)
    ax_p.plot(xs, r.timeline.price, color="#1f77b4", label=bt.snapshot.symbol)
    ax_p.set_ylabel("price (USDT)")
    ax_p.set_title(title or f"riskd backtest — {Path(bt.series.path).name}")
    ax_p.grid(alpha=0.3)
    ax_r.plot(xs, r.timeline.rate, color="#2ca02c", label="risk rate with riskd")
    ax_r.plot(xb, b.timeline.rate, color="#7f7f7f", linestyle=":", label="with no riskd")
    ax_r.axhline(0.8, color="#ff7f0e", linestyle="--", label="warning ratio")
    ax_r.axhline(1.0, color="#d62728", linestyle="-", label="liquidation ratio")
    ax_r.set_ylim(0, 1.6)
    ax_r.set_ylabel("highest risk rate")
    ax_r.grid(alpha=0.3)
    ax_e.plot(xs, r.timeline.equity, color="#2ca02c", label="equity with riskd")
    ax_e.plot(xb, b.timeline.equity, color="#7f7f7f", linestyle=":", label="with no riskd")
    ax_e.set_ylabel("equity (USDT)")
    ax_e.grid(alpha=0.3)
    acted = [a for a in r.actions if a.legs]
    for i, a in enumerate(acted):
        ax_p.axvline(
            datetime.fromtimestamp(a.at, UTC),
            color="#2ca02c",
            alpha=0.4,
            linewidth=0.8,
            label="riskd action" if i == 0 else None,
        )
    for i, liq in enumerate(b.liquidations):
        ax_p.axvline(
            datetime.fromtimestamp(liq.at, UTC),
            color="#d62728",
            linestyle="--",
            label="liquidation (no riskd)" if i == 0 else None,
        )
    for i, liq in enumerate(r.liquidations):
        ax_p.axvline(
            datetime.fromtimestamp(liq.at, UTC),
            color="#d62728",
            linewidth=2,
            label="liquidation (with riskd)" if i == 0 else None,
        )
    for ax in (ax_p, ax_r, ax_e):
        ax.legend(loc="upper left", fontsize=8)
    ax_e.set_xlabel("time (UTC)")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
