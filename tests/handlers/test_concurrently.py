"""Reads run at once, and none outlives the first failure (asyncio.gather would leave them running)."""

from __future__ import annotations

import asyncio

import pytest

from handlers import concurrently


class Refused(Exception):
    pass


async def _fails_soon() -> int:
    await asyncio.sleep(0.01)
    raise Refused


async def _slow(started: asyncio.Event, finished: list[str]) -> str:
    started.set()
    await asyncio.sleep(30)
    finished.append("slow")
    return "slow"


def _pending_others() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()]


async def test_results_in_order_and_at_once() -> None:
    running = 0
    most = 0

    async def read(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return n * 2

    assert await concurrently.each(read(n) for n in range(5)) == [0, 2, 4, 6, 8]
    assert most == 5
    assert await concurrently.both(read(1), read(2)) == (2, 4)
    assert await concurrently.three(read(1), read(2), read(3)) == (2, 4, 6)


@pytest.mark.parametrize("shape", ["each", "both", "three"])
async def test_the_first_failure_cancels_the_rest(shape: str) -> None:
    started = asyncio.Event()
    finished: list[str] = []
    with pytest.raises(Refused):
        if shape == "each":
            await concurrently.each([_slow(started, finished), _fails_soon()])
        elif shape == "both":
            await concurrently.both(_slow(started, finished), _fails_soon())
        else:
            await concurrently.three(_slow(started, finished), _fails_soon(), _slow(started, finished))
    assert started.is_set()
    assert _pending_others() == [] and finished == []


async def test_cancelling_the_caller_cancels_every_read() -> None:
    started = asyncio.Event()
    finished: list[str] = []
    caller = asyncio.ensure_future(concurrently.both(_slow(started, finished), _slow(started, finished)))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert _pending_others() == [] and finished == []
