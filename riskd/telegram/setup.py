"""Build the Telegram service for ``riskd run`` from the settings (the daemon's one hook).

Importing this module does not import python-telegram-bot (an optional extra,
``riskd[telegram]``): it is imported only when ``telegram.enabled`` is true, and its absence
is then a :class:`TelegramSetupError` saying what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from riskd.clock import Clock
from riskd.telegram.settings import TelegramSettings, TelegramSetupError, load_token

if TYPE_CHECKING:
    from riskd.telegram.service import TelegramService


def make_telegram_service(
    settings: TelegramSettings,
    *,
    journal: Path | str,
    accounts: Callable[[], Collection[str]],
    clock: Clock,
    stale_after: float,
    environ: Mapping[str, str] | None = None,
) -> TelegramService | None:
    """The service (not started), or None when ``telegram.enabled`` is false.

    Raises :class:`TelegramSetupError` when enabled without a token or without
    python-telegram-bot; the caller turns it into its configuration error.
    """
    if not settings.enabled:
        return None
    token = load_token(settings, environ)
    try:
        from riskd.telegram.service import TelegramService
    except ImportError as exc:
        raise TelegramSetupError(
            f"telegram.enabled needs python-telegram-bot ({exc.name or exc})",
            hint="pip install 'riskd[telegram]'",
        ) from None
    return TelegramService(
        settings,
        token=token,
        journal=journal,
        accounts=accounts,
        clock=clock,
        stale_after=stale_after,
    )


__all__ = ["TelegramSetupError", "make_telegram_service"]
