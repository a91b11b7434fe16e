"""The demo's pictures: a PNG (matplotlib, Agg, no display needed) and a standalone HTML page
(inline SVG, no script, no network) of price, risk rate against the warning and liquidation
lines, and markers for actions, alerts and liquidations.
"""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from riskd.demo.timeline import Marker, Timeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Risk rates are drawn clipped to this (an infinite rate — a bust — is drawn at the top).
RISK_CLIP = 1.6
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_MARK = {"action": "#2ca02c", "liquidation": "#d62728", "alert": "#7f7f7f", "warning": "#ff7f0e"}


def _risk(value: Decimal) -> float:
    return RISK_CLIP if not value.is_finite() else min(float(value), RISK_CLIP)


def _series(tl: Timeline, key: str, *, price: bool) -> tuple[list[float], list[float]]:
    """Risk rates (clipped), or prices as % change since the first sample (symbols of very
    different prices share one axis)."""
    xs: list[float] = []
    ys: list[float] = []
    base: Decimal | None = None
    for s in tl.samples:
        table = s.prices if price else s.risk
        if key not in table:
            continue
        xs.append(s.t)
        if price:
            base = base if base is not None else table[key]
            ys.append(float((table[key] / base - 1) * 100))
        else:
            ys.append(_risk(table[key]))
    return xs, ys


def _start_price(tl: Timeline, symbol: str) -> Decimal | None:
    return next((s.prices[symbol] for s in tl.samples if symbol in s.prices), None)


