"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

# Imported here, at start-up, on purpose: trio's hypothesis hook (run when hypothesis is first
# imported) warns about its own PRNG. A run that never imports hypothesis otherwise (say
# `pytest tests/telegram`) has hypothesis's plugin import it in the final summary, where
# `filterwarnings = error` turns that warning into a crash after every test passed.
import hypothesis  # noqa: F401
import pytest

REFERENCE_DIR = Path(__file__).parent / "reference"


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE_DIR
