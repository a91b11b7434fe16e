"""The one boundary between Bitget's answers and riskd's exceptions.

Every answer the client receives passes through :func:`check_response` (an HTTP answer) or
:func:`transport_error` (no answer: timeout, refused connection, reset). Nothing else in riskd
looks at HTTP status codes or Bitget's body codes to decide what went wrong.

::

    RiskdExchangeError            code, msg, http_status, endpoint, outcome_unknown
    ├── AuthenticationError       40001-40003 40006 40009-40012 40018 40036-40038 40041
    ├── ClockSkewError            40004 40005 40008   (the client resyncs and retries once)
    ├── PermissionDeniedError     40013 40014 40022-40026 40040 40301 50012 50013 50019 ...
    ├── RateLimitedError          HTTP 429, 1001 30006 30007 40047 45129 50009   (retry_after)
    ├── InsufficientFundsError    45002 50020 50041 50045 40711 40712 40756 49023
    ├── InvalidRequestError       40007 40017 40019 40020 40034 43011 50011 50042 ...
    ├── NotFoundError             40102 40109 40404 40768 50021 50024 50032 50036
    ├── ExchangeUnavailableError  40200 (maintenance) 40015 40725 45001 50010 50027 50031 50066,
    │   │                         HTTP 5xx, timeouts, connection errors, non-JSON bodies
    │   └── MalformedResponseError  a 200 answer whose body is not the documented shape
    └── ExchangeError             any other code: carries the code and the message

Where 50042 belongs. "The repayment amount must be more than the interest" is a refusal of the
*amount asked for*, and the remedy is to ask for more (at least the accrued interest), not
less. :class:`InsufficientFundsError` tells a caller "you do not have that much: shrink the
amount or find funds"; following that advice on a 50042 would make the next attempt fail the
same way. So 50042 is an :class:`InvalidRequestError`, like 50040 ("must be more than 0").
50041 ("must be less than your available balance") is the true funds case.

``outcome_unknown`` is true only when a request that changes state (``Endpoint.mutating``) may
have reached the exchange and we cannot tell whether it acted: a read timeout, a connection
dropped after sending, a 5xx, or an unreadable 200. A caller must then re-read the account
before deciding anything. A definite refusal (any body code) leaves it false: nothing happened.

No exception carries request headers or bodies, so no secret can leak through one; the
message text from the exchange is passed through :func:`riskd.redact.redact` all the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import httpx

from riskd.bitget.codes import MESSAGES, SUCCESS
from riskd.redact import redact

__all__ = [
    "AuthenticationError",
    "ClockSkewError",
    "ExchangeError",
    "ExchangeUnavailableError",
    "InsufficientFundsError",
    "InvalidRequestError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestParamError",
    "RiskdExchangeError",
    "check_response",
    "error_for",
    "transport_error",
]


class RiskdExchangeError(Exception):
    """Base of every error the exchange (or the way to it) produced."""

    def __init__(
        self,
        msg: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        endpoint: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        self.msg = redact(msg)
        self.code = code
        self.http_status = http_status
        self.endpoint = endpoint
        self.outcome_unknown = outcome_unknown
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.endpoint}: " if self.endpoint else ""
        code = f"[{self.code}] " if self.code else ""
        status = f" (HTTP {self.http_status})" if self.http_status is not None else ""
        unknown = "; outcome unknown, re-read before acting" if self.outcome_unknown else ""
        return f"{where}{code}{self.msg}{status}{unknown}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, msg={self.msg!r}, "
            f"http_status={self.http_status!r}, endpoint={self.endpoint!r})"
        )


class AuthenticationError(RiskdExchangeError):
    """The key, signature, passphrase or source IP was refused."""


class ClockSkewError(RiskdExchangeError):
    """The request's timestamp was outside the server's 30 s window (or unreadable)."""


class PermissionDeniedError(RiskdExchangeError):
    """The key is valid but may not do this (permission, account restriction)."""


class RateLimitedError(RiskdExchangeError):
    """Too many requests; ``retry_after`` (seconds) when the server said."""

    def __init__(self, msg: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(msg, **kw)


class InsufficientFundsError(RiskdExchangeError):
    """The account does not hold what the request needs."""


class InvalidRequestError(RiskdExchangeError):
    """The exchange refused the request's parameters."""


class NotFoundError(RiskdExchangeError):
    """The path, symbol, coin, order or account does not exist."""


class ExchangeUnavailableError(RiskdExchangeError):
    """Maintenance, a server error, a timeout, no connection or an unreadable answer."""


class MalformedResponseError(ExchangeUnavailableError):
    """A success answer whose body is not what the document describes."""


class ExchangeError(RiskdExchangeError):
    """Any other refusal; ``code`` and ``msg`` say what it was."""


class RequestParamError(ValueError):
    """A call's parameters are wrong before anything is sent (unknown, missing, bad value)."""


def _codes(*specs: str) -> frozenset[str]:
    """Expand ``"40001"`` and ``"40009-40012"`` into a set of codes."""
    out: set[str] = set()
    for spec in specs:
        lo, _, hi = spec.partition("-")
        width = len(lo)
        out.update(str(c).zfill(width) for c in range(int(lo), int(hi or lo) + 1))
    return frozenset(out)