def write_png(tl: Timeline, path: Path) -> Path:
    """Draw the timeline into ``path`` (PNG) and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7), dpi=100)
    FigureCanvasAgg(fig)
    ax_p, ax_r = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.3]})
    for i, sym in enumerate(tl.symbols):
        xs, ys = _series(tl, sym, price=True)
        start = _start_price(tl, sym)
        ax_p.plot(xs, ys, color=_COLORS[i % len(_COLORS)], label=f"{sym} (from {start:,.2f})")
    ax_p.set_ylabel("index price change (%)")
    ax_p.set_title(f"riskd demo — {tl.scenario}")
    ax_p.grid(alpha=0.3)
    if tl.symbols:
        ax_p.legend(loc="upper right", fontsize=8)
    for i, key in enumerate(tl.scopes):
        xs, ys = _series(tl, key, price=False)
        ax_r.plot(xs, ys, color=_COLORS[i % len(_COLORS)], label=f"risk rate {key}")
    ax_r.axhline(float(tl.warning), color="#ff7f0e", linestyle="--", label="warning ratio")
    ax_r.axhline(float(tl.liquidation), color="#d62728", linestyle="-", label="liquidation ratio")
    _markers(tl, ax_p, ax_r)
    ax_r.set_ylim(0, RISK_CLIP * 1.05)
    ax_r.set_ylabel("risk rate")
    ax_r.set_xlabel("market time (s since the scenario start)")
    ax_r.grid(alpha=0.3)
    ax_r.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _markers(tl: Timeline, ax_p: Axes, ax_r: Axes) -> None:
    labelled: set[str] = set()
    for m in tl.markers:
        if m.kind == "alert":
            continue
        y = _marker_y(tl, m)
        label = {"action": "riskd action", "liquidation": "forced liquidation"}.get(m.kind)
        legend = label if label and m.kind not in labelled else None
        labelled.add(m.kind)
        for ax in (ax_p, ax_r):
            ax.axvline(m.t, color=_MARK[m.kind], alpha=0.25, linewidth=1)
        ax_r.scatter(
            [m.t],
            [y],
            marker="v" if m.kind == "action" else "X",
            s=70,
            color=_MARK[m.kind],
            zorder=5,
            label=legend,
        )


def _marker_y(tl: Timeline, m: Marker) -> float:
    if m.key is not None:
        value = tl.risk_at(m.key, m.t)
        if value is not None:
            return _risk(value)
    return float(tl.liquidation)


# ------------------------------------------------------------------------------ HTML / SVG
_W, _H, _PAD = 960, 260, 48


def _scale(lo: float, hi: float, size: int, invert: bool) -> tuple[float, float]:
    span = (hi - lo) or 1.0
    k = (size - 2 * _PAD) / span
    if invert:
        return -k, size - _PAD + lo * k
    return k, _PAD - lo * k


def _polyline(
    xs: list[float], ys: list[float], sx: tuple[float, float], sy: tuple[float, float], color: str
) -> str:
    pts = " ".join(
        f"{x * sx[0] + sx[1]:.1f},{y * sy[0] + sy[1]:.1f}" for x, y in zip(xs, ys, strict=True)
    )
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>'


def _panel(tl: Timeline, price: bool, t_max: float) -> str:
    keys = tl.symbols if price else tl.scopes
    series = [(k, *_series(tl, k, price=price)) for k in keys]
    values = [y for _, _, ys in series for y in ys]
    if price:
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        pad = (hi - lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = 0.0, RISK_CLIP * 1.05
    sx = _scale(0.0, t_max, _W, False)
    sy = _scale(lo, hi, _H, True)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" style="background:#fff;border:1px solid #ddd">'
    ]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        v = lo + (hi - lo) * frac
        y = v * sy[0] + sy[1]
        parts.append(
            f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="4" y="{y + 4:.1f}" font-size="10">{v:.4g}</text>')
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        t = t_max * frac
        x = t * sx[0] + sx[1]
        parts.append(
            f'<text x="{x:.1f}" y="{_H - 30}" font-size="10" text-anchor="middle">{t:.0f}s</text>'
        )
    if not price:
        for ratio, color, name in (
            (tl.warning, "#ff7f0e", "warning"),
            (tl.liquidation, "#d62728", "liquidation"),
        ):
            y = float(ratio) * sy[0] + sy[1]
            parts.append(
                f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{color}" stroke-dasharray="6,4"/>'
            )
            parts.append(
                f'<text x="{_W - _PAD + 2}" y="{y + 4:.1f}" font-size="10" '
                f'fill="{color}">{name}</text>'
            )
    for m in tl.markers:
        if m.kind == "alert":
            continue
        x = m.t * sx[0] + sx[1]
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_PAD}" y2="{_H - _PAD}" '
            f'stroke="{_MARK[m.kind]}" stroke-opacity="0.5">'
            f"<title>{html.escape(m.label)}</title></line>"
        )
    for i, (key, xs, ys) in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        parts.append(_polyline(xs, ys, sx, sy, color))
        parts.append(
            f'<text x="{_PAD + 4 + 260 * i}" y="{_H - 10}" font-size="11" '
            f'fill="{color}">{html.escape(("" if price else "risk ") + key)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def write_html(tl: Timeline, path: Path) -> Path:
    """A standalone page: both panels as inline SVG and a table of the markers."""
    t_max = max((s.t for s in tl.samples), default=1.0) or 1.0
    rows = "".join(
        f"<tr><td>{m.t:.1f}s</td><td>{m.kind}</td><td>{html.escape(m.key or '')}</td>"
        f"<td>{html.escape(m.label)}</td></tr>"
        for m in tl.markers
    )
    title = html.escape(f"riskd demo — {tl.scenario}")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        "<body style='font-family:sans-serif;margin:20px'>"
        f"<h2>{title}</h2><h3>Index price change since the start (%)</h3>"
        f"{_panel(tl, True, t_max)}"
        f"<h3>Risk rate (warning {tl.warning}, liquidation {tl.liquidation})</h3>"
        f"{_panel(tl, False, t_max)}"
        "<p>Vertical lines: green = riskd action, red = forced liquidation. "
        "Times are market seconds since the scenario start.</p>"
        "<h3>Events</h3><table border='1' cellpadding='4' style='border-collapse:collapse'>"
        f"<tr><th>t</th><th>kind</th><th>scope</th><th>what</th></tr>{rows}</table>"
        "</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
