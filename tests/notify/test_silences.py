"""Matchers, silences (store, notifier, CLI), inhibition rules, and 429 back-off."""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from riskd.cli.main import cli
from riskd.clock import ManualClock
from riskd.daemon.journal_schema import SCHEMA
from riskd.notify.alert import Alert, AlertKind
from riskd.notify.channel import AppriseChannel, SendResult, rate_limited
from riskd.notify.matchers import Matcher, MatcherError, parse_matchers
from riskd.notify.notifier import Notifier
from riskd.notify.persist import SilenceFeed
from riskd.notify.recorder import MemoryRecorder
from riskd.notify.settings import NotifySettings, parse_notify_settings
from riskd.notify.silence_store import SilenceStore
from riskd.notify.silences import Silence, inhibited_by, silenced_by
from riskd.severity import Severity

T0 = 1_700_000_000.0


def fake_settings(**extra: Any) -> NotifySettings:
    table = {
        "routes": [{"name": "telegram", "urls": ["json://127.0.0.1:9/t"]}],
        "group_wait": 0,
        "lifecycle_messages": False,
        **extra,
    }
    return parse_notify_settings(table, "test")


def test_matchers_follow_alertmanager() -> None:
    """=, !=, =~ (anchored), !~; a missing label is empty; bad input names the matcher."""
    labels = {"account": "alice", "rule": "de-leverage-btc"}
    assert Matcher.parse("account=alice").matches(labels)
    assert Matcher.parse('account!="bob"').matches(labels)
    assert Matcher.parse("rule=~de-leverage.*").matches(labels)
    assert not Matcher.parse("rule=~leverage").matches(labels)
    assert Matcher.parse("rule!~x.*").matches(labels)
    assert Matcher.parse("scope=").matches(labels)
    with pytest.raises(MatcherError, match="bad regular expression"):
        parse_matchers(["rule=~("])
    with pytest.raises(MatcherError, match="expected NAME=VALUE"):
        parse_matchers(["no operator"])


def test_silence_matches_only_while_active(alert: Any) -> None:
    """A silence drops matching alerts between its start and end, never a liquidation."""
    s = Silence("abc", parse_matchers(["account=main", "rule=~margin.*"]), T0, T0 + 60)
    a = alert(1)
    assert silenced_by(a, [s], T0 + 1) is s
    assert silenced_by(a, [s], T0 + 60) is None
    liquidated = alert(1, kind=AlertKind.LIQUIDATED)
    assert silenced_by(liquidated, [s], T0 + 1) is None


def test_default_inhibition_rules(alert: Any) -> None:
    """Built-in staleness hides per-rule stale alerts of its account; a critical firing hides
    the warnings of its scope; actions are never inhibited."""
    rules = NotifySettings().inhibit()
    builtin = alert(1, Severity.CRITICAL, AlertKind.STALE, rule=None, incident="stale:1")
    per_rule = alert(2, Severity.CRITICAL, AlertKind.ERROR, incident="rule:2")
    assert inhibited_by(per_rule, rules, [builtin]) is not None
    other = alert(2, Severity.CRITICAL, AlertKind.ERROR, account="bob", incident="rule:b")
    assert inhibited_by(other, rules, [builtin]) is None
    critical = alert(3, Severity.CRITICAL, incident="esc:3")
    warning = alert(3, Severity.WARNING, incident="dl:3")
    assert inhibited_by(warning, rules, [critical]) is not None
    assert inhibited_by(alert(4, Severity.WARNING, incident="dl:4"), rules, [critical]) is None
    acted = alert(3, Severity.WARNING, AlertKind.ACTION, incident="dl:3")
    assert inhibited_by(acted, rules, [critical]) is None


