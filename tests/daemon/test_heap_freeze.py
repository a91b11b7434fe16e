"""After start-up, riskd moves its start-up heap out of the garbage collector's reach."""

from __future__ import annotations

import gc

from riskd.daemon.service import freeze_startup_heap


def test_the_start_up_heap_is_frozen() -> None:
    """Objects alive at the call are frozen (full collections no longer scan them)."""
    gc.unfreeze()
    kept = [object() for _ in range(100)]
    before = gc.get_freeze_count()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()
