"""Which adapter an account uses: classic margin or Unified Trading Account (at start).

Per account, ``mode`` (:class:`~riskd.settings.AccountSettings`): ``auto`` (default) asks the
exchange — ``uta_account_mode()`` reads the v3 settings (a classic account answers ``40084``);
when that read fails otherwise, a classic read answering ``40085`` also decides. ``classic`` /
``uta`` are checked the same way (every account at once, at most :data:`PROBE_TIMEOUT`; a
silent exchange leaves the configured mode, ``classic`` for ``auto``), and an exchange that
contradicts them wins, with a critical alert naming the account and the fix (never a
traceback). A ``v1`` account is not asked: v1 is classic only, and a UTA account answering
``40085`` stops with its one clear line, as before.

Every decision is logged and journaled (:attr:`EventKind.ACCOUNT_MODE`). A UTA account whose
``uta_liquidation_level`` is not set explicitly gets, once at start, a warning (log, journal,
alert) that the level is unconfirmed upstream.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from riskd.bitget.client import BitgetClient
from riskd.bitget.codes_v3 import account_mode_of
from riskd.bitget.errors import RiskdExchangeError
from riskd.budget import BudgetExhausted
from riskd.clock import Clock
from riskd.daemon.alerts import AlertSink
from riskd.daemon.events import EventKind
from riskd.daemon.journal import Journal
from riskd.daemon.poll_notices import Notice, NoticeHook
from riskd.notify.alert import Alert, AlertKind
from riskd.settings import AccountSettings
from riskd.severity import Severity

log = logging.getLogger(__name__)
#: The longest the start waits for an account's answer (all accounts are asked at once): a
#: silent exchange must not hold up the start, its reconciliation and its signal handling.
PROBE_TIMEOUT = 5.0
Adapter = Literal["classic", "uta"]

UNCONFIRMED_LEVEL = (
    "{account}: Unified Trading Account liquidation level assumed at mgnRatio {level}"
    " (uta_liquidation_level, default); Bitget has not confirmed the level: set"
    " uta_liquidation_level for this account to silence this warning"
)


@dataclass(frozen=True, slots=True)
class ModeDecision:
    """The adapter chosen for one account, and why (one line)."""

    adapter: Adapter
    reason: str
    #: The settings named the other mode (a critical alert was sent).
    contradicted: bool = False


async def probe(client: BitgetClient) -> Adapter | None:
    """What the exchange says the account is; ``None`` when it could not be asked."""
    try:
        return "uta" if await client.uta_account_mode() == "unified" else "classic"
    except (RiskdExchangeError, BudgetExhausted) as exc:
        log.warning("account mode: v3 settings not read: %s", exc)
    try:
        await client.cross_assets()
    except RiskdExchangeError as exc:
        mode = account_mode_of(exc.code)
        if mode is not None:
            return "uta" if mode == "unified" else "classic"
        log.warning("account mode: classic read failed too: %s", exc)
        return None
    except BudgetExhausted:
        return None
    return "classic"


async def decide(
    name: str, acc: AccountSettings, client: BitgetClient, notice: NoticeHook
) -> ModeDecision:
    """Choose the adapter of account ``name`` (see the module docstring)."""
    if acc.api == "v1":
        return ModeDecision("classic", "api = v1 speaks the classic margin API only")
    try:
        found = await asyncio.wait_for(probe(client), PROBE_TIMEOUT)
    except TimeoutError:
        log.warning("%s: account mode not answered within %.0f s", name, PROBE_TIMEOUT)
        found = None
    wanted: Adapter | None = None if acc.mode == "auto" else acc.mode
    if found is None:
        chosen: Adapter = wanted or "classic"
        return ModeDecision(
            chosen, f"the exchange could not be asked; mode = {acc.mode} → {chosen}"
        )
    if wanted is None or wanted == found:
        return ModeDecision(found, f"Bitget says {_label(found)} (mode = {acc.mode})")
    await notice(
        Notice(
            EventKind.ACCOUNT_MODE,
            name,
            None,
            f"account {name}: mode = {wanted} but Bitget says {_label(found)}",
            f'the settings say mode = "{wanted}" but Bitget answers that account {name} is'
            f" {_label(found)}; riskd protects it as {_label(found)}. Fix: set mode ="
            f' "{found}" (or "auto") for account {name}',
        )
    )
    return ModeDecision(found, f"Bitget says {_label(found)}, not {wanted}", contradicted=True)


def _label(adapter: Adapter) -> str:
    return "a Unified Trading Account" if adapter == "uta" else "a classic margin account"


async def announce(
    name: str,
    acc: AccountSettings,
    decision: ModeDecision,
    journal: Journal,
    sink: AlertSink,
    clock: Clock,
) -> None:
    """Log and journal the adapter used; for a UTA account with the default liquidation
    level, say once that the level is unconfirmed (log warning, journal, warning alert)."""
    at = clock.now()
    adapter = "UtaExchange (API v3)" if decision.adapter == "uta" else f"classic ({acc.api})"
    text = f"account {name} uses {adapter}: {decision.reason}"
    log.info("%s", text)
    await journal.record(EventKind.ACCOUNT_MODE, text, at=at, account=name)
    if decision.adapter != "uta" or "uta_liquidation_level" in acc.model_fields_set:
        return
    warning = UNCONFIRMED_LEVEL.format(account=name, level=acc.uta_liquidation_level)
    log.warning("%s", warning)
    await journal.record(EventKind.ACCOUNT_MODE, warning, at=at, account=name, scope="uta")
    sink.submit(
        Alert(
            kind=AlertKind.ERROR,
            severity=Severity.WARNING,
            title=f"{name}: UTA liquidation level unconfirmed",
            at=at,
            account=name,
            scope="uta",
            incident=f"{EventKind.ACCOUNT_MODE}:{name}:uta-level",
            message=warning,
        )
    )
