"""The throttle's low-water pacing, on a fake clock: what is left of a window is spread evenly up to
its reset, never past it (requests that reserved slots past the reset used to sleep into the next
window and beyond, holding a bulk change for seconds its budget did not ask for)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hub.throttling import RateLimitThrottle


def window(limit: int, remaining: int, reset: float) -> httpx.Response:
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
    return httpx.Response(200, headers=headers)


async def test_the_last_of_a_window_is_spread_evenly_up_to_its_reset() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    throttle = RateLimitThrottle(clock=lambda: 5.0, sleep=sleep)
    throttle.observe(window(60, 6, 10.0))  # six left, five seconds to the reset

    await asyncio.gather(*(throttle.acquire() for _ in range(6)))

    assert [0.0, *slept] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])

