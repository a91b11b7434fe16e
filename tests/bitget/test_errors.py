"""The error boundary: HTTP status + body code → riskd's exception tree."""

from __future__ import annotations

import json

import httpx
import pytest

from riskd.bitget import errors
from riskd.bitget.codes import MESSAGES
from riskd.bitget.errors import (
    AuthenticationError,
    ClockSkewError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RiskdExchangeError,
    check_response,
    transport_error,
)


def _answer(
    status: int, body: object = None, raw: bytes | None = None, **headers: str
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        *((c, AuthenticationError) for c in ("40001", "40002", "40003", "40006", "40009")),
        *((c, AuthenticationError) for c in ("40010", "40011", "40012", "40037", "40038")),
        *((c, ClockSkewError) for c in ("40004", "40005", "40008")),
        *((c, PermissionDeniedError) for c in ("40014", "40013", "50019")),
        *((c, RateLimitedError) for c in ("1001", "50009", "30006")),
        *((c, InsufficientFundsError) for c in ("50020", "50041", "45002", "50045")),
        *((c, InvalidRequestError) for c in ("40017", "40019", "40020", "40034", "43011")),
        *((c, InvalidRequestError) for c in ("50011", "50042", "50040", "43125", "50035")),
        *((c, NotFoundError) for c in ("40102", "40109", "40404", "40768", "50024", "50032")),
        *((c, ExchangeUnavailableError) for c in ("40200", "40015", "50066")),
        ("99999", ExchangeError),
        ("50022", ExchangeError),
    ],
)
def test_body_code_maps_to_its_class(code: str, cls: type[RiskdExchangeError]) -> None:
    """A documented 400 answer with this code raises exactly this class, carrying the code."""
    msg = MESSAGES.get(code, "something")
    with pytest.raises(RiskdExchangeError) as info:
        check_response(_answer(400, {"code": code, "msg": msg}), endpoint="cross_repay")
    exc = info.value
    assert type(exc) is cls
    assert (exc.code, exc.msg, exc.http_status, exc.endpoint) == (code, msg, 400, "cross_repay")
    assert code in str(exc) and "cross_repay" in str(exc)
    assert not exc.outcome_unknown


def test_every_class_is_in_the_tree_and_drawn_in_the_docstring() -> None:
    """Every exception class derives from RiskdExchangeError and appears in the ASCII tree."""
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, RiskdExchangeError):
            assert name in doc, name
    assert issubclass(MalformedResponseError, ExchangeUnavailableError)


def test_message_key_is_accepted_as_well_as_msg() -> None:
    """Erratum 4: ``message`` instead of ``msg`` still gives the message."""
    with pytest.raises(InvalidRequestError, match="bad thing"):
        check_response(_answer(400, {"code": "40017", "message": "bad thing"}), endpoint="x")


def test_missing_message_falls_back_to_the_documents_text() -> None:
    """A code without a message gets the document's message for that code."""
    with pytest.raises(InsufficientFundsError) as info:
        check_response(_answer(400, {"code": "50020"}), endpoint="x")
    assert info.value.msg == "Insufficient balance"


def test_numeric_code_is_read_as_text() -> None:
    """A numeric ``code`` maps like its string."""
    with pytest.raises(ClockSkewError):
        check_response(_answer(400, {"code": 40004, "msg": "expired"}), endpoint="x")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, RateLimitedError),
        (500, ExchangeUnavailableError),
        (502, ExchangeUnavailableError),
        (503, ExchangeUnavailableError),
        (504, ExchangeUnavailableError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (418, ExchangeError),
    ],
)
def test_errors_without_a_json_body_map_by_status(
    status: int, cls: type[RiskdExchangeError]
) -> None:
    """An HTML or empty error page maps by HTTP status, with no code."""
    for raw in (b"<html>Bad Gateway</html>", b""):
        with pytest.raises(RiskdExchangeError) as info:
            check_response(_answer(status, raw=raw), endpoint="cross_assets")
        assert type(info.value) is cls
        assert info.value.code is None and info.value.http_status == status


