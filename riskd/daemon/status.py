"""``riskd status``: the rows the running daemon writes each cycle, and how they are shown.

Per account and scope: risk rate (with the exchange's reported figure, riskd's own figure and
how the reported one was read — :mod:`riskd.risk.reading`), warning and liquidation ratios,
data age, whether the data is stale (and the last poll error), firing rules, the last action
and its status, live or dry-run, paused. An account stopped because it is a Unified Trading
Account has one row, scope ``account``, saying so. Per daemon: pid, start, last cycle, budget
use and notifier health — all in the journal database, so the command works while the daemon
runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from riskd.amounts import fmt8
from riskd.rules.state import Status

if TYPE_CHECKING:
    from riskd.daemon.app import AccountRuntime, Daemon


async def status_rows(
    daemon: Daemon, acc: AccountRuntime, now: float
) -> list[tuple[str, str, Mapping[str, object]]]:
    rows: list[tuple[str, str, Mapping[str, object]]] = []
    if acc.poller.stopped is not None:
        rows.append((acc.name, "account", {"stopped": acc.poller.stopped, "live": not acc.dry_run}))
    scopes = set(acc.poller.snapshots) | set(acc.poller.errors)
    for scope in sorted(scopes):
        snap = acc.poller.snapshots.get(scope)
        firing = sorted(
            rule
            for (account, sc, rule), e in acc.state.items()
            if account == acc.name and sc == scope and e.status == Status.FIRING
        )
        pending = sorted(
            rule
            for (account, sc, rule), e in acc.state.items()
            if account == acc.name and sc == scope and e.status == Status.PENDING
        )
        last = await daemon.journal.last_intent(acc.name, scope)
        row: dict[str, object] = {
            "risk_rate": str(snap.risk_rate) if snap else None,
            "reported_risk_rate": _text(snap.reported_risk_rate) if snap else None,
            "local_risk_rate": _text(snap.local_risk_rate) if snap else None,
            "risk_reading": snap.risk_reading if snap else None,
            "reading_checked": snap.reading_checked if snap else None,
            "warning_risk_ratio": str(snap.warning_risk_ratio) if snap else None,
            "liquidation_risk_ratio": str(snap.liquidation_risk_ratio) if snap else None,
            "observed_at": snap.observed_at if snap else None,
            "data_age_s": round(snap.age(now), 1) if snap else None,
            "stale": scope in acc.stale,
            "error": acc.poller.errors.get(scope),
            "firing": firing,
            "pending": pending,
            "live": not acc.dry_run,
            "next_poll_at": acc.poller.next_due.get(scope),
            "last_action": None
            if last is None
            else {
                "at": last.intent.at,
                "kind": last.intent.kind,
                "rule": last.intent.rule,
                "status": last.status,
                "dry_run": last.intent.dry_run,
                "params": dict(last.intent.params),
            },
        }
        rows.append((acc.name, scope, row))
    return rows


def _text(value: Decimal | None) -> str | None:
    """8 decimals, like the exchange's figures (riskd's own is computed to 28 digits)."""
    if value is None:
        return None
    return str(value) if not value.is_finite() else fmt8(value)


def _reading_text(d: Mapping[str, Any]) -> str:
    """`` [Bitget 2.5 read as assets/liabilities; own 0.4]`` — empty when there is no figure."""
    reported, own, how = (
        d.get("reported_risk_rate"),
        d.get("local_risk_rate"),
        d.get("risk_reading"),
    )
    if reported is None and own is None:
        return ""
    parts = []
    if reported is not None:
        checked = "" if d.get("reading_checked") else ", unchecked"
        parts.append(f"Bitget {reported} read as {how}{checked}")
    parts.append(f"own {own if own is not None else 'unknown'}")
    return " [" + "; ".join(parts) + "]"


def render_status(
    rows: list[tuple[str, str, float, dict[str, Any]]],
    meta: Mapping[str, Any] | None,
    paused: Mapping[str, bool],
    now: float,
) -> str:
    """Plain text for a terminal."""
    lines: list[str] = []
    if meta:
        cycle_at = meta.get("last_cycle_at")
        ago = f"{now - cycle_at:.0f}s ago" if isinstance(cycle_at, int | float) else "never"
        lines.append(f"daemon pid {meta.get('pid')}, last cycle {ago}")
        budget = meta.get("budget")
        if isinstance(budget, list) and budget:
            lines.append("budget:")
            lines.extend(f"  {b}" for b in budget)
        notifier = meta.get("notifier")
        if isinstance(notifier, dict):
            lines.append(
                "notifier: "
                + ", ".join(f"{k} {v}" for k, v in notifier.items() if not isinstance(v, dict))
            )
    else:
        lines.append("no status yet: has `riskd run` started with this journal?")
    if paused.get("*"):
        lines.append("ACTIONS PAUSED for every account (riskd resume)")
    current = None
    for account, scope, at, d in rows:
        if account != current:
            current = account
            mode = "LIVE" if d.get("live") else "dry-run"
            p = " — ACTIONS PAUSED" if paused.get(account) else ""
            lines.append(f"\n{account} ({mode}){p}")
        if d.get("stopped"):
            lines.append(f"  STOPPED: {d['stopped']}")
            continue
        rate = d.get("risk_rate") or "?"
        warn, liq = d.get("warning_risk_ratio") or "?", d.get("liquidation_risk_ratio") or "?"
        age = d.get("data_age_s")
        age_text = "no data" if age is None else f"data {float(age) + now - at:.0f}s old"
        stale = " STALE" if d.get("stale") else ""
        lines.append(
            f"  {scope:<22} riskRate {rate}{_reading_text(d)} (warn {warn}, liq {liq});"
            f" {age_text}{stale}"
        )
        if d.get("error"):
            lines.append(f"    last error: {d['error']}")
        if d.get("firing"):
            lines.append(f"    firing: {', '.join(d['firing'])}")
        if d.get("pending"):
            lines.append(f"    pending: {', '.join(d['pending'])}")
        last_action = d.get("last_action")
        if isinstance(last_action, dict):
            last = last_action
            dry = " (dry-run)" if last.get("dry_run") else ""
            params = ", ".join(
                f"{k}={v}" for k, v in last.get("params", {}).items() if k != "scope"
            )
            lines.append(
                f"    last action: {last.get('kind')} {params} → {last.get('status')}{dry}"
                f" ({now - float(last.get('at', now)):.0f}s ago, rule {last.get('rule')})"
            )
    return "\n".join(lines)


def status_json(
    rows: list[tuple[str, str, float, dict[str, Any]]],
    meta: Mapping[str, Any] | None,
    paused: Mapping[str, bool],
) -> str:
    accounts: dict[str, dict[str, Any]] = {}
    for account, scope, at, d in rows:
        acc = accounts.setdefault(account, {"paused": bool(paused.get(account)), "scopes": {}})
        acc["scopes"][scope] = {**d, "written_at": at}
    doc = {"daemon": meta, "paused_all": bool(paused.get("*")), "accounts": accounts}
    return json.dumps(doc, indent=2, sort_keys=True, default=str)
