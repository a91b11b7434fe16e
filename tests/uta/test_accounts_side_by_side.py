"""Two accounts under one daemon: one whose cycle hangs (a read waiting out a back-off on its
key) does not hold the other's polling up; it sits the cycles out and comes back when done."""

from __future__ import annotations

import asyncio
from pathlib import Path

from riskd.daemon.poller import PollOutcome
from riskd.risk.snapshot import UTA
from tests.uta.test_push_uta_daemon import World


async def test_a_hanging_account_does_not_hold_the_other_up(tmp_path: Path) -> None:
    """classic's poll hangs: each cycle still polls uta (and returns after about one fast
    interval), classic sits them out; released, classic is polled again."""
    world = World(tmp_path, "uta", "classic")
    built, _ = await world.build()
    daemon = built.daemon
    release = asyncio.Event()
    classic = daemon.accounts["classic"].poller
    real_poll = classic.poll
    hung: list[float] = []

    async def hanging_poll(*, force: bool = False, exclude: object = ()) -> PollOutcome:
        hung.append(world.clock.now())
        await release.wait()
        return await real_poll(force=force)

    try:
        await daemon.run_cycle()
        classic.poll = hanging_poll  # type: ignore[method-assign]
        uta = daemon.accounts["uta"].poller
        for _ in range(3):
            world.clock.advance(10)  # every scope due again
            async with asyncio.timeout(10):  # held up by classic: a failure, not a hang
                report = await daemon.run_cycle()
            assert UTA in report.polled["uta"]
            assert uta.snapshots[UTA].observed_at == world.clock.now()
        assert len(hung) == 1 and daemon.account_tasks.busy("classic")
        classic.poll = real_poll  # type: ignore[method-assign]
        release.set()
        await daemon.account_tasks.wait(None)
        world.clock.advance(10)
        report = await daemon.run_cycle()
        assert report.polled["classic"] and not daemon.account_tasks.busy("classic")
    finally:
        release.set()
        await world.close(built)
