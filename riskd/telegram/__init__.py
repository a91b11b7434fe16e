"""Telegram commands: ``/status``, ``/risk``, ``/journal``, ``/pause``, ``/resume``,
``/silence``, ``/dryrun`` from allow-listed chats (docs/telegram.md).

:class:`~riskd.telegram.service.TelegramService` runs beside the daemon in its own task;
:class:`~riskd.telegram.settings.TelegramSettings` is the ``[telegram]`` table.
"""
