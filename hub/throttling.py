"""Pacing by Docker Hub's rate-limit headers, so a busy connection slows down instead of meeting 429s.

Every response under the limit carries `X-RateLimit-Limit` (per minute), `X-RateLimit-Remaining`
and `X-RateLimit-Reset` (a unix time). The throttle keeps an estimate of what is left in the current
window, counting requests as they leave (responses arrive late and out of order), and:
- once the estimate is spent, holds every request until the window resets;
- once it falls under a low-water mark, spreads what is left evenly over the rest of the window.
With no headers seen it never waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

LOW_WATER_SHARE = 0.1


class RateLimitThrottle:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_wait: float = 65.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._lock = asyncio.Lock()
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_at = 0.0
        self._next_slot = 0.0
        self.waited = 0.0
        """Seconds spent holding requests back, for benchmarks."""

    @property
    def limit(self) -> int | None:
        """Requests a minute, as the last X-RateLimit-Limit header said (None until one is seen)."""
        return self._limit

    async def acquire(self) -> None:
        """Wait, if the window calls for it, then count one request against it."""
        async with self._lock:
            now = self._clock()
            if self._remaining is not None and now >= self._reset_at:
                # A new window: the server will tell us its budget on the next response.
                self._remaining = None
            delay = self._delay(now)
            if delay > 0:
                self.waited += delay
                await self._sleep(delay)
                now = self._clock()
                if now >= self._reset_at:
                    self._remaining = None
            if self._remaining is not None:
                self._remaining -= 1
                self._next_slot = max(self._next_slot, now) + self._spacing(now)

    def _delay(self, now: float) -> float:
        if self._remaining is None:
            return 0.0
        if self._remaining <= 0:
            return min(max(self._reset_at - now, 0.0), self._max_wait)
        return min(max(self._next_slot - now, 0.0), self._max_wait)

    def _spacing(self, now: float) -> float:
        if self._remaining is None or self._limit is None:
            return 0.0
        if self._remaining > self._limit * LOW_WATER_SHARE:
            return 0.0
        return max(self._reset_at - now, 0.0) / max(self._remaining, 1)

    def observe(self, response: httpx.Response) -> None:
        """Take the server's word for the window, never more generous than our own count."""
        headers = response.headers
        try:
            remaining = int(headers["x-ratelimit-remaining"])
            reset_at = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        try:
            self._limit = int(headers["x-ratelimit-limit"])
        except (KeyError, ValueError):
            self._limit = self._limit or None
        if reset_at > self._reset_at + 0.5 or self._remaining is None:
            self._reset_at = reset_at
            self._remaining = remaining
            self._next_slot = 0.0
        else:
            self._remaining = min(self._remaining, remaining)

    def hold_until(self, when: float) -> None:
        """A 429 said to wait: treat the window as spent until then."""
        self._remaining = 0
        self._reset_at = max(self._reset_at, when)
