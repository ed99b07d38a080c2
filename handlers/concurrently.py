"""Several Docker Hub reads at once, none left running after the first failure.

`asyncio.gather` leaves the other awaitables running when one raises: they finish after the reply, on
a client the caller may be closing (a late ResourceWarning in whatever runs next, or requests the rate
limit pays for). These run the same reads at once, and on a failure or cancellation cancel and await
the rest before the error goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")


async def each(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Every result, in order; or the first error, with the others cancelled."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        await _settle(tasks)


async def both(first: Awaitable[T1], second: Awaitable[T2]) -> tuple[T1, T2]:
    tasks = (asyncio.ensure_future(first), asyncio.ensure_future(second))
    try:
        await asyncio.gather(*tasks)
        return tasks[0].result(), tasks[1].result()
    finally:
        await _settle(tasks)


async def three(first: Awaitable[T1], second: Awaitable[T2], third: Awaitable[T3]) -> tuple[T1, T2, T3]:
    tasks = (asyncio.ensure_future(first), asyncio.ensure_future(second), asyncio.ensure_future(third))
    try:
        await asyncio.gather(*tasks)
        return tasks[0].result(), tasks[1].result(), tasks[2].result()
    finally:
        await _settle(tasks)


async def _settle(tasks: Sequence[asyncio.Future[Any]]) -> None:
    # Cancelling a finished task does nothing; the rest are awaited so none outlives the caller.
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
