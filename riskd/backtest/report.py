"""A backtest's summary: JSON and text, in the demo's ``key: value`` style.

Definitions:

- **liquidated**: the simulator's liquidation rule (risk rate ≥ the liquidation ratio) fired
  on a scope at some point of the path.
- **capital_moved**: USDT value, at the price of the instant, of what riskd's actions repaid,
  sold or bought (flash repays: the debt they repay).
- **end_equity**: assets − liabilities of every scope at the last close (USDT).
- **loss_avoided**: end equity with riskd − end equity with no riskd (negative: riskd's
  de-leveraging cost more than the liquidations it avoided, e.g. the price came back).
- **liquidation_loss**: equity lost inside liquidations (the simulator's fee and its sales).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskd.backtest.engine import Backtest, RunResult
from riskd.candles.read import format_granularity
from riskd.demo.summary import dec


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_json(r: RunResult) -> dict[str, Any]:
    return {
        "liquidated": bool(r.liquidations),
        "liquidations": [
            {
                "at": _iso(liq.at),
                "scope": liq.scope,
                "price": dec(liq.price),
                "equity_before": dec(liq.equity_before, 2),
                "equity_after": dec(liq.equity_after, 2),
            }
            for liq in r.liquidations
        ],
        "liquidation_loss": dec(r.liquidation_loss, 2),
        "start_equity": dec(r.start_equity, 2),
        "end_equity": dec(r.end_equity, 2),
        "max_risk_rate": dec(r.max_rate, 4),
        "polls": r.polls,
        "capital_moved": dec(r.capital_moved, 2),
        "actions": sum(f.actions for f in r.rules.values()),
    }


def to_json(bt: Backtest, plot: str | None = None) -> dict[str, Any]:
    s = bt.series
    first, last = s.candles[0], s.candles[-1]
    return {
        "candles": {
            "file": s.path,
            "count": len(s.candles),
            "granularity": format_granularity(s.granularity_ms),
            "from": _iso(first.ts_ms / 1000),
            "to": _iso(last.ts_ms / 1000),
            "gaps": len(s.gaps),
            "missing": s.missing,
        },
        "account": bt.snapshot.account,
        "symbol": bt.snapshot.symbol,
        "scopes": list(bt.snapshot.scopes),
        "riskd": _run_json(bt.riskd),
        "no_riskd": _run_json(bt.baseline),
        "liquidations_avoided": bt.liquidations_avoided,
        "loss_avoided": dec(bt.loss_avoided, 2),
        "rules": {
            name: {
                "fired": f.fired,
                "actions": f.actions,
                "skipped": f.skipped,
                "failed": f.failed,
                "capital_moved": dec(f.capital_moved, 2),
            }
            for name, f in bt.riskd.rules.items()
        },
        "actions": [
            {
                "at": _iso(a.at),
                "rule": a.rule,
                "scope": a.scope,
                "kind": a.kind,
                "capital": dec(a.capital, 2),
                "legs": list(a.legs),
                "error": a.error,
                "skipped": a.skipped,
            }
            for a in bt.riskd.actions
        ],
        "plot": plot,
    }


def _yes(r: RunResult) -> str:
    n = len(r.liquidations)
    return "false" if n == 0 else f"true ({n} liquidation{'s' if n > 1 else ''})"


def render_text(bt: Backtest, plot: str | None = None) -> str:
    """The plain summary: the path, riskd against no riskd, and per-rule figures."""
    s = bt.series
    r, b = bt.riskd, bt.baseline
    lines = [
        f"candles: {s.path} — {len(s.candles)} × {format_granularity(s.granularity_ms)}, "
        f"{_iso(s.candles[0].ts_ms / 1000)} → {_iso(s.candles[-1].ts_ms / 1000)}"
        + (f", {len(s.gaps)} gap(s)" if s.gaps else ""),
        f"account: {bt.snapshot.account} ({', '.join(bt.snapshot.scopes)}) on {bt.snapshot.symbol}",
        f"liquidated: {_yes(r)} with riskd; {_yes(b)} with no riskd",
        f"liquidations_avoided: {bt.liquidations_avoided}",
        f"max_risk_rate: {dec(r.max_rate, 4)} with riskd; {dec(b.max_rate, 4)} with no riskd",
        f"actions: {sum(f.actions for f in r.rules.values())}",
        f"capital_moved: {dec(r.capital_moved, 2)} USDT",
        f"end_equity: {dec(r.end_equity, 2)} USDT with riskd; {dec(b.end_equity, 2)} USDT with"
        f" no riskd (start {dec(r.start_equity, 2)})",
        f"loss_avoided: {dec(bt.loss_avoided, 2)} USDT",
        f"liquidation_loss: {dec(r.liquidation_loss, 2)} USDT with riskd; "
        f"{dec(b.liquidation_loss, 2)} USDT with no riskd",
        f"polls: {r.polls}",
    ]
    if plot:
        lines.append(f"plot: {plot}")
    lines.append("rules:")
    width = max((len(n) for n in r.rules), default=4)
    for name, f in r.rules.items():
        lines.append(
            f"  {name:<{width}}  fired {f.fired:>3}  actions {f.actions:>3}"
            f"  capital_moved {dec(f.capital_moved, 2):>12} USDT"
            + (f"  skipped {f.skipped}" if f.skipped else "")
            + (f"  failed {f.failed}" if f.failed else "")
        )
    return "\n".join(lines)
