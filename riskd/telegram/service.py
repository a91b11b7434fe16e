"""The Telegram command service: long polling in its own task, beside the daemon.

:meth:`TelegramService.start` only creates the task and returns; the task opens its own
journal connections, checks the token (``getMe``) and polls ``getUpdates``. Nothing in the
daemon awaits it: a bot that is down, blocked or slow delays no cycle and no action. Every
Bot API call has an overall deadline (``request_timeout``, plus ``poll_timeout`` for the long
poll) on top of httpx's own timeouts; a failure is logged (its text passed through
:func:`riskd.redact.redact`, so the token never shows) and polling resumes after a backoff.

python-telegram-bot's :class:`telegram.Bot` is the typed Bot API client (``base_url`` takes a
local Bot API server or a test fake); its ``Application``/``run_polling`` is not used, since
the daemon owns the event loop and the stop signals.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from pydantic import SecretStr
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.request import HTTPXRequest

from riskd.clock import Clock
from riskd.daemon.journal import Journal
from riskd.notify.logredact import UNSAFE_LOGGERS, install_log_redaction
from riskd.notify.silence_store import SilenceStore
from riskd.redact import redact, register_secret
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
    usage_text,
)
from riskd.telegram.confirm import CANCEL, CONFIRM, Confirmations, Pending
from riskd.telegram.flood import FloodGuard, Verdict
from riskd.telegram.replies import Replies, fit
from riskd.telegram.settings import TelegramSettings

log = logging.getLogger(__name__)

#: python-telegram-bot's loggers that may print the Bot API URL (which holds the token).
PTB_LOGGERS = (
    "telegram",
    "telegram.Bot",
    "telegram.request.HTTPXRequest",
    "telegram.request.BaseRequest",
)
#: Longest wait between two failed polls.
MAX_BACKOFF_S = 60.0
#: The task's share of :meth:`TelegramService.stop`, and each closing step's.
STOP_WAIT_S = 0.5
#: A chat not on the allow-list is journaled at most this many times per rate window.
STRANGER_LINES = 3


def _why(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")


class TelegramService:
    """Answers the allow-listed chats. ``accounts`` gives the daemon's account names now."""

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        token: SecretStr,
        journal: Path | str,
        accounts: Callable[[], Collection[str]],
        clock: Clock,
        stale_after: float,
        retry_base: float = 1.0,
    ) -> None:
        register_secret(token.get_secret_value())
        install_log_redaction(*UNSAFE_LOGGERS, *PTB_LOGGERS)
        self.settings = settings
        self.clock = clock
        #: The journal the replies read and the silences are kept in: the SQLite file, or
        #: the cluster's PostgreSQL (``journal_url``), where a silence holds on every node.
        self.journal = journal
        self._accounts = accounts
        self._stale_after = stale_after
        self._retry_base = retry_base
        self._allowed = frozenset(settings.allowed_chats)
        self.confirmations = Confirmations(settings.confirm_expiry)
        self.flood = FloodGuard(settings.rate_limit, settings.rate_window)
        self._strangers = FloodGuard(STRANGER_LINES, settings.rate_window)
        timeout = settings.request_timeout
        self.bot = Bot(
            token.get_secret_value(),
            base_url=settings.base_url,
            request=HTTPXRequest(
                connection_pool_size=4,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            ),
            get_updates_request=HTTPXRequest(
                connection_pool_size=1,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            ),
        )
        self.replies: Replies | None = None
        self._journal: Journal | None = None
        self._silences: SilenceStore | None = None
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        #: Set once getMe has answered (tests wait on it).
        self.connected = asyncio.Event()
        #: Updates handled so far (tests wait on it).
        self.handled = 0

    def __repr__(self) -> str:
        return f"TelegramService(chats={sorted(self._allowed)}, base_url=...)"

    # --- life -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Start polling in its own task; returns at once (never waits for the network)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="riskd-telegram")

    async def stop(self, timeout: float = STOP_WAIT_S) -> None:  # noqa: ASYNC109 - bounded
        """Cancel the task, then close the bot's HTTP clients and journal connections (all
        at once); the whole stop takes at most ``timeout`` seconds."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=timeout / 2)
        await self._close(timeout / 2)

    async def _close(self, timeout: float) -> None:  # noqa: ASYNC109 - bounded stop
        steps: dict[str, Awaitable[None]] = {"bot": self.bot.shutdown()}
        if self._journal is not None:
            steps["journal"] = self._journal.close()
        if self._silences is not None:
            steps["silence store"] = self._silences.close()
        self._journal = self._silences = self.replies = None
        tasks = {asyncio.ensure_future(step): what for what, step in steps.items()}
        done, late = await asyncio.wait(tasks, timeout=timeout)
        for t in late:
            t.cancel()
            log.warning("telegram: closing the %s took over %gs; left", tasks[t], timeout)
        for t in done:
            if not t.cancelled() and (exc := t.exception()) is not None:
                log.warning("telegram: closing the %s failed: %s", tasks[t], _why(exc))

    async def _run(self) -> None:
        try:
            self._journal = await Journal.open_target(self.journal)
            self._silences = await SilenceStore.open(self.journal)
        except Exception as exc:  # noqa: BLE001 - the daemon goes on without its bot
            log.error("telegram: cannot open the journal, the bot is off: %s", _why(exc))
            return
        self.replies = Replies(
            self._journal, self._silences, self._accounts, stale_after=self._stale_after
        )
        backoff = self._retry_base
        while True:
            try:
                await self._poll_once()
                backoff = self._retry_base
            except Exception as exc:  # noqa: BLE001 - logged (redacted), then polled again
                self._log_failure("polling", exc)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)

    async def _poll_once(self) -> None:
        s = self.settings
        if not self.connected.is_set():
            async with asyncio.timeout(s.request_timeout):
                await self.bot.initialize()
            self.connected.set()
            log.info("telegram: bot connected; answering chats %s", sorted(self._allowed))
        async with asyncio.timeout(s.poll_timeout + 2 * s.request_timeout):
            updates = await self.bot.get_updates(
                offset=self._offset,
                timeout=int(s.poll_timeout),
                allowed_updates=["message", "callback_query"],
            )
        for update in updates:
            self._offset = update.update_id + 1
            try:
                await self._handle(update)
            except Exception as exc:  # noqa: BLE001 - logged (redacted); next update
                self._log_failure(f"update {update.update_id}", exc)
            self.handled += 1

    def _log_failure(self, what: str, exc: Exception) -> None:
        known = isinstance(exc, TimeoutError | OSError) or type(exc).__module__.startswith(
            ("telegram", "httpx", "httpcore")
        )
        if known:
            log.warning("telegram: %s failed: %s", what, _why(exc))
        else:  # a bug: the whole traceback, redacted
            log.error("telegram: %s failed: %s", what, redact(traceback.format_exc()))

    # --- updates --------------------------------------------------------------------------
    async def _handle(self, update: Update) -> None:
        assert self.replies is not None
        chat = update.effective_chat
        if chat is None:
            return
        now = self.clock.now()
        if chat.id not in self._allowed:
            if self._strangers.check(chat.id, now) is Verdict.ALLOW:
                log.info("telegram: ignored chat %d (not on the allow-list)", chat.id)
                await self.replies.record(
                    "ignored: not on telegram.allowed_chats", chat.id, now, outcome="refused"
                )
            return
        query = update.callback_query
        verdict = self.flood.check(chat.id, now)
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.NOTIFY:
                wait = self.flood.retry_after(chat.id, now)
                await self.replies.record("rate limited", chat.id, now, outcome="limited")
                await self._send(chat.id, f"too many commands: wait {wait:.0f}s")
            if query is not None:
                await self._call(self.bot.answer_callback_query(query.id))
            return
        if query is not None:
            await self._on_press(chat.id, query, now)
        elif update.message is not None:
            await self._on_text(chat.id, update.message.text or "", now)

    async def _on_text(self, chat_id: int, text: str, now: float) -> None:
        assert self.replies is not None
        cmd = parse(text)
        match cmd:
            case Usage(text=answer):
                await self._send(chat_id, answer)
            case Pause() | SilenceCmd():
                problem = self.replies.check(cmd)
                if problem is not None:
                    await self._send(chat_id, problem)
                    return
                pending = self.confirmations.ask(chat_id, cmd, now)
                await self.replies.record(
                    f"{describe(cmd)} awaits confirmation", chat_id, now, outcome="asked"
                )
                await self._ask(chat_id, pending)
            case Status():
                await self._send(chat_id, await self.replies.status(now))
            case Risk():
                await self._send(chat_id, await self.replies.risk(cmd, now))
            case JournalTail():
                lines = self.settings.journal_lines
                await self._send(chat_id, await self.replies.journal_tail(cmd, lines))
            case DryRun():
                await self._send(chat_id, await self.replies.dryrun(cmd, now))
            case Help():
                await self._send(chat_id, usage_text())

    async def _ask(self, chat_id: int, pending: Pending) -> None:
        expiry = f"{self.settings.confirm_expiry:g}s"
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Confirm", callback_data=CONFIRM + pending.nonce),
                    InlineKeyboardButton("Cancel", callback_data=CANCEL + pending.nonce),
                ]
            ]
        )
        await self._send(
            chat_id,
            f"{describe(pending.command)}: press Confirm within {expiry} (the button works once)",
            keyboard,
        )

    async def _on_press(self, chat_id: int, query: CallbackQuery, now: float) -> None:
        assert self.replies is not None
        data = query.data or ""
        confirm = data.startswith(CONFIRM)
        nonce = data[len(CONFIRM) :] if confirm else data[len(CANCEL) :]
        taken = self.confirmations.take(nonce, chat_id, now)
        if not isinstance(taken, Pending):
            await self.replies.record(
                f"confirmation refused ({taken.value}); nothing changed",
                chat_id,
                now,
                outcome="refused",
            )
            answer = f"nothing changed: this confirmation is {taken.value}"
            await self._call(self.bot.answer_callback_query(query.id, text=answer))
            return
        if not confirm:
            what = describe(taken.command)
            await self.replies.record(f"{what} cancelled", chat_id, now, outcome="cancelled")
            await self._call(self.bot.answer_callback_query(query.id, text="cancelled"))
            await self._edit(query, f"{what}: cancelled, nothing changed")
            return
        try:
            result = await self.replies.apply(taken.command, chat_id, now)
        except Exception as exc:  # noqa: BLE001 - logged (redacted) and told to the chat
            self._log_failure(describe(taken.command), exc)
            await self._call(self.bot.answer_callback_query(query.id, text="failed"))
            await self._edit(query, fit(f"{describe(taken.command)} failed: {_why(exc)}"))
            return
        await self._call(self.bot.answer_callback_query(query.id, text="done"))
        await self._edit(query, result)

    # --- sending --------------------------------------------------------------------------
    async def _send(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        await self._call(self.bot.send_message(chat_id, fit(redact(text)), reply_markup=markup))

    async def _edit(self, query: CallbackQuery, text: str) -> None:
        message = query.message
        if message is None:
            return
        await self._call(
            self.bot.edit_message_text(
                fit(redact(text)), chat_id=message.chat.id, message_id=message.message_id
            )
        )

    async def _call(self, call: Awaitable[object]) -> None:
        """One Bot API call with its deadline; a failure is logged, never raised (the
        journal already holds what happened)."""
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                await call
        except Exception as exc:  # noqa: BLE001 - logged (redacted); the journal has it
            self._log_failure("a Bot API call", exc)


__all__ = ["TelegramService"]