_BY_CLASS: tuple[tuple[type[RiskdExchangeError], frozenset[str]], ...] = (
    (
        AuthenticationError,
        _codes("40001-40003", "40006", "40009-40012", "40018", "40036-40038", "40041")
        | _codes("30004", "30005", "30011", "30012"),
    ),
    (ClockSkewError, _codes("40004", "40005", "40008", "30013", "30014")),
    (
        PermissionDeniedError,
        _codes("40013", "40014", "40022-40026", "40040", "40301", "50012", "50013")
        | _codes("50015", "50019", "50023", "50064"),
    ),
    (RateLimitedError, _codes("1001", "30006", "30007", "40047", "45129", "50009")),
    (
        InsufficientFundsError,
        _codes("45002", "50020", "50041", "50045", "40711", "40712", "40756", "49023"),
    ),
    (
        InvalidRequestError,
        _codes("40007", "40017", "40019", "40020", "40034", "40053", "40057-40059")
        | _codes("40305", "40402", "40705", "40707", "40708", "40724", "43011", "43125")
        | _codes("45034", "45110-45112", "48001", "48002", "50001-50004", "50011")
        | _codes("50018", "50034", "50035", "50037", "50039", "50040", "50042", "50053")
        | _codes("50060-50063", "00001", "20001"),
    ),
    (
        NotFoundError,
        _codes("40102", "40109", "40404", "40768", "50021", "50024", "50032", "50036"),
    ),
    (
        ExchangeUnavailableError,
        _codes("40015", "40200", "40725", "45001", "50010", "50027", "50031", "50066"),
    ),
)

#: Bitget body code → exception class. Codes not listed become :class:`ExchangeError`.
CODE_CLASSES: dict[str, type[RiskdExchangeError]] = {
    code: cls for cls, codes in _BY_CLASS for code in codes
}


def _status_class(status: int) -> type[RiskdExchangeError]:
    if status == 429:
        return RateLimitedError
    if status in (401,):
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status in (408, 425) or status >= 500:
        return ExchangeUnavailableError
    return ExchangeError


def error_for(
    *,
    endpoint: str | None,
    http_status: int | None,
    code: str | None,
    msg: str | None,
    retry_after: float | None = None,
    mutating: bool = False,
) -> RiskdExchangeError:
    """The exception for an answer with this HTTP status and body code (either may be None).

    Precedence: HTTP 429 is always a rate limit; then a known body code; then the HTTP
    status (5xx → unavailable); anything else is a generic :class:`ExchangeError`.
    """
    if http_status == 429:
        cls: type[RiskdExchangeError] = RateLimitedError
    elif code is not None and code in CODE_CLASSES:
        cls = CODE_CLASSES[code]
    elif http_status is not None and http_status != 200:
        cls = _status_class(http_status)
    else:
        cls = ExchangeError
    text = msg or (MESSAGES.get(code, "") if code else "") or _status_text(http_status)
    # A body code is a definite refusal; only a server error or no code leaves it unknown.
    unknown = (
        mutating
        and cls is ExchangeUnavailableError
        and (code is None or (http_status is not None and http_status >= 500))
    )
    kw: dict[str, Any] = {
        "code": code,
        "http_status": http_status,
        "endpoint": endpoint,
        "outcome_unknown": unknown,
    }
    if cls is RateLimitedError:
        return RateLimitedError(text, retry_after=retry_after, **kw)
    return cls(text, **kw)


def _status_text(status: int | None) -> str:
    if status is None:
        return "no answer"
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` header in seconds, when it is a number (dates are ignored)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def check_response(
    response: httpx.Response, *, endpoint: str, mutating: bool = False
) -> dict[str, Any]:
    """Return the decoded envelope of a success answer, or raise the mapped exception.

    Amounts stay exact: JSON numbers with a fraction are decoded as ``Decimal``.
    """
    status = response.status_code
    retry_after = retry_after_seconds(response.headers)
    body: object = None
    try:
        body = json.loads(response.content, parse_float=Decimal) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        if status == 200:
            raise MalformedResponseError(
                "answer is not a JSON object",
                http_status=status,
                endpoint=endpoint,
                outcome_unknown=mutating,
            )
        raise error_for(
            endpoint=endpoint,
            http_status=status,
            code=None,
            msg=None,
            retry_after=retry_after,
            mutating=mutating,
        )
    raw_code = body.get("code")
    code = None if raw_code is None else str(raw_code)
    raw_msg = body.get("msg", body.get("message"))
    msg = None if raw_msg is None else str(raw_msg)
    if status == 200 and code == SUCCESS:
        return body
    if status == 200 and code is None:
        raise MalformedResponseError(
            "answer has no 'code'", http_status=status, endpoint=endpoint, outcome_unknown=mutating
        )
    raise error_for(
        endpoint=endpoint,
        http_status=status,
        code=code,
        msg=msg,
        retry_after=retry_after,
        mutating=mutating,
    )


def transport_error(
    exc: httpx.RequestError, *, endpoint: str, mutating: bool = False
) -> ExchangeUnavailableError:
    """Map a failure to get any answer. Connect failures mean nothing was sent."""
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
    text = str(exc)
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return ExchangeUnavailableError(
        f"{kind}: {detail}",
        endpoint=endpoint,
        outcome_unknown=mutating and not never_sent,
    )
