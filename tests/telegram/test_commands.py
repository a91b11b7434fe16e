"""Parsing chat text into commands, confirmations, the flood guard and message fitting."""

from __future__ import annotations

import pytest

from riskd.telegram.commands import (
    DryRun,
    Help,
    JournalTail,
    Pause,
    Risk,
    SilenceCmd,
    Status,
    Usage,
    describe,
    parse,
)
from riskd.telegram.confirm import MAX_PENDING, Confirmations, Pending, Refusal
from riskd.telegram.flood import FloodGuard, Verdict
from riskd.telegram.replies import CUT, fit


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/status", Status()),
        ("/status@riskd_bot", Status()),
        ("  /STATUS  ", Status()),
        ("/risk", Risk(None)),
        ("/risk main", Risk("main")),
        ("/journal", JournalTail(None)),
        ("/journal 5", JournalTail(5)),
        ("/pause", Pause(None, True)),
        ("/pause main", Pause("main", True)),
        ("/resume alt-2", Pause("alt-2", False)),
        ("/dryrun main", DryRun("main")),
        ("/help", Help()),
        ("/start", Help()),
    ],
)
def test_commands_parse(text: str, command: object) -> None:
    """Each command and its optional argument parses to its typed value."""
    assert parse(text) == command


def test_silence_parses_matchers_and_duration() -> None:
    """/silence takes several matchers, then a duration."""
    cmd = parse("/silence account=main rule!=x 1h30m")
    assert isinstance(cmd, SilenceCmd)
    assert [str(m) for m in cmd.matchers] == ["account=main", "rule!=x"]
    assert cmd.seconds == 5400
    assert describe(cmd) == "/silence account=main rule!=x 1h30m"


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("", "riskd takes commands only."),
        ("status", "riskd takes commands only."),
        ("/nope", "unknown command /nope."),
        ("/status now", "no arguments."),
        ("/risk a b", "too many arguments."),
        ("/risk Main!", "'Main!' is not an account name."),
        ("/journal 0", "n must be 1 to 50."),
        ("/journal 51", "n must be 1 to 50."),
        ("/journal -3", "n must be a whole number."),
        ("/dryrun", "give one account."),
        ("/dryrun a b", "give one account."),
        ("/silence account=main", "give at least one matcher and a duration."),
        ("/silence account 2h", "bad matcher:"),
        ("/silence account=main soon", "'soon': give a duration above 0 and at most 7d"),
        ("/silence account=main 0s", "'0s': give a duration above 0"),
        ("/silence account=main 8d", "'8d': give a duration above 0 and at most 7d"),
    ],
)
def test_bad_input_gets_usage(text: str, start: str) -> None:
    """Malformed input is a short Usage answer saying what is wrong."""
    got = parse(text)
    assert isinstance(got, Usage)
    assert got.text.startswith(start)
    assert len(got.text) < 1000


def test_long_garbage_is_cut_in_the_answer() -> None:
    """An enormous unknown command is quoted only in part."""
    got = parse("/" + "x" * 10_000)
    assert isinstance(got, Usage) and len(got.text) < 1000


def test_confirmation_runs_once() -> None:
    """A nonce is taken once; a second take is refused as unknown."""
    c = Confirmations(60)
    p = c.ask(1, Pause(None, True), now=100)
    assert c.take(p.nonce, 1, now=159.9) == p
    assert c.take(p.nonce, 1, now=159.9) is Refusal.UNKNOWN


def test_confirmation_expires_and_is_spent() -> None:
    """At the expiry the nonce is refused, and it stays unusable."""
    c = Confirmations(60)
    p = c.ask(1, Pause(None, True), now=100)
    assert c.take(p.nonce, 1, now=160) is Refusal.EXPIRED
    assert c.take(p.nonce, 1, now=100) is Refusal.UNKNOWN


def test_confirmation_of_another_chat_is_refused_and_kept() -> None:
    """Another chat cannot use a nonce; its own chat still can."""
    c = Confirmations(60)
    p = c.ask(1, Pause(None, True), now=100)
    assert c.take(p.nonce, 2, now=101) is Refusal.OTHER_CHAT
    assert isinstance(c.take(p.nonce, 1, now=101), Pending)


def test_nonces_are_fresh_and_bounded() -> None:
    """Every request gets its own nonce; the store never holds more than MAX_PENDING."""
    c = Confirmations(60)
    nonces = {c.ask(1, Pause(None, True), now=100).nonce for _ in range(MAX_PENDING + 10)}
    assert len(nonces) == MAX_PENDING + 10
    assert len(c) == MAX_PENDING


def test_flood_guard_tells_once_then_drops() -> None:
    """Within the window: limit allowed, one notice, then silence; room again later."""
    g = FloodGuard(limit=2, window=60)
    got = [g.check(1, now=100 + i) for i in range(5)]
    assert got == [Verdict.ALLOW, Verdict.ALLOW, Verdict.NOTIFY, Verdict.DROP, Verdict.DROP]
    assert g.retry_after(1, now=104) == 56
    assert g.check(2, now=104) is Verdict.ALLOW
    assert g.check(1, now=160) is Verdict.ALLOW
    assert g.check(1, now=161) is Verdict.ALLOW
    assert g.check(1, now=162) is Verdict.NOTIFY


def test_fit_cuts_to_telegram_limit() -> None:
    """A text over 4,096 characters is cut to exactly the limit and says so."""
    assert fit("short") == "short"
    assert fit("") == "(nothing)"
    cut = fit("y" * 5000)
    assert len(cut) == 4096 and cut.endswith(CUT)
