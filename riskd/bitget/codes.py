"""Bitget response codes and the document's messages for them.

Shared by the client (which maps codes to exceptions in ``riskd.bitget.errors``) and the
simulator (which answers with the same codes and messages as the real service).
The document lists every error with HTTP status 400; a rate limit is HTTP 429.
"""

from __future__ import annotations

SUCCESS = "00000"

MESSAGES: dict[str, str] = {
    "00000": "success",
    # authentication and request envelope
    "40001": "ACCESS_KEY cannot be empty",
    "40002": "ACCESS_SIGN cannot be empty",
    "40003": "Signature cannot be empty",
    "40004": "Request timestamp expired",
    "40005": "Invalid ACCESS_TIMESTAMP",
    "40006": "Invalid ACCESS_KEY",
    "40007": "Invalid Content_Type",
    "40008": "Request timestamp expired",
    "40009": "sign signature error",
    "40010": "Request timed out",
    "40011": "ACCESS_PASSPHRASE cannot be empty",
    "40012": "apikey/password is incorrect",
    "40013": "User status is abnormal",
    "40014": "Incorrect permissions, need {0} permissions",
    "40015": "System is abnormal, please try again later",
    "40017": "Parameter verification failed {0}",
    "40018": "Invalid IP",
    "40019": "Parameter {0} cannot be empty",
    "40020": "Parameter {0} error",
    "40034": "Parameter {0} does not exist",
    "40037": "Apikey does not exist",
    "40038": "The current ip is not in the apikey ip whitelist",
    "40102": "Symbol does not exist",
    "40109": "The data of the order cannot be found, please confirm the order number",
    "40200": "Server upgrade, please try again later",
    "40404": "Request URL NOT FOUND",
    "40705": "The start and end time cannot exceed 90 days",
    "40707": "Start time is greater than end time",
    "40708": "client_oid duplicate",
    "40768": "Order does not exist",
    "43011": "The parameter does not meet the specification {0}",
    "43125": "No more than 8 decimal places",
    "45034": "clientOid duplicate",
    "45110": "less than the minimum amount {0} USDT",
    "45111": "less than the minimum order quantity",
    "45112": "more than the maximum order quantity",
    # margin business
    "50001": "coin {0} does not support cross",
    "50002": "symbol {0} does not support isolated",
    "50003": "coin {0} does not support isolated",
    "50004": "symbol {0} does not support cross",
    "50011": "Parameter verification error",
    "50020": "Insufficient balance",
    "50021": "The margin trading account does not exist",
    "50022": "The account is liquidated",
    "50024": "The trading pair does not exist",
    "50032": "The currency does not exist",
    "50034": "The borrowing amount must be over 0.00000001",
    "50035": "The maximum borrowing amount is exceeded",
    "50037": "This currency cannot be borrowed",
    "50040": "The repayment amount must be more than 0",
    "50041": "The repayment amount must be less than your available balance",
    "50042": "The repayment amount must be more than the interest",
    "50045": "Insufficient locked asset",
    "50060": "Duplicated clientOid",
    "50062": "The order status is cancelled or fullFill",
    "50063": "Token precision must less than or equal to eight",
    "50066": "Position closing, please try again later",
    # v2 (ENDPOINTS-v2.md §5; messages from ccxt 4.5.90's exception table where it quotes one)
    "40085": "You are in Unified Account mode, and the Classic Account API is not supported "
    "at this time",
    "40306": "Batch processing orders can only process up to {0}",
    "40305": "Client_oid length is not greater than 50, and cannot be Martian characters",
    "40604": "Server is busy, please try again later",
    "41114": "The current trading pair is under maintenance",
    "43001": "The order does not exist",
    "43012": "Insufficient balance",
    "50009": "The operation is too frequent, please try again later",
}

#: Codes that only the v2 API answers with (the rest are shared with v1).
V2_CODES = frozenset({"40085", "40306", "40305", "40604", "41114", "43012", "50009"})


def message(code: str, *args: object) -> str:
    """The document's message for ``code`` with ``{0}``, ``{1}`` filled from ``args``."""
    text = MESSAGES.get(code, "error")
    for i, arg in enumerate(args):
        text = text.replace("{" + str(i) + "}", str(arg))
    return text
