"""What the bot answers and does: reads the journal like ``riskd status`` / ``riskd journal``,
pauses and resumes like ``riskd pause`` / ``resume`` (the ``control`` table the daemon reads
every cycle), adds silences like ``riskd silence add`` (the daemon reloads them).

It holds its own connections to the journal database (WAL: the daemon's connection and its
cycle are never waited on). Every text returned is at most :data:`MAX_MESSAGE` characters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime

from riskd.daemon.events import EventKind
from riskd.daemon.journal import Journal
from riskd.daemon.status import load_report
from riskd.daemon.status_render import render_text, report_lines
from riskd.daemon.status_report import StatusReport
from riskd.notify.silence_store import SilenceStore
from riskd.telegram.commands import (
    Changing,
    DryRun,
    JournalTail,
    Pause,
    Risk,
    SilenceCmd,
    describe,
)
from riskd.telegram.settings import MAX_MESSAGE

#: The journal's event kind for everything the bot does or refuses.
EVENT_KIND = EventKind.TELEGRAM
CUT = "\n… (cut: Telegram takes 4096 characters)"


def fit(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying so when it was cut; never empty."""
    text = text or "(nothing)"
    if len(text) <= limit:
        return text
    return text[: limit - len(CUT)] + CUT


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%m-%d %H:%M:%S")


def status_text(report: StatusReport) -> str:
    """``/status``: the daemon's state, then per account its mode and pause and per scope
    the risk rate against the warning and liquidation ratios."""
    lines = [report_lines(report)[0][0]]
    if report.paused_all:
        lines.append("ACTIONS PAUSED for every account")
    for acc in report.accounts:
        mode = "LIVE" if acc.live else "dry-run"
        lines.append(f"{acc.name} ({mode}){' - ACTIONS PAUSED' if acc.paused else ''}")
        if acc.stopped is not None:
            lines.append(f"  STOPPED: {acc.stopped}")
        for row in acc.scopes:
            rate = "?" if row.risk_rate is None else str(row.risk_rate)
            warn = "?" if row.warning_risk_ratio is None else str(row.warning_risk_ratio)
            liq = "?" if row.liquidation_risk_ratio is None else str(row.liquidation_risk_ratio)
            flags = (" STALE" if row.stale else "") + (
                f" firing: {', '.join(row.firing)}" if row.firing else ""
            )
            lines.append(f"  {row.scope}: risk {rate} (warn {warn}, liq {liq}){flags}")
    if not report.accounts:
        lines.append("no risk figures yet")
    return fit("\n".join(lines))


class Replies:
    """The bot's work on the journal. ``accounts`` gives the daemon's current account names
    (it follows reloads)."""

    def __init__(
        self,
        journal: Journal,
        silences: SilenceStore,
        accounts: Callable[[], Collection[str]],
        *,
        stale_after: float,
    ) -> None:
        self.journal = journal
        self.silences = silences
        self._accounts = accounts
        self.stale_after = stale_after

    async def report(self, now: float) -> StatusReport:
        return await load_report(self.journal, now, stale_after=self.stale_after)

    async def status(self, now: float) -> str:
        return status_text(await self.report(now))

    async def risk(self, cmd: Risk, now: float) -> str:
        """``/risk [account]``: the scopes' full lines as ``riskd status`` shows them."""
        report = await self.report(now)
        accounts = report.accounts
        if cmd.account is not None:
            accounts = tuple(a for a in accounts if a.name == cmd.account)
            if not accounts:
                return self._unknown(cmd.account, {a.name for a in report.accounts})
        shown = replace(
            report,
            accounts=accounts,
            recent_actions=tuple(
                a for a in report.recent_actions if cmd.account in (None, a.account)
            ),
            budget=(),
            notifier=None,
        )
        return fit(render_text(shown))

    async def journal_tail(self, cmd: JournalTail, default: int) -> str:
        """``/journal [n]``: the last n events, oldest first."""
        events = await self.journal.events(limit=cmd.count or default)
        if not events:
            return "the journal has no events yet"
        lines = []
        for e in events:
            where = "/".join(x for x in (e.account, e.scope) if x)
            rule = f" [{e.rule}]" if e.rule else ""
            lines.append(f"{_when(e.at)} {e.kind} {where}{rule} {e.summary}".replace("  ", " "))
        text = "\n".join(lines)
        if len(text) > MAX_MESSAGE:  # keep the newest
            text = "…\n" + text[-(MAX_MESSAGE - 2) :].split("\n", 1)[-1]
        return fit(text)

    async def dryrun(self, cmd: DryRun, now: float) -> str:
        """``/dryrun <account>``: its mode now and how to change it. riskd switches an account
        between dry-run and live only from its configuration (``live``, applied by a reload):
        a chat cannot arm live trading, and this command changes nothing."""
        report = await self.report(now)
        found = [a for a in report.accounts if a.name == cmd.account]
        if not found and cmd.account not in self._accounts():
            return self._unknown(cmd.account, set(self._accounts()))
        mode = ("LIVE" if found[0].live else "dry-run") if found else "unknown (no status yet)"
        return fit(
            f"account {cmd.account} is {mode}.\n"
            "The mode comes from the configuration only: set `live = false` (or true) under "
            f"[accounts.{cmd.account}] and reload riskd (systemctl reload riskd, or SIGHUP). "
            "To stop actions at once, use /pause."
        )

    def check(self, cmd: Changing) -> str | None:
        """Why a changing command cannot run (an unknown account), else None."""
        if isinstance(cmd, Pause) and cmd.account is not None:
            known = set(self._accounts())
            if cmd.account not in known:
                return self._unknown(cmd.account, known)
        return None

    async def apply(self, cmd: Changing, chat_id: int, now: float) -> str:
        """Run a confirmed command; the journal records it with the chat id."""
        who = f"telegram chat {chat_id}"
        if isinstance(cmd, Pause):
            await self.journal.set_paused(cmd.account, cmd.paused, at=now, reason=who)
            state = await self.journal.pause_state()
            target = f"account {cmd.account}" if cmd.account else "every account"
            if cmd.paused:
                text = f"actions paused for {target}; monitoring and alerts go on (/resume)"
            elif state.global_paused and cmd.account is not None:
                text = f"actions resumed for {target}, but every account is still paused"
            else:
                text = f"actions resumed for {target}"
        else:
            assert isinstance(cmd, SilenceCmd)
            made = await self.silences.add(
                cmd.matchers,
                starts_at=now,
                ends_at=now + cmd.seconds,
                comment=f"from {who}",
                created_by=who,
            )
            text = f"silence {made.id} until {_when(made.ends_at)} UTC: {made.describe()}"
        await self.record(f"{describe(cmd)} confirmed: {text}", chat_id, now, outcome="done")
        return fit(text)

    async def record(self, summary: str, chat_id: int, now: float, *, outcome: str) -> None:
        """One ``telegram`` event in the journal, with the chat id."""
        await self.journal.record(
            EVENT_KIND,
            f"chat {chat_id}: {summary}",
            at=now,
            data={"chat_id": chat_id, "outcome": outcome},
        )

    @staticmethod
    def _unknown(account: str, known: Collection[str]) -> str:
        listed = ", ".join(sorted(known)) or "none yet"
        return f"no account {account!r}; the accounts are: {listed}"


__all__ = ["CUT", "EVENT_KIND", "Replies", "fit", "status_text"]
