"""Structured logs: format choice, stdlib routing, decision context and secret redaction."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from decimal import Decimal

import pytest
import structlog

from riskd.ops.logging import choose_format, configure_logging, get_logger, log_for
from riskd.redact import MASK, register_secret

pytestmark = pytest.mark.usefixtures("restore_logging")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Holder:
    """An object whose repr shows a secret, as careless code might log it."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return f"_Holder(token={self.token!r})"


def _secret(tag: str) -> str:
    value = f"{tag}-{os.urandom(8).hex()}"
    register_secret(value)
    return value


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secrets_never_reach_the_output(fmt: str) -> None:
    """Secrets in the event, kwargs, nested data, reprs, exceptions and stdlib logs are masked."""
    key_secret, passphrase, bot_token = _secret("sk"), _secret("pp"), _secret("tg")
    out = io.StringIO()
    configure_logging(fmt=fmt, level="DEBUG", stream=out, env={})
    log = get_logger("riskd.test")

    log.info(f"signing with {key_secret}", passphrase=passphrase)
    log.warning(
        "route failed",
        route={"name": "telegram", "url": f"tgram://{bot_token}/123", "retries": [1, bot_token]},
        holder=_Holder(key_secret),
        tup=(passphrase, Decimal("0.5")),
    )
    log.info("positional %s and %s", key_secret, "ok")
    try:
        raise RuntimeError(f"exchange rejected key {key_secret} / {passphrase}")
    except RuntimeError as exc:
        log.exception("call failed", error=exc)
    stdlib = logging.getLogger("httpx")
    stdlib.warning("GET https://api.example/?token=%s", bot_token)
    try:
        raise ValueError(f"bad passphrase {passphrase}")
    except ValueError:
        logging.getLogger("apscheduler.scheduler").exception("job raised")

    text = out.getvalue()
    for secret in (key_secret, passphrase, bot_token):
        assert secret not in text
    assert text.count(MASK) >= 10
    assert "RuntimeError: exchange rejected key ***" in text
    # other tests may have registered short secrets such as "pass"; the value itself is masked
    assert re.search(r"ValueError: bad \S+ \*\*\*", text)
    assert "Traceback" in text
    if fmt == "json":
        lines = _json_lines(text)
        assert len(lines) == 6
        assert lines[1]["route"] == {
            "name": "telegram",
            "url": "tgram://***/123",
            "retries": [1, "***"],
        }
        assert lines[1]["tup"] == ["***", "0.5"]
        assert lines[1]["holder"] == "_Holder(token='***')"
        assert lines[2]["event"] == "positional *** and ok"
        assert lines[4]["logger"] == "httpx"


def test_decision_lines_carry_account_scope_and_rule() -> None:
    """log_for binds account, scope and rule to every line it writes."""
    out = io.StringIO()
    configure_logging(fmt="json", stream=out, env={})
    log = log_for(account="main", scope="isolated:BTCUSDT", rule="repay-at-80")
    log.info("decided", action="repay", amount=Decimal("12.50000000"))
    log.warning("escalating")
    lines = _json_lines(out.getvalue())
    assert len(lines) == 2
    for line in lines:
        assert (line["account"], line["scope"], line["rule"]) == (
            "main",
            "isolated:BTCUSDT",
            "repay-at-80",
        )
        assert line["logger"] == "riskd.decision"
        assert "timestamp" in line
    assert lines[0]["amount"] == "12.50000000"
    assert lines[1]["level"] == "warning"


def test_stdlib_loggers_share_the_pipeline_and_noise_is_trimmed() -> None:
    """httpx/apscheduler/uvicorn go through the same JSON renderer; their INFO chatter is cut."""
    out = io.StringIO()
    configure_logging(fmt="json", level="INFO", stream=out, env={})
    logging.getLogger("httpx").info('HTTP Request: GET /x "200 OK"')
    logging.getLogger("apscheduler.executors.default").info("Running job poll")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job poll was missed by 0:00:03")
    logging.getLogger("uvicorn.error").error("Exception in ASGI application")
    logging.getLogger("riskd.daemon").info("poll done")
    lines = _json_lines(out.getvalue())
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("apscheduler.scheduler", "warning"),
        ("uvicorn.error", "error"),
        ("riskd.daemon", "info"),
    ]


