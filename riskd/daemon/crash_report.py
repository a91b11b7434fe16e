"""After a crash: the actions the run that died took, for the restart alert."""

from __future__ import annotations

from riskd.daemon.journal import Journal


async def actions_of_the_run_that_died(journal: Journal) -> str:
    """One line per live action of the previous run, its status as journaled (open ones
    are reconciled next)."""
    previous = await journal.get_meta("daemon")
    since = previous.get("started_at") if isinstance(previous, dict) else None
    if not isinstance(since, int | float):
        return ""
    done = [r for r in await journal.intents(since=float(since)) if not r.intent.dry_run]
    if not done:
        return "the run that died took no action"
    lines = [
        f"{r.intent.kind} {r.intent.amount or ''} {r.intent.coin or ''} on "
        f"{r.intent.account}/{r.intent.scope}: {r.status}".replace("  ", " ")
        for r in done[-10:]
    ]
    more = f" (and {len(done) - 10} earlier)" if len(done) > 10 else ""
    return f"actions of the run that died{more}:\n" + "\n".join(lines)


__all__ = ["actions_of_the_run_that_died"]
