"""The account-mode error codes of the Unified Trading Account split, and how to read them.

Bitget answers a request sent to the wrong family of endpoints for the account with one of two
codes (same envelope as v2):

- ``40085``: a classic endpoint (v1/v2 margin) called for a Unified Trading Account. Message
  quoted by X (ccxt 4.5.90's exception table); already in :mod:`riskd.bitget.codes`.
- ``40084``: a v3 (UTA) endpoint called for a classic account. Reported by two independent
  third-party connectors that probe ``/api/v3/account/assets`` to detect the mode
  (TraderAlice/OpenAlice PR #951, enarjord/passivbot PR #601, both 2026, "Classic Account
  mode"). The exact message is **unconfirmed**; the one below mirrors 40085's wording.

:func:`account_mode_of` turns either code into the mode the account is in, so that mode
detection (issue 18: "settings endpoint, or 40085 from a classic endpoint") can use one answer.
"""

from __future__ import annotations

from typing import Literal

from riskd.bitget.codes import MESSAGES

AccountMode = Literal["classic", "unified"]

#: A UTA endpoint was called for a classic account (wording unconfirmed).
CLASSIC_ACCOUNT = "40084"
#: A classic endpoint was called for a Unified Trading Account.
UNIFIED_ACCOUNT = "40085"

MESSAGES_V3: dict[str, str] = {
    CLASSIC_ACCOUNT: "You are in Classic Account mode, and the Unified Account API is not "
    "supported at this time",
    UNIFIED_ACCOUNT: MESSAGES[UNIFIED_ACCOUNT],
}

#: Codes that only the v3 API answers with.
V3_CODES = frozenset({CLASSIC_ACCOUNT})

_MODE_BY_CODE: dict[str, AccountMode] = {CLASSIC_ACCOUNT: "classic", UNIFIED_ACCOUNT: "unified"}


def message_v3(code: str) -> str:
    """The message for a v3 account-mode code (``"error"`` for any other)."""
    return MESSAGES_V3.get(code, MESSAGES.get(code, "error"))


def account_mode_of(code: str | None) -> AccountMode | None:
    """The mode an account-mode refusal says the account is in (``None``: not such a code)."""
    return _MODE_BY_CODE.get(code) if code is not None else None
