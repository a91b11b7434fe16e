"""Errors the simulated exchange answers with: the document's codes and messages.

Messages come from :mod:`riskd.bitget.codes`; the few codes the simulator uses that the shared
table does not list yet are completed here from the same document (its error-code table).
"""

from __future__ import annotations

from riskd.bitget import codes
from riskd.bitget.codes_v3 import MESSAGES_V3

#: Codes used by the simulator that ``riskd.bitget.codes`` does not carry (verbatim from the
#: document's "RestAPI error code" table).
_EXTRA_MESSAGES: dict[str, str] = {
    "40058": "Parameter {0} Only a maximum of {1} is allowed",
    "40304": "clientOid or clientOrderId length cannot greater than 50",
    "43001": "The order does not exist",
    "50039": "The currency and the trading pair do not match",
    # v3 account mode (riskd.bitget.codes_v3: 40084's wording is unconfirmed)
    **MESSAGES_V3,
    # WebSocket error codes (the document's "WebSocket error code" table)
    "30001": "Channel does not exist",
    "30002": "Illegal request",
    "30003": "Invalid op",
    "30004": "User needs to log in",
    "30005": "Login failed",
    "30011": "Invalid ACCESS_KEY",
    "30012": "Invalid ACCESS_PASSPHRASE",
    "30013": "Invalid ACCESS_TIMESTAMP",
    "30014": "Request timestamp expired",
    "30015": "Invalid signature",
    "30016": "Param error",
}


def sim_message(code: str, *args: object) -> str:
    """The document's message for ``code`` with its ``{n}`` placeholders filled."""
    if code in codes.MESSAGES:
        return codes.message(code, *args)
    text = _EXTRA_MESSAGES.get(code, "error")
    for i, arg in enumerate(args):
        text = text.replace("{" + str(i) + "}", str(arg))
    return text


class SimError(Exception):
    """A refusal with a Bitget error code; the app turns it into the error envelope.

    ``detail`` is appended to the document's message when the bare message would not say what
    was wrong (the code stays the document's, so clients that match on codes are unaffected).
    """

    def __init__(self, code: str, *args: object, detail: str | None = None, status: int = 400):
        self.code = code
        text = sim_message(code, *args)
        self.msg = f"{text}: {detail}" if detail else text
        self.status = status
        super().__init__(f"{code} {self.msg}")


def param_empty(name: str) -> SimError:
    return SimError("40019", name)


def param_error(name: str, detail: str | None = None) -> SimError:
    return SimError("40020", name, detail=detail)
