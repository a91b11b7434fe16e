"""Chat text → a typed command, or a short usage answer. Pure: no I/O, no clock.

``/status``, ``/risk [account]``, ``/journal [n]``, ``/pause [account]``,
``/resume [account]``, ``/silence <matcher>… <duration>``, ``/dryrun <account>``,
``/help``. ``/cmd@botname`` (how groups address a bot) is the same as ``/cmd``. Whether an
account exists is checked later, against the daemon's accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from riskd.durations import DurationError, parse_duration
from riskd.notify.matchers import Matcher, MatcherError, parse_matchers

#: Longest silence a chat may set (a week).
MAX_SILENCE_S = 7 * 86_400.0
#: Most events ``/journal n`` shows.
MAX_JOURNAL = 50
_ACCOUNT = re.compile(r"^[a-z0-9_-]{1,64}$")

USAGE = {
    "status": "/status - daemon state and every scope's risk rate",
    "risk": "/risk [account] - risk per scope: rate, warning and liquidation ratios, distance",
    "journal": "/journal [n] - the last n journal events (default 10, at most 50)",
    "pause": "/pause [account] - stop taking actions (asks to confirm)",
    "resume": "/resume [account] - take actions again (asks to confirm)",
    "silence": "/silence <matcher>... <duration> - e.g. /silence account=main 2h (confirm)",
    "dryrun": "/dryrun <account> - whether the account is live or dry-run, and how to switch",
    "help": "/help - this list",
}


def usage_text() -> str:
    """Every command, one line each."""
    return "Commands:\n" + "\n".join(USAGE.values())


@dataclass(frozen=True, slots=True)
class Status:
    """``/status``."""


@dataclass(frozen=True, slots=True)
class Risk:
    """``/risk [account]``."""

    account: str | None


@dataclass(frozen=True, slots=True)
class JournalTail:
    """``/journal [n]``."""

    count: int | None


@dataclass(frozen=True, slots=True)
class Pause:
    """``/pause [account]`` (``paused=True``) and ``/resume [account]`` (``paused=False``)."""

    account: str | None
    paused: bool


@dataclass(frozen=True, slots=True)
class SilenceCmd:
    """``/silence <matcher>… <duration>``."""

    matchers: tuple[Matcher, ...]
    seconds: float
    duration: str


@dataclass(frozen=True, slots=True)
class DryRun:
    """``/dryrun <account>``."""

    account: str


@dataclass(frozen=True, slots=True)
class Help:
    """``/help`` and ``/start``."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Not a command riskd can run: the short answer to send."""

    text: str


Command = Status | Risk | JournalTail | Pause | SilenceCmd | DryRun | Help
#: Commands that change something: they run only after a confirmation button.
Changing = Pause | SilenceCmd


def describe(cmd: Command) -> str:
    """The command as a chat shows it (for confirmations and the journal)."""
    match cmd:
        case Pause(account=account, paused=paused):
            verb = "/pause" if paused else "/resume"
            return f"{verb} {account}" if account else verb
        case SilenceCmd(matchers=matchers, duration=duration):
            return f"/silence {' '.join(str(m) for m in matchers)} {duration}"
        case Risk(account=account):
            return f"/risk {account}" if account else "/risk"
        case JournalTail(count=count):
            return "/journal" if count is None else f"/journal {count}"
        case DryRun(account=account):
            return f"/dryrun {account}"
        case Status():
            return "/status"
        case Help():
            return "/help"


def _account(name: str, verb: str) -> str | Usage:
    if not _ACCOUNT.match(name):
        return Usage(f"{name[:64]!r} is not an account name.\nUsage: {USAGE[verb]}")
    return name


def _one_optional_account(verb: str, args: list[str]) -> str | Usage | None:
    if len(args) > 1:
        return Usage(f"too many arguments.\nUsage: {USAGE[verb]}")
    return _account(args[0], verb) if args else None


def parse(text: str) -> Command | Usage:
    """The command in ``text``; :class:`Usage` with a short answer for anything else."""
    words = text.strip().split()
    if not words or not words[0].startswith("/"):
        return Usage("riskd takes commands only.\n" + usage_text())
    verb = words[0][1:].split("@", 1)[0].lower()
    args = words[1:]
    match verb:
        case "status":
            return Status() if not args else Usage(f"no arguments.\nUsage: {USAGE['status']}")
        case "help" | "start":
            return Help()
        case "risk":
            acc = _one_optional_account(verb, args)
            return acc if isinstance(acc, Usage) else Risk(acc)
        case "pause" | "resume":
            acc = _one_optional_account(verb, args)
            return acc if isinstance(acc, Usage) else Pause(acc, verb == "pause")
        case "journal":
            return _journal(args)
        case "silence":
            return _silence(args)
        case "dryrun":
            if len(args) != 1:
                return Usage(f"give one account.\nUsage: {USAGE['dryrun']}")
            acc = _account(args[0], verb)
            return acc if isinstance(acc, Usage) else DryRun(acc)
    return Usage(f"unknown command /{verb[:32]}.\n" + usage_text())


def _journal(args: list[str]) -> JournalTail | Usage:
    if not args:
        return JournalTail(None)
    if len(args) > 1 or not args[0].isdigit():
        return Usage(f"n must be a whole number.\nUsage: {USAGE['journal']}")
    n = int(args[0])
    if not 1 <= n <= MAX_JOURNAL:
        return Usage(f"n must be 1 to {MAX_JOURNAL}.\nUsage: {USAGE['journal']}")
    return JournalTail(n)


def _silence(args: list[str]) -> SilenceCmd | Usage:
    if len(args) < 2:
        return Usage(f"give at least one matcher and a duration.\nUsage: {USAGE['silence']}")
    *texts, duration = args
    try:
        matchers = parse_matchers(texts)
    except MatcherError as exc:
        return Usage(f"bad matcher: {str(exc)[:300]}\nUsage: {USAGE['silence']}")
    try:
        seconds = parse_duration(duration, positive=True, maximum=MAX_SILENCE_S)
    except DurationError:
        return Usage(f"{duration[:32]!r}: give a duration above 0 and at most 7d (30m, 2h, 1d).")
    return SilenceCmd(matchers, seconds, duration)


__all__ = [
    "MAX_JOURNAL",
    "MAX_SILENCE_S",
    "USAGE",
    "Changing",
    "Command",
    "DryRun",
    "Help",
    "JournalTail",
    "Pause",
    "Risk",
    "SilenceCmd",
    "Status",
    "Usage",
    "describe",
    "parse",
    "usage_text",
]
