"""Structured logs: one pipeline for structlog and stdlib logging, secrets redacted.

Call :func:`configure_logging` once at start (``riskd run`` does). After it:

- ``structlog`` loggers and stdlib loggers (httpx, apscheduler, uvicorn, aiosqlite…) go
  through the same processors and the same handler;
- the output is a human-readable console rendering on a terminal, and JSON lines when the
  stream is not a terminal, under systemd/journald (``JOURNAL_STREAM`` set) or when asked
  (``fmt="json"`` or ``RISKD_LOG_FORMAT=json``);
- just before rendering, every string in the event — the message, every value, nested dicts
  and lists, the formatted traceback of an exception, the repr of any other object — passes
  through :func:`riskd.redact.redact`, so no registered secret reaches a log line.

Every line about a decision carries ``account``, ``scope`` and ``rule``: get the logger with
:func:`log_for`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from riskd.redact import redact

__all__ = [
    "NOISY_LOGGERS",
    "LogFormat",
    "choose_format",
    "configure_logging",
    "get_logger",
    "log_for",
    "log_for_scope",
    "redact_event",
]

LogFormat = Literal["console", "json"]

#: Libraries that log every request, job run or server start at INFO: kept at WARNING
#: unless the level is DEBUG (their warnings and errors still show).
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "uvicorn.access",
    "uvicorn.error",
    "aiosqlite",
    "asyncio",
)

_MAX_DEPTH = 12


def choose_format(
    requested: str | None, stream: TextIO, env: Mapping[str, str] = os.environ
) -> LogFormat:
    """``requested`` (or ``RISKD_LOG_FORMAT``): ``json``, ``console`` or ``auto``.

    ``auto`` is JSON under journald (``JOURNAL_STREAM``) or when ``stream`` is not a terminal,
    console otherwise.
    """
    source = "log format" if requested else "RISKD_LOG_FORMAT"
    value = (requested or env.get("RISKD_LOG_FORMAT") or "auto").strip().lower()
    if value == "json":
        return "json"
    if value == "console":
        return "console"
    if value != "auto":
        raise ValueError(f"{source} must be 'auto', 'console' or 'json', got {value!r}")
    if env.get("JOURNAL_STREAM"):
        return "json"
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def _parse_level(level: str | int | None, env: Mapping[str, str]) -> int:
    source = "log level" if level is not None else "RISKD_LOG_LEVEL"
    value = level if level is not None else env.get("RISKD_LOG_LEVEL", "INFO")
    if isinstance(value, int):
        return value
    number = logging.getLevelNamesMapping().get(value.strip().upper())
    if number is None:
        raise ValueError(
            f"{source} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {value!r}"
        )
    return number


def _scrub(value: object, depth: int = 0) -> object:
    """``value`` with every secret masked; non-JSON objects become their redacted repr."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if depth >= _MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, Mapping):
        return {
            (redact(k) if isinstance(k, str) else _scrub(k, depth + 1)): _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    return redact(repr(value))


def redact_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask registered secrets everywhere in the event."""
    scrubbed = _scrub(event_dict)
    assert isinstance(scrubbed, dict)
    return scrubbed


def _shared_processors() -> list[Processor]:
    """What every line gets, from structlog or from stdlib logging."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def _leading_keys_first(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Put timestamp, level, logger and event first in a JSON line (easier to read)."""
    ordered = {k: event_dict[k] for k in _LEADING_KEYS if k in event_dict}
    ordered.update((k, v) for k, v in event_dict.items() if k not in ordered)
    return ordered


def _renderers(fmt: LogFormat, colors: bool) -> list[Processor]:
    if fmt == "json":
        return [_leading_keys_first, structlog.processors.JSONRenderer(ensure_ascii=False)]
    return [
        structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        )
    ]


class _RiskdHandler(logging.StreamHandler[TextIO]):
    """The root handler installed by :func:`configure_logging` (replaced on reconfigure)."""


def configure_logging(
    *,
    fmt: str | None = None,
    level: str | int | None = None,
    stream: TextIO | None = None,
    env: Mapping[str, str] = os.environ,
    colors: bool | None = None,
) -> LogFormat:
    """Route structlog and stdlib logging through one redacting pipeline to ``stream``.

    ``fmt``: ``json`` / ``console`` / ``auto`` (default: ``RISKD_LOG_FORMAT``, else ``auto``).
    ``level``: a level name or number (default: ``RISKD_LOG_LEVEL``, else ``INFO``).
    ``stream``: default ``sys.stderr`` (what journald collects under systemd).
    Returns the format chosen. Calling it again replaces the previous set-up.
    """
    out: TextIO = stream if stream is not None else sys.stderr
    chosen = choose_format(fmt, out, env)
    number = _parse_level(level, env)
    if colors is None:
        colors = chosen == "console" and not env.get("NO_COLOR")

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            *_renderers(chosen, colors),
        ],
    )
    handler = _RiskdHandler(out)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RiskdHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(number)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if number <= logging.DEBUG else "WARNING")
    # A uvicorn started elsewhere in the process (``riskd sim serve``) installs its own
    # handlers and stops propagation; bring its loggers back into this one pipeline.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        library = logging.getLogger(name)
        for old_handler in list(library.handlers):
            library.removeHandler(old_handler)
        library.propagate = True

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )
    return chosen


def get_logger(name: str, **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (shown as ``logger``), with ``context`` bound."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**context) if context else logger


def log_for(
    *, account: str, scope: str, rule: str, logger: str = "riskd.decision", **context: Any
) -> structlog.stdlib.BoundLogger:
    """The logger for lines about one rule's decision: every line carries account/scope/rule.

    ``account`` is the account's configured name (never a key); ``scope`` is ``cross`` or
    ``isolated:SYMBOL``.
    """
    return get_logger(logger, account=account, scope=scope, rule=rule, **context)


def log_for_scope(
    *, account: str, scope: str, logger: str = "riskd.daemon", **context: Any
) -> structlog.stdlib.BoundLogger:
    """The logger for lines about a scope that no single rule decided (polls, staleness)."""
    return get_logger(logger, account=account, scope=scope, **context)
