"""A logging filter that redacts registered secrets from third-party log records.

apprise logs request URLs with bot tokens at DEBUG, urllib3 logs request lines, httpx logs
every request URL at INFO (the heartbeat URL carries its ping key). A logger's filters see
the records created on that logger, so the filter goes on each of them.
"""

from __future__ import annotations

import logging

from riskd.redact import redact

#: Loggers that may print URLs carrying secrets.
UNSAFE_LOGGERS = ("apprise", "urllib3.connectionpool", "httpx", "httpcore")


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through :func:`riskd.redact.redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(*names: str) -> None:
    """Put the redacting filter on ``names`` (default: :data:`UNSAFE_LOGGERS`); idempotent."""
    for name in names or UNSAFE_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