async def test_notifier_drops_silenced_until_expiry(alert: Any, fakes_cls: Any, until: Any) -> None:
    """A silenced alert is not sent and is recorded with the silence; after the silence
    ends, the same kind of alert is delivered."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    recorder = MemoryRecorder()
    notifier = Notifier(fake_settings(), clock, recorder, channel_factory=fakes)
    notifier.set_silences(
        [Silence("s1", parse_matchers(["rule=~margin-.*"]), T0, T0 + 7200, "maintenance")]
    )
    await notifier.start()
    notifier.submit(alert(1))
    await until(lambda: len(recorder.outcomes("suppressed")) == 1)
    assert "silenced by s1 (rule=~margin-.*)" in recorder.outcomes("suppressed")[0].detail
    clock.advance(7200)
    notifier.submit(alert(2))
    await until(lambda: notifier.status().messages_delivered == 1)
    assert "alert-002" in fakes.channels["telegram[0]"].text()
    assert "alert-001" not in fakes.channels["telegram[0]"].text()
    assert notifier.status().suppressed == 1
    await notifier.stop(timeout=1)


def _journal(tmp_path: Path) -> Path:
    """A journal file as `riskd run` leaves it (WAL, the journal's tables)."""
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
    return path


async def test_notifier_loads_silences_from_the_journal(
    alert: Any, fakes_cls: Any, until: Any, tmp_path: Path
) -> None:
    """Silences written to the journal (as by `riskd silence add`) reach the notifier."""
    path = _journal(tmp_path)
    store = await SilenceStore.open(path)
    await store.add(parse_matchers(["account=main"]), starts_at=T0, ends_at=T0 + 60)
    clock = ManualClock(T0)
    recorder = MemoryRecorder()
    notifier = Notifier(
        fake_settings(), clock, recorder, channel_factory=fakes_cls(clock), silence_store=store
    )
    await notifier.start()
    assert notifier.status().silences == 1
    notifier.submit(alert(1))
    await until(lambda: len(recorder.outcomes("suppressed")) == 1)
    await notifier.stop(timeout=1)
    await store.close()


def test_cli_silence_add_list_expire(tmp_path: Path) -> None:
    """`riskd silence add|list|expire` on a journal: an id, a listed row, then none active."""
    path = _journal(tmp_path)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "silence", "add", "--journal", str(path), "--matcher", "account=alice",
            "--matcher", "rule=~de-leverage.*", "--for", "2h", "--comment", "maintenance",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    silence_id = added.output.split()[0]
    listed = runner.invoke(cli, ["silence", "list", "--journal", str(path)])
    assert listed.exit_code == 0
    assert silence_id in listed.output and "rule=~de-leverage.*" in listed.output
    assert "# maintenance" in listed.output
    done = runner.invoke(cli, ["silence", "expire", "--journal", str(path), silence_id[:6]])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(cli, ["silence", "list", "--journal", str(path)])
    assert listed.output.strip() == "no active silences"
    assert (
        "expired" in runner.invoke(cli, ["silence", "list", "--all", "--journal", str(path)]).output
    )


def test_cli_silence_errors(tmp_path: Path) -> None:
    """A missing journal is one line and exit 66; a bad matcher or unknown id is refused."""
    runner = CliRunner()
    missing = runner.invoke(cli, ["silence", "list", "--journal", str(tmp_path / "none")])
    assert missing.exit_code == 66 and "no journal at this path" in missing.output
    path = _journal(tmp_path)
    bad = runner.invoke(cli, ["silence", "add", "--journal", str(path), "--matcher", "x=~("])
    assert bad.exit_code == 2 and "bad regular expression" in bad.output
    unknown = runner.invoke(cli, ["silence", "expire", "--journal", str(path), "nosuch"])
    assert unknown.exit_code == 1 and "no silence 'nosuch'" in unknown.output


def test_429_detail_gives_retry_after() -> None:
    """Telegram's 429 says how long to wait; a bare 429 gives 0 (use the default); others None."""
    telegram = (
        "FAILURE: Failed to send Telegram notification to 1: "
        "Too Many Requests: retry after 35, error=429."
    )
    assert rate_limited(telegram) == 35.0
    assert (
        rate_limited("FAILURE: Failed to send JSON notification: Too Many Requests, error=429.")
        == 0.0
    )
    assert rate_limited("FAILURE: connection refused") is None


async def test_429_backs_off_for_the_asked_time(alert: Any, fakes_cls: Any, until: Any) -> None:
    """After a 429 with retry_after 35 the channel is not tried again for 35 s; without a
    time, for rate_limit_backoff (60 s)."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    notifier = Notifier(fake_settings(retry_initial=1), clock, channel_factory=fakes)
    channel = fakes.channels["telegram[0]"]
    answers = [SendResult(False, "Too Many Requests", 35.0), SendResult(False, "429", 0.0)]
    times: list[float] = []
    real_send = channel.send

    async def send(message: Any) -> SendResult:
        times.append(clock.now())
        return answers.pop(0) if answers else await real_send(message)

    channel.send = send
    await notifier.start()
    notifier.submit(alert(1))
    await until(lambda: notifier.status().messages_delivered == 1)
    assert times[1] - times[0] >= 35 and times[2] - times[1] >= 60
    await notifier.stop(timeout=1)


async def test_429_from_a_real_endpoint_backs_off(http_sink: Any, alert: Any, until: Any) -> None:
    """A json:// endpoint answering 429 puts the channel in back-off for at least 60 s."""
    http_sink.status = 429
    clock = ManualClock(T0)
    recorder = MemoryRecorder()
    table = {"routes": [{"name": "hook", "urls": [f"json://127.0.0.1:{http_sink.port}/h"]}]}
    notifier = Notifier(parse_notify_settings({**table, "group_wait": 0}, "t"), clock, recorder)
    await notifier.start()
    notifier.submit(alert(1))
    await until(lambda: len(recorder.outcomes("retrying")) >= 1)
    first = recorder.outcomes("retrying")[0].detail
    assert "error=429" in first and first.endswith("retry in 60s")
    await notifier.stop(timeout=0.2)


def test_telegram_channel_cuts_to_4096(secrets: Any) -> None:
    """A tgram:// channel knows Telegram's 4096-character limit (apprise does not cut)."""
    url = SecretStr(f"tgram://{secrets.bot_token}/12345")
    channel = AppriseChannel("telegram", 0, url, 5.0)
    assert channel.max_chars == 4096
    assert secrets.bot_token not in repr(channel)
    _ = Decimal  # numbers in messages are Decimals (see test_templates)


async def test_inhibition_applies_when_the_group_is_sent(fakes_cls: Any, until: Any) -> None:
    """A per-rule stale alert queued before the built-in staleness alert is still inhibited
    when the group goes out; only the staleness is delivered."""
    clock = ManualClock(T0)
    fakes = fakes_cls(clock)
    recorder = MemoryRecorder()
    notifier = Notifier(fake_settings(group_wait=2), clock, recorder, channel_factory=fakes)
    per_rule = Alert(
        AlertKind.ERROR, Severity.CRITICAL, "g cannot be evaluated", T0, account="a",
        scope="cross", rule="g", incident="rule:g",
    )  # fmt: skip
    builtin = Alert(
        AlertKind.STALE, Severity.CRITICAL, "data too old", T0, account="a", scope="cross",
        incident="stale:a:cross",
    )  # fmt: skip
    notifier.submit(per_rule)
    notifier.submit(builtin)
    await notifier.start()
    await until(lambda: notifier.status().messages_delivered == 1)
    text = fakes.channels["telegram[0]"].text()
    assert " · STALE · a/cross" in text and "cannot be evaluated" not in text
    await until(lambda: len(recorder.outcomes("suppressed")) == 1)
    assert "inhibited by STALE stale:a:cross" in recorder.outcomes("suppressed")[0].detail
    await notifier.stop(timeout=1)


def test_account_outage_hides_per_scope_stale(alert: Any) -> None:
    """An account-wide STALE alert (no rule, no scope) hides the per-scope stale alerts."""
    rules = NotifySettings().inhibit()
    outage = alert(0, Severity.CRITICAL, AlertKind.STALE, rule=None, scope=None, incident="o")
    scope_stale = alert(1, Severity.CRITICAL, AlertKind.STALE, rule=None, incident="s:1")
    assert inhibited_by(scope_stale, rules, [outage]) is not None
    assert inhibited_by(outage, rules, [scope_stale]) is None


def test_bad_inhibit_rules_and_group_by_are_refused() -> None:
    """A bad matcher or label name in the settings is an error naming it."""
    with pytest.raises(ValueError, match="bad regular expression"):
        NotifySettings.model_validate(
            {"inhibit_rules": [{"source_matchers": ["kind=~("], "target_matchers": ["a=b"]}]}
        )
    with pytest.raises(ValueError, match="group_by: not label names"):
        NotifySettings.model_validate({"group_by": ["bad-name"]})


async def test_silences_added_later_are_reloaded(
    fakes_cls: Any, until: Any, tmp_path: Path
) -> None:
    """A silence added while the notifier runs is in force after silence_refresh, and one
    expired with the store is gone after the next reload."""
    store = await SilenceStore.open(_journal(tmp_path))
    clock = ManualClock(T0)
    notifier = Notifier(
        fake_settings(silence_refresh=0.02),
        clock,
        channel_factory=fakes_cls(clock),
        silence_store=store,
    )
    await notifier.start()
    assert notifier.status().silences == 0
    made = await store.add(parse_matchers(["account=main"]), starts_at=T0, ends_at=T0 + 3600)
    await until(lambda: notifier.status().silences == 1)
    await store.expire(made.id, T0)
    await until(lambda: notifier.status().silences == 0)
    await notifier.stop(timeout=1)
    await store.close()


async def test_silence_feed_keeps_the_last_silences_and_logs_an_outage_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unreadable silences keep the last set; the outage is logged once, the recovery once."""
    kept = Silence("abc", parse_matchers(["account=main"]), T0, T0 + 60)
    answers: list[list[Silence] | Exception] = [
        [kept], OSError("db down"), OSError("db down"), [],
    ]  # fmt: skip
    applied: list[tuple[Silence, ...]] = []

    class Source:
        async def active(self, now: float) -> list[Silence]:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    feed = SilenceFeed(Source(), ManualClock(T0), 10.0, applied.append)
    with caplog.at_level(logging.WARNING, logger="riskd.notify.persist"):
        for _ in range(4):
            await feed.load()
    assert applied == [(kept,), ()]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "silences unreadable (keeping the last ones read): OSError: db down",
        "silences readable again",
    ]
