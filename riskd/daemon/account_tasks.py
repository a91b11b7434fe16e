"""Each account's cycle as its own task, so that one account never holds the others up.

An account's cycle can be slow for reasons of its own: a read waiting out a 429 back-off on
its API key, an exchange slow to answer its calls, a queue of its scopes at risk. The
daemon's cycle starts a task per account (:meth:`AccountTasks.start`) and waits for them —
but with several accounts, no longer than one fast poll interval (:meth:`AccountTasks.wait`):
an account whose cycle is still running then goes on in the background, is left out of the
next cycles (never two cycles of one account at once) and takes part again once it is done.
With one account the daemon's cycle is that account's cycle, waited for to the end.

An error in a finished task (a bug: the exchange's errors are handled inside the cycle) is
raised by :meth:`AccountTasks.collect`, at the latest at the next cycle; :meth:`cancel`
ends every task at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class AccountTasks:
    """The running cycle of each account (by account name)."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def busy(self, account: str) -> bool:
        """Whether ``account``'s last cycle is still running."""
        task = self._tasks.get(account)
        return task is not None and not task.done()

    def start(self, account: str, cycle: Coroutine[Any, Any, None]) -> None:
        if self.busy(account):
            cycle.close()
            raise RuntimeError(f"account {account}: its last cycle is still running")
        self._tasks[account] = asyncio.create_task(cycle, name=f"riskd-{account}")

    def running(self) -> list[asyncio.Task[None]]:
        """The cycles still running."""
        return [t for t in self._tasks.values() if not t.done()]

    async def wait(self, at_most: float | None) -> None:
        """Until every running cycle is done, or ``at_most`` seconds (None: no limit)."""
        running = self.running()
        if running:
            await asyncio.wait(running, timeout=at_most)

    def collect(self) -> None:
        """Forget the finished cycles; raise the first error one of them ended with."""
        failed: BaseException | None = None
        for name, task in list(self._tasks.items()):
            if not task.done():
                continue
            del self._tasks[name]
            if not task.cancelled() and failed is None:
                failed = task.exception()
        if failed is not None:
            raise failed

    async def cancel(self) -> None:
        """End every running cycle (shutdown)."""
        running = self.running()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._tasks.clear()


__all__ = ["AccountTasks"]
