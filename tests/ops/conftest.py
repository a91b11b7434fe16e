"""Fixtures for the operations layer: restore global logging after tests that configure it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from riskd.ops.logging import NOISY_LOGGERS


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo configure_logging(): root handlers/level, noisy loggers' levels, structlog."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, lvl in noisy.items():
        logging.getLogger(name).setLevel(lvl)
    structlog.reset_defaults()
