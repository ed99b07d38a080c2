"""Pacing by Docker Hub's rate-limit headers, so a busy connection slows down instead of meeting 429s.

Every response under the limit carries `X-RateLimit-Limit` (per minute), `X-RateLimit-Remaining`
and `X-RateLimit-Reset` (a unix time). The throttle keeps an estimate of what is left in the current
window, counting requests as they leave (responses arrive late and out of order), and:
- once the estimate is spent (Docker Hub said `X-RateLimit-Remaining: 0`, or our own count got
  there first), holds every request until the window resets;
- once it falls under a low-water mark, spreads what is left evenly over the rest of the window;
- after a 429, holds every request for what its `Retry-After` says, and no longer: a `Retry-After: 1`
  inside a window that still has budget is a one-second pause, not a wait for the window's reset.
With no headers seen it never waits.

Waits are decided synchronously and slept outside any lock, so one request's long wait never queues
the others behind it, and each waiting request can say why it waits (`announcing_waits`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx

logger = logging.getLogger("hub.http")

LOW_WATER_SHARE = 0.1
ANNOUNCE_AFTER = 3.0
"""A wait longer than this is announced to whoever is waiting (a person in Slack, say)."""

WaitCallback = Callable[[float, str], None]
"""Called with the seconds about to be waited and why, as a sentence ("Docker Hub asked us to wait 20 s")."""


class _Announcer:
    def __init__(self, callback: WaitCallback, threshold: float) -> None:
        self._callback = callback
        self._threshold = threshold
        self._told_until = 0.0

    def announce(self, seconds: float, reason: str) -> None:
        if seconds <= self._threshold:
            return
        ends = time.monotonic() + seconds
        # Pages fetched side by side meet the same wait: tell the person once, not once per page.
        if ends <= self._told_until + 1.0:
            return
        self._told_until = ends
        try:
            self._callback(seconds, reason)
        except Exception:
            # Telling someone about a wait must never fail the request that waits.
            logger.exception("announcing a Docker Hub wait failed")


_announcer: ContextVar[_Announcer | None] = ContextVar("hub_wait_announcer", default=None)


@contextmanager
def announcing_waits(callback: WaitCallback, *, threshold: float = ANNOUNCE_AFTER) -> Iterator[None]:
    """Within this block (and tasks started in it), each wait over `threshold` seconds calls `callback`
    as it begins. The callback runs in the waiting request's task and must not block: schedule any I/O."""
    token = _announcer.set(_Announcer(callback, threshold))
    try:
        yield
    finally:
        _announcer.reset(token)


def announce_wait(seconds: float, reason: str) -> None:
    """Tell whoever is waiting in this context, if anyone listens and the wait is long enough."""
    announcer = _announcer.get()
    if announcer is not None:
        announcer.announce(seconds, reason)


def seconds_text(seconds: float) -> str:
    return f"{max(round(seconds), 1)} s"


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
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_at = 0.0
        self._next_slot = 0.0
        self._hold_until = 0.0
        """Set by a 429's Retry-After: nothing leaves before then."""
        self.waited = 0.0
        """Seconds spent holding requests back, for benchmarks."""

    @property
    def limit(self) -> int | None:
        """Requests a minute, as the last X-RateLimit-Limit header said (None until one is seen)."""
        return self._limit

    async def acquire(self) -> None:
        """Wait, if the window calls for it, then count one request against it.

        Everything between two awaits is synchronous, so the estimate needs no lock: a request
        reserves its slot, then sleeps; a request held by a spent window or a 429 sleeps, then
        looks again, because a new window may have opened meanwhile.
        """
        give_up_at = self._clock() + self._max_wait
        while True:
            now = self._clock()
            if self._remaining is not None and now >= self._reset_at:
                # A new window: the server will tell us its budget on the next response.
                self._remaining = None
            hold, reason = self._hold(now)
            if hold > 0 and now < give_up_at:
                await self._wait(min(hold, give_up_at - now), reason)
                continue
            if self._remaining is None:
                return
            self._remaining -= 1
            slot = max(self._next_slot, now)
            self._next_slot = slot + self._spacing(now)
            delay = min(slot - now, max(give_up_at - now, 0.0))
            if delay > 0:
                await self._wait(delay, f"pacing requests under Docker Hub's rate limit ({seconds_text(delay)})")
            return

    def _hold(self, now: float) -> tuple[float, str]:
        """How long every request must wait now, and why (0 when nothing holds them)."""
        if self._hold_until > now:
            wait = self._hold_until - now
            return wait, f"Docker Hub asked us to wait {seconds_text(wait)}"
        if self._remaining is not None and self._remaining <= 0:
            wait = max(self._reset_at - now, 0.0)
            return wait, f"Docker Hub's rate limit is used up until its window resets in {seconds_text(wait)}"
        return 0.0, ""

    async def _wait(self, seconds: float, reason: str) -> None:
        self.waited += seconds
        announce_wait(seconds, reason)
        await self._sleep(seconds)

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

    def hold_for(self, seconds: float) -> None:
        """A 429 said to wait `seconds` (its Retry-After): no request leaves before then.

        The window itself is left alone; it holds requests to its reset only once its remaining
        budget is 0, which `observe` learns from the same 429's headers when Docker Hub sends them.
        """
        self._hold_until = max(self._hold_until, self._clock() + seconds)
