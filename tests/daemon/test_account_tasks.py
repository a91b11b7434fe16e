"""Each account's cycle is its own task: a slow account does not hold the others up."""

from __future__ import annotations

import asyncio

import pytest

from riskd.daemon.account_tasks import AccountTasks


async def _slow(gate: asyncio.Event, done: list[str], name: str) -> None:
    await gate.wait()
    done.append(name)


async def _quick(done: list[str], name: str) -> None:
    done.append(name)


async def test_a_slow_account_goes_on_in_the_background_and_sits_cycles_out() -> None:
    """bob's cycle blocks: the wait ends after at most its bound with alice done, bob stays
    busy (a second cycle of bob is refused) until he finishes, then he is free again."""
    tasks, done, gate = AccountTasks(), [], asyncio.Event()
    tasks.start("alice", _quick(done, "alice"))
    tasks.start("bob", _slow(gate, done, "bob"))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await tasks.wait(0.05)
    assert loop.time() - t0 < 1.0
    tasks.collect()
    assert done == ["alice"] and tasks.busy("bob") and not tasks.busy("alice")
    with pytest.raises(RuntimeError, match="still running"):
        tasks.start("bob", _quick(done, "bob again"))
    tasks.start("alice", _quick(done, "alice 2"))
    gate.set()
    await tasks.wait(None)
    tasks.collect()
    assert done == ["alice", "alice 2", "bob"] and not tasks.busy("bob")


async def test_an_error_of_a_finished_cycle_is_raised_once() -> None:
    """A cycle that ended with an error raises it at collect(), then is forgotten."""
    tasks = AccountTasks()

    async def broken() -> None:
        raise ValueError("a bug in the cycle")

    tasks.start("alice", broken())
    await tasks.wait(None)
    with pytest.raises(ValueError, match="a bug in the cycle"):
        tasks.collect()
    tasks.collect()  # forgotten: nothing more to raise
    assert not tasks.busy("alice")


async def test_cancel_ends_the_running_cycles() -> None:
    """At shutdown the cycles still running are cancelled and awaited."""
    tasks, done, gate = AccountTasks(), [], asyncio.Event()
    tasks.start("bob", _slow(gate, done, "bob"))
    await tasks.cancel()
    assert not tasks.busy("bob") and done == []