def test_debug_level_lets_library_chatter_through() -> None:
    """At DEBUG the libraries' INFO lines are shown too."""
    out = io.StringIO()
    configure_logging(fmt="json", level="debug", stream=out, env={})
    logging.getLogger("httpx").info("HTTP Request: GET /x")
    assert _json_lines(out.getvalue())[0]["event"] == "HTTP Request: GET /x"


def test_reconfiguring_replaces_the_handler() -> None:
    """Calling configure_logging twice writes each line once, to the new stream only."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging(fmt="json", stream=first, env={})
    configure_logging(fmt="json", stream=second, env={})
    get_logger("riskd.test").info("once")
    assert first.getvalue() == ""
    assert len(_json_lines(second.getvalue())) == 1


def test_console_format_is_human_readable() -> None:
    """The console renderer prints the event and key=value pairs, not JSON."""
    out = io.StringIO()
    configure_logging(fmt="console", stream=out, env={}, colors=False)
    log_for(account="main", scope="cross", rule="r1").info("decided")
    text = out.getvalue()
    assert "decided" in text
    assert "account=main" in text
    assert "rule=r1" in text
    assert not text.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("requested", "env", "tty", "expected"),
    [
        (None, {}, True, "console"),
        (None, {}, False, "json"),
        (None, {"JOURNAL_STREAM": "8:12345"}, True, "json"),
        (None, {"RISKD_LOG_FORMAT": "json"}, True, "json"),
        (None, {"RISKD_LOG_FORMAT": "console"}, False, "console"),
        (None, {"RISKD_LOG_FORMAT": "AUTO"}, False, "json"),
        ("console", {"RISKD_LOG_FORMAT": "json"}, False, "console"),
        ("auto", {}, True, "console"),
    ],
)
def test_choose_format(
    requested: str | None, env: dict[str, str], tty: bool, expected: str
) -> None:
    """Console on a terminal; JSON off a terminal or under journald; explicit choice wins."""
    stream = _Tty() if tty else io.StringIO()
    assert choose_format(requested, stream, env) == expected


def test_bad_format_and_level_name_the_setting() -> None:
    """An unknown format or level is a ValueError naming the variable and the value."""
    with pytest.raises(ValueError, match=r"RISKD_LOG_FORMAT.*'xml'"):
        choose_format(None, io.StringIO(), {"RISKD_LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match=r"RISKD_LOG_LEVEL.*'LOUD'"):
        configure_logging(stream=io.StringIO(), env={"RISKD_LOG_LEVEL": "LOUD"})
    with pytest.raises(ValueError, match=r"log level.*'LOUD'"):
        configure_logging(stream=io.StringIO(), env={}, level="LOUD")


def test_level_filters_structlog_lines() -> None:
    """Below the configured level nothing is written."""
    out = io.StringIO()
    configure_logging(fmt="json", level="WARNING", stream=out, env={})
    log = get_logger("riskd.test")
    log.info("hidden")
    log.warning("shown")
    assert [line["event"] for line in _json_lines(out.getvalue())] == ["shown"]


def test_contextvars_are_merged() -> None:
    """Values bound with structlog.contextvars appear on every line of the task."""
    out = io.StringIO()
    configure_logging(fmt="json", stream=out, env={})
    structlog.contextvars.bind_contextvars(tick=42)
    try:
        get_logger("riskd.test").info("in tick")
    finally:
        structlog.contextvars.clear_contextvars()
    assert _json_lines(out.getvalue())[0]["tick"] == 42
