"""The bot against a fake Bot API server on loopback: answers, allow-list, confirmations,
flood limit, usage answers, message length."""

from __future__ import annotations

import pytest

from riskd.notify.silence_store import SilenceStore
from riskd.telegram.confirm import CANCEL, CONFIRM

from .conftest import ALLOWED, ALSO_ALLOWED, STRANGER, Bot, until


async def test_status_from_allowed_chat_gets_risk_rates(running: Bot) -> None:
    """/status from an allow-listed chat answers with every scope's risk rate and ratios."""
    await running.say(ALLOWED, "/status")
    [text] = running.api.texts(ALLOWED)
    assert "cross: risk 0.4123 (warn 0.8, liq 1)" in text
    assert "isolated:BTCUSDT: risk 0.6071" in text
    assert "main (dry-run)" in text


async def test_other_chat_gets_nothing_and_a_journal_line(running: Bot) -> None:
    """A chat not on the allow-list gets no answer at all; the journal names its chat id."""
    await running.say(STRANGER, "/status")
    await running.say(STRANGER, "/pause")
    assert running.api.sent("sendMessage", STRANGER) == []
    assert running.api.sent("answerCallbackQuery") == []
    events = await running.telegram_events()
    assert [e["chat_id"] for e in events] == [STRANGER, STRANGER]
    assert all(e["outcome"] == "refused" for e in events)


async def test_stranger_cannot_press_a_button(running: Bot) -> None:
    """A press from a chat not on the allow-list (with a valid nonce) changes nothing."""
    await running.say(ALLOWED, "/pause")
    [ok, _] = running.api.buttons(ALLOWED)
    await running.press(STRANGER, ok)
    assert not (await running.journal.pause_state()).global_paused
    assert running.api.sent("answerCallbackQuery") == []


async def test_pause_needs_the_button_and_journals_the_chat(running: Bot) -> None:
    """/pause alone changes nothing; pressing Confirm pauses every account and the journal
    records it with the chat id; a second press of the same button changes nothing."""
    await running.say(ALLOWED, "/pause")
    assert not (await running.journal.pause_state()).global_paused
    ok, cancel = running.api.buttons(ALLOWED)
    assert ok.startswith(CONFIRM) and cancel.startswith(CANCEL)
    assert "press Confirm within 60s" in running.api.texts(ALLOWED)[0]

    await running.press(ALLOWED, ok)
    assert (await running.journal.pause_state()).global_paused
    [paused] = await running.journal.events(kinds=("paused",))
    assert paused.data["reason"] == f"telegram chat {ALLOWED}"
    done = [e for e in await running.telegram_events() if e["outcome"] == "done"]
    assert [e["chat_id"] for e in done] == [ALLOWED]
    [edit] = running.api.sent("editMessageText")
    assert "actions paused for every account" in edit.params["text"]

    await running.journal.set_paused(None, False, at=running.clock.now())  # resumed elsewhere
    await running.press(ALLOWED, ok)  # the replay
    assert not (await running.journal.pause_state()).global_paused
    answers = [c.params.get("text") for c in running.api.sent("answerCallbackQuery")]
    assert answers == ["done", "nothing changed: this confirmation is unknown or already used"]
    refused = [e for e in await running.telegram_events() if e["outcome"] == "refused"]
    assert [e["chat_id"] for e in refused] == [ALLOWED]


async def test_expired_confirmation_changes_nothing(running: Bot) -> None:
    """A Confirm pressed after the expiry pauses nothing and says it expired."""
    await running.say(ALLOWED, "/pause main")
    ok, _ = running.api.buttons(ALLOWED)
    running.clock.advance(61)
    await running.press(ALLOWED, ok)
    state = await running.journal.pause_state()
    assert not state.global_paused and not state.accounts
    [answer] = running.api.sent("answerCallbackQuery")
    assert answer.params["text"] == "nothing changed: this confirmation is expired"


async def test_confirmation_of_another_chat_changes_nothing(running: Bot) -> None:
    """A nonce issued to one chat does nothing when pressed in another allowed chat, and
    still works once in its own."""
    await running.say(ALLOWED, "/pause main")
    ok, _ = running.api.buttons(ALLOWED)
    await running.press(ALSO_ALLOWED, ok)
    assert not (await running.journal.pause_state()).accounts
    await running.press(ALLOWED, ok)
    assert (await running.journal.pause_state()).accounts == {"main"}


async def test_cancel_changes_nothing_and_spends_the_nonce(running: Bot) -> None:
    """Cancel runs nothing, and the Confirm of the same request no longer works."""
    await running.say(ALLOWED, "/pause")
    ok, cancel = running.api.buttons(ALLOWED)
    await running.press(ALLOWED, cancel)
    await running.press(ALLOWED, ok)
    assert not (await running.journal.pause_state()).global_paused
    outcomes = [e["outcome"] for e in await running.telegram_events()]
    assert outcomes == ["asked", "cancelled", "refused"]


