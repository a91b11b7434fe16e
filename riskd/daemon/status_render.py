"""How ``riskd status`` shows a :class:`~riskd.daemon.status_report.StatusReport`: risk
first (per scope the rate against warning and liquidation, the distance to liquidation and
the trend), then recent actions, then the budget and the notifier. :func:`render_text` for a
terminal or a pipe, :func:`render_rich` (the same lines, coloured) for ``--watch``."""

from __future__ import annotations

from rich.text import Text

from riskd.daemon.plans import describe_call
from riskd.daemon.status_model import ScopeRow
from riskd.daemon.status_report import DaemonInfo, DaemonState, RecentAction, StatusReport

#: Recent actions shown in the text (the JSON has them all).
SHOWN_ACTIONS = 5


def ago(seconds: float) -> str:
    """``4s``, ``5m 3s``, ``2h 5m``, ``3d 4h``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


Line = tuple[str, str]  # (text, rich style)


def _daemon_line(d: DaemonInfo, now: float) -> Line:
    last = None if d.last_cycle_at is None else ago(now - d.last_cycle_at)
    seen = d.last_cycle_at or d.started_at
    seen_text = "never" if seen is None else f"{ago(now - seen)} ago"
    if d.state is DaemonState.NEVER_RAN:
        return "no status yet: has `riskd run` started with this journal?", "bold yellow"
    if d.state is DaemonState.RUNNING:
        cycle = f"last cycle {last} ago" if last is not None else "starting (no cycle yet)"
        return f"riskd running (pid {d.pid}), {cycle}", "green"
    if d.state is DaemonState.NOT_RESPONDING:
        cycle = f"last cycle {last} ago" if last is not None else "no cycle since its start"
        return f"riskd NOT RESPONDING (pid {d.pid} alive, {cycle})", "bold red"
    how = (
        "stopped cleanly"
        if d.clean_stop
        else f"pid {d.pid} gone without a clean stop: the next start reconciles"
    )
    return f"riskd NOT RUNNING (last seen {seen_text}; {how}); figures below are from then", (
        "bold red"
    )


def _reading_text(row: ScopeRow) -> str:
    """`` [Bitget 2.5 read as assets/liabilities; own 0.4]`` — empty when there is no figure."""
    if row.reported_risk_rate is None and row.local_risk_rate is None:
        return ""
    parts = []
    if row.reported_risk_rate is not None:
        checked = "" if row.reading_checked else ", unchecked"
        parts.append(f"Bitget {row.reported_risk_rate} read as {row.risk_reading}{checked}")
    own = row.local_risk_rate if row.local_risk_rate is not None else "unknown"
    parts.append(f"own {own}")
    return " [" + "; ".join(parts) + "]"


def _risk_style(row: ScopeRow) -> str:
    if row.stale or row.risk_rate is None:
        return "bold red" if row.stale else ""
    if row.liquidation_risk_ratio is not None and row.risk_rate >= row.liquidation_risk_ratio:
        return "bold red"
    if row.warning_risk_ratio is not None and row.risk_rate >= row.warning_risk_ratio:
        return "red"
    return ""


def _distance_text(row: ScopeRow) -> str | None:
    """``distance to liquidation 0.31 in rate, -12.30% in price; trend rising +0.01/min``."""
    parts = []
    headroom = row.headroom_to_liquidation
    if headroom is not None:
        parts.append(f"{headroom} in rate")
    if row.price_move_to_liquidation is not None:
        parts.append(f"{row.price_move_to_liquidation * 100:+.2f}% in price")
    text = f"distance to liquidation {', '.join(parts)}" if parts else ""
    trend = row.trend_per_min
    if trend is not None:
        word = "steady" if trend == 0 else f"{'rising' if trend > 0 else 'falling'} {trend:+}/min"
        text += ("; " if text else "") + f"trend {word}"
    return text or None


def _push_text(row: ScopeRow, now: float) -> str:
    """How long ago each push source last spoke (the push path decides when to look)."""

    def when(at: float | None) -> str:
        return "none yet" if at is None else f"{ago(max(0.0, now - at))} ago"

    return f"pushes: index prices {when(row.price_push_at)}, account {when(row.account_push_at)}"


def _scope_lines(row: ScopeRow, now: float) -> list[Line]:
    rate = row.risk_rate if row.risk_rate is not None else "?"
    warn = row.warning_risk_ratio if row.warning_risk_ratio is not None else "?"
    liq = row.liquidation_risk_ratio if row.liquidation_risk_ratio is not None else "?"
    age = row.age(now)
    age_text = "no data" if age is None else f"data {ago(age)} old"
    if age is not None and row.adjusted_at is not None:
        # The read, with a repay's confirmed answer applied (read again at the next poll).
        age_text += f", a repay's answer applied {ago(now - row.adjusted_at)} ago"
    stale = " STALE" if row.stale else ""
    lines: list[Line] = [
        (
            f"  {row.scope:<22} riskRate {rate}{_reading_text(row)} (warn {warn}, liq {liq});"
            f" {age_text}{stale}",
            _risk_style(row),
        )
    ]
    if row.shadow_risk_rate is not None:
        lines.append(
            (
                f"    dry-run shadow riskRate {row.shadow_risk_rate}: what the account would"
                " show had the would-be actions been sent (the rules decide on it)",
                "",
            )
        )
    distance = _distance_text(row)
    if distance:
        lines.append((f"    {distance}", ""))
    if row.pushes:
        lines.append((f"    {_push_text(row, now)}", ""))
    if row.error:
        lines.append((f"    last error: {row.error}", "red"))
    if row.firing:
        lines.append((f"    firing: {', '.join(row.firing)}", "bold"))
    if row.pending:
        lines.append((f"    pending: {', '.join(row.pending)}", ""))
    last = row.last_action
    if last is not None:
        dry = " (dry-run)" if last.dry_run else ""
        what = describe_call(last.kind, last.params)
        lines.append(
            (
                f"    last action: {what} → {last.status}{dry}"
                f" ({ago(now - last.at)} ago, rule {last.rule})",
                "",
            )
        )
    return lines


def _action_line(a: RecentAction, now: float) -> Line:
    amount = f" {a.amount} {a.coin}" if a.amount is not None and a.coin else ""
    dry = " (dry-run)" if a.dry_run else ""
    style = "red" if a.status in ("failed", "unknown", "not_executed") else ""
    return (
        f"  {ago(now - a.at)} ago  {a.account}/{a.scope} {a.kind}{amount} → {a.status}{dry}"
        f" [{a.rule}]",
        style,
    )


def report_lines(report: StatusReport) -> list[Line]:
    """The report as styled lines: daemon, risk per scope, recent actions, then the budget."""
    now = report.generated_at
    lines: list[Line] = [_daemon_line(report.daemon, now)]
    if report.paused_all:
        lines.append(("ACTIONS PAUSED for every account (riskd resume)", "bold yellow"))
    for liq in report.liquidations:
        where = "/".join(x for x in (liq.account, liq.scope) if x)
        lines.append((f"LIQUIDATED {where} {ago(now - liq.at)} ago: {liq.summary}", "bold red"))
    for acc in report.accounts:
        mode = "LIVE" if acc.live else "dry-run"
        paused = " — ACTIONS PAUSED" if acc.paused else ""
        lines.append(("", ""))
        lines.append((f"{acc.name} ({mode}){paused}", "bold"))
        if acc.stopped is not None:
            lines.append((f"  STOPPED: {acc.stopped}", "bold red"))
        for row in acc.scopes:
            lines.extend(_scope_lines(row, now))
    lines.append(("", ""))
    if report.recent_actions:
        shown = report.recent_actions[-SHOWN_ACTIONS:]
        lines.append((f"recent actions ({len(shown)} of {len(report.recent_actions)}):", "bold"))
        lines.extend(_action_line(a, now) for a in reversed(shown))
    else:
        lines.append(("recent actions: none in the last 24h", ""))
    if report.budget:
        lines.append(("budget:", "bold"))
        lines.extend(
            (f"  {k.line()}", "red" if k.http_429 or k.exhausted else "") for k in report.budget
        )
    n = report.notifier
    if n is not None:
        health = "healthy" if n.healthy else "UNHEALTHY"
        error = f", last error: {n.last_error}" if n.last_error else ""
        lines.append(
            (
                f"notifier: {health}, queued {n.queued}, delivered {n.delivered}, failed"
                f" {n.failed}, dropped {n.dropped}{error}",
                "" if n.healthy else "bold red",
            )
        )
    return lines


def render_text(report: StatusReport) -> str:
    """Plain text for a terminal or a pipe."""
    return "\n".join(text for text, _ in report_lines(report))


def render_rich(report: StatusReport) -> Text:
    """The same lines, coloured (``riskd status --watch``)."""
    out = Text()
    for i, (text, style) in enumerate(report_lines(report)):
        if i:
            out.append("\n")
        out.append(text, style=style or None)
    return out


__all__ = ["ago", "render_rich", "render_text", "report_lines"]
