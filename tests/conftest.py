"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).parent / "reference"


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE_DIR
