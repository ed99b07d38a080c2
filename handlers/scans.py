"""Full-org scans (`/hub review`, `/hub digest`, `whois` by email): one at a time per instance, and a
cooldown per person.

A scan pages through every member of the org: on a huge org that is hundreds of requests, and a few
people asking at once (or one person asking again and again) would spend the rate limit that lookups
and approved changes need. So each instance runs one scan at a time, and whoever asks while one runs
is told so at once rather than left waiting without a word; after a scan, the same person waits
`HUBKEEPER_SCAN_COOLDOWN_SECONDS` before their next one on that instance. The gate lives in the bot
process (one asyncio lock per instance): replicas each have their own, which bounds the load to one
scan per replica.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from handlers import blocks as bk
from handlers.context import Reply

DEFAULT_COOLDOWN_SECONDS = 60
COOLDOWN_SETTING = "HUBKEEPER_SCAN_COOLDOWN_SECONDS"


@dataclass(frozen=True)
class _Running:
    what: str
    actor: str


class ScanGate:
    def __init__(
        self, cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._running: dict[str, _Running] = {}
        self._finished: dict[tuple[str, str], float] = {}

    def running(self, instance: str) -> str | None:
        """What is scanning `instance` (`/hub review`, the scheduled digest), if anything is."""
        current = self._running.get(instance)
        return current.what if current is not None else None

    def cooldown_left(self, instance: str, actor: str) -> float:
        """Seconds before `actor` may scan `instance` again (0: now)."""
        finished = self._finished.get((instance, actor))
        if finished is None:
            return 0.0
        return max(0.0, finished + self.cooldown_seconds - self._clock())

    @asynccontextmanager
    async def waiting_turn(self, instance: str, what: str) -> AsyncIterator[None]:
        """For the scheduler's scans (the weekly digest): wait for the instance's turn rather than be
        refused, and hold it meanwhile, so people asking then are told a scan is running."""
        lock = self._locks.setdefault(instance, asyncio.Lock())
        async with lock:
            self._running[instance] = _Running(what, "")  # `what` is said as it is: "the scheduled digest"
            try:
                yield
            finally:
                del self._running[instance]

    async def run(
        self,
        instance: str,
        actor: str,
        what: str,
        scan: Callable[[], Awaitable[Reply]],
        *,
        cooldown: bool = True,
    ) -> Reply:
        """Run `scan` unless one is running on `instance` or `actor` is cooling down: then say so.

        Without `cooldown` the scan takes its turn on the instance but neither waits for nor starts a cooldown.
        """
        left = self.cooldown_left(instance, actor) if cooldown else 0.0
        if left > 0:
            return Reply(
                f"You ran a full-org scan of {bk.code(instance, 60)} a moment ago; please wait "
                f"{_seconds(left)} before the next one (scans page through every member, and Docker Hub "
                f"limits how fast hubkeeper may read)."
            )
        lock = self._locks.setdefault(instance, asyncio.Lock())
        # No await between this check and the acquire below: no other task can slip in between.
        if lock.locked():
            running = self._running.get(instance)
            doing = f" ({running.what})" if running is not None else ""
            return Reply(
                f"A full-org scan is already running for {bk.code(instance, 60)}{doing}; try again in a moment."
            )
        async with lock:
            self._running[instance] = _Running(f"`/hub {what}`", actor)
            try:
                return await scan()
            finally:
                del self._running[instance]
                if cooldown:
                    # It starts when the scan ends, failed or not: its requests were spent either way.
                    self._finished[(instance, actor)] = self._clock()


def _seconds(left: float) -> str:
    whole = max(1, math.ceil(left))
    if whole < 120:
        return bk.plural(whole, "second")
    return bk.plural(math.ceil(whole / 60), "minute")