async def test_resume_with_confirmation(running: Bot) -> None:
    """/resume main, confirmed, lifts the account's pause."""
    await running.journal.set_paused("main", True, at=running.clock.now())
    await running.say(ALLOWED, "/resume main")
    ok, _ = running.api.buttons(ALLOWED)
    await running.press(ALLOWED, ok)
    assert not (await running.journal.pause_state()).accounts


async def test_pause_of_unknown_account_asks_nothing(running: Bot) -> None:
    """/pause of an account the daemon does not have is refused with the account list."""
    await running.say(ALLOWED, "/pause nosuch")
    assert running.api.buttons(ALLOWED) == []
    assert running.api.texts(ALLOWED) == ["no account 'nosuch'; the accounts are: alt, main"]


async def test_silence_with_confirmation(running: Bot) -> None:
    """/silence adds a silence only after Confirm, with the chat in its creator."""
    await running.say(ALLOWED, "/silence account=main rule=~margin.* 2h")
    async with await SilenceStore.open(running.journal.path) as store:
        assert await store.all() == []
    ok, _ = running.api.buttons(ALLOWED)
    await running.press(ALLOWED, ok)
    async with await SilenceStore.open(running.journal.path) as store:
        [made] = await store.all()
    assert made.describe() == "account=main, rule=~margin.*"
    assert made.ends_at - made.starts_at == 7200
    assert made.created_by == f"telegram chat {ALLOWED}"


async def test_dryrun_tells_mode_and_changes_nothing(running: Bot) -> None:
    """/dryrun main tells the account's mode and how to switch it; no button, no change."""
    await running.say(ALLOWED, "/dryrun main")
    [text] = running.api.texts(ALLOWED)
    assert text.startswith("account main is dry-run.")
    assert "[accounts.main]" in text
    assert running.api.buttons(ALLOWED) == []


async def test_risk_and_journal(running: Bot) -> None:
    """/risk main shows the scopes in full; /journal 2 the last two events."""
    for i in range(3):
        await running.journal.record("decision", f"decision {i}", at=running.clock.now())
    await running.say(ALLOWED, "/risk main")
    await running.say(ALLOWED, "/journal 2")
    risk, tail = running.api.texts(ALLOWED)
    assert "riskRate 0.4123" in risk and "distance to liquidation" in risk
    assert [line.split(" ", 2)[2] for line in tail.splitlines()] == [
        "decision decision 1",
        "decision decision 2",
    ]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("/frobnicate", "unknown command /frobnicate."),
        ("/journal many", "n must be a whole number."),
        ("/silence 2h", "give at least one matcher and a duration."),
        ("/dryrun", "give one account."),
        ("hello", "riskd takes commands only."),
    ],
)
async def test_bad_input_gets_a_short_usage_answer(running: Bot, text: str, answer: str) -> None:
    """Unknown commands, malformed arguments and plain text get a short usage answer."""
    await running.say(ALLOWED, text)
    [got] = running.api.texts(ALLOWED)
    assert got.startswith(answer)
    assert len(got) < 1000


@pytest.mark.parametrize("running", [{"rate_limit": 3}], indirect=True)
async def test_flood_is_rate_limited_with_one_notice(running: Bot) -> None:
    """Past the limit a chat is told once, then ignored; other chats are unaffected."""
    for _ in range(6):
        await running.say(ALLOWED, "/status")
    await running.say(ALSO_ALLOWED, "/status")
    texts = running.api.texts(ALLOWED)
    assert len(texts) == 4
    assert texts[3].startswith("too many commands: wait")
    assert len(running.api.texts(ALSO_ALLOWED)) == 1
    running.clock.advance(61)
    await running.say(ALLOWED, "/status")
    assert len(running.api.texts(ALLOWED)) == 5


async def test_long_answers_fit_in_one_message(running: Bot) -> None:
    """/journal 50 with long events is cut to Telegram's 4,096 characters, newest kept."""
    for i in range(50):
        await running.journal.record("decision", f"event {i:02d} " + "x" * 300, at=i)
    await running.say(ALLOWED, "/journal 50")
    [text] = running.api.texts(ALLOWED)
    assert len(text) <= 4096
    assert "event 49" in text and "event 00" not in text


async def test_every_send_goes_to_the_fake_server_with_the_token(running: Bot) -> None:
    """The bot speaks to the configured base URL (the loopback fake), never elsewhere."""
    await running.say(ALLOWED, "/help")
    assert {c.token for c in running.api.calls} == {running.api.token}
    await until(lambda: len(running.api.texts(ALLOWED)) == 1, "help answered")


async def test_stranger_flood_leaves_few_journal_lines(running: Bot) -> None:
    """A chat not on the list cannot fill the journal: at most 3 lines per rate window."""
    for _ in range(6):
        await running.say(STRANGER, "/status")
    assert len(await running.telegram_events()) == 3
    assert running.api.sent("sendMessage") == []