def test_429_is_rate_limited_whatever_the_body_and_carries_retry_after() -> None:
    """HTTP 429 is a rate limit even with another code; Retry-After is kept in seconds."""
    with pytest.raises(RateLimitedError) as info:
        check_response(
            _answer(429, {"code": "40017", "msg": "x"}, **{"Retry-After": "2.5"}), endpoint="x"
        )
    assert info.value.retry_after == 2.5
    with pytest.raises(RateLimitedError) as info:
        check_response(
            _answer(429, raw=b"", **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            endpoint="x",
        )
    assert info.value.retry_after is None


def test_5xx_with_unknown_code_is_unavailable_and_known_code_wins() -> None:
    """A 5xx with an unknown code is unavailable; a known code keeps its own class."""
    with pytest.raises(ExchangeUnavailableError):
        check_response(_answer(502, {"code": "12345", "msg": "x"}), endpoint="x")
    with pytest.raises(InsufficientFundsError):
        check_response(_answer(500, {"code": "50020", "msg": "x"}), endpoint="x")


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"msg": "no code"}', b"\xff\xfe", b'"text"']
)
def test_malformed_success_bodies_are_unavailable(raw: bytes) -> None:
    """A 200 whose body is not a JSON envelope with a code is a MalformedResponseError."""
    with pytest.raises(MalformedResponseError):
        check_response(_answer(200, raw=raw), endpoint="cross_assets")


def test_success_envelope_is_returned_with_exact_decimals() -> None:
    """A 00000 answer returns the envelope; JSON fractions become Decimal, never float."""
    env = check_response(
        _answer(200, raw=b'{"code":"00000","msg":"success","data":{"x":0.1}}'), endpoint="x"
    )
    assert str(env["data"]["x"]) == "0.1" and not isinstance(env["data"]["x"], float)


def test_outcome_unknown_only_for_mutating_requests_that_may_have_acted() -> None:
    """5xx and unreadable answers of a mutating call leave the outcome unknown; codes do not."""
    with pytest.raises(ExchangeUnavailableError) as info:
        check_response(_answer(502, raw=b""), endpoint="cross_repay", mutating=True)
    assert info.value.outcome_unknown
    assert "outcome unknown" in str(info.value)
    with pytest.raises(MalformedResponseError) as info2:
        check_response(_answer(200, raw=b"oops"), endpoint="cross_repay", mutating=True)
    assert info2.value.outcome_unknown
    with pytest.raises(ExchangeUnavailableError) as info3:
        check_response(_answer(400, {"code": "40200"}), endpoint="cross_repay", mutating=True)
    assert not info3.value.outcome_unknown
    with pytest.raises(ExchangeUnavailableError) as info4:
        check_response(_answer(502, raw=b""), endpoint="cross_assets", mutating=False)
    assert not info4.value.outcome_unknown


def test_transport_errors_are_unavailable_and_say_whether_anything_was_sent() -> None:
    """Transport failures are unavailable; only a mutating read timeout is outcome-unknown."""
    request = httpx.Request("POST", "https://api.bitget.com/x")
    refused = transport_error(
        httpx.ConnectError("refused", request=request), endpoint="e", mutating=True
    )
    assert isinstance(refused, ExchangeUnavailableError) and not refused.outcome_unknown
    timeout = transport_error(
        httpx.ReadTimeout("slow", request=request), endpoint="e", mutating=True
    )
    assert timeout.outcome_unknown and "timeout" in str(timeout)
    dropped = transport_error(httpx.RemoteProtocolError("eof", request=request), endpoint="e")
    assert "connection error" in str(dropped) and not dropped.outcome_unknown


def test_repr_names_the_fields() -> None:
    """repr shows class, code, message, status and endpoint."""
    exc = NotFoundError("Symbol does not exist", code="40102", http_status=400, endpoint="e")
    assert repr(exc) == (
        "NotFoundError(code='40102', msg='Symbol does not exist', http_status=400, endpoint='e')"
    )
