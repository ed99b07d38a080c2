"""Full-org scans (`/hub review`, `/hub digest`, `whois` by email): one at a time per instance, and a
cooldown per person.

A scan pages through every member of the org: on a huge org that is hundreds of requests, and a few
people asking at once (or one person asking again and again) would spend the rate limit that lookups
and approved changes need. So each instance runs one scan at a time, and whoever asks while one runs
is told so at once rather than left waiting without a word; after a scan, the same person waits
`HUBKEEPER_SCAN_COOLDOWN_SECONDS` before their next one on that instance.

Slack sends each request to any replica, so with `claims` (the store, as `bot/app.py` wires it) the
turn and the cooldown hold across replicas: a scan takes the instance's claim row (one conditional
statement, so one replica wins), renews it while it reads and drops it at the end, failed or
cancelled; a replica that dies mid-scan leaves a claim that expires after `lease_seconds` and is then
taken over. The end of each person's scan is stored too, so the cooldown follows them to any replica.
In front of the store sits an asyncio lock per instance, so one process asks the store once rather
than once per waiting task. Without `claims` (tests of the gate alone) the gate is the process's own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from handlers import blocks as bk
from handlers.context import Reply

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN_SECONDS = 60
COOLDOWN_SETTING = "HUBKEEPER_SCAN_COOLDOWN_SECONDS"
DEFAULT_LEASE_SECONDS = 300.0
"""How long a claim outlives its holder: a dead replica holds the instance at most this long."""
DEFAULT_POLL_SECONDS = 5.0
"""How often the scheduled digest asks again for an instance another replica is scanning."""


class ScanClaims(Protocol):
    """The claims and cooldowns shared by every replica (`bot.store.scan_store.SqlScanClaims`)."""

    async def claim(
        self, instance: str, holder: str, what: str, actor: str, *, now: datetime, until: datetime
    ) -> bool: ...

    async def holding(self, instance: str, *, now: datetime) -> str | None: ...

    async def renew(self, instance: str, holder: str, *, until: datetime) -> bool: ...

    async def release(self, instance: str, holder: str) -> None: ...

    async def finished(self, instance: str, actor: str, *, at: datetime) -> None: ...

    async def last_finished(self, instance: str, actor: str) -> datetime | None: ...


@dataclass(frozen=True)
class _Running:
    what: str
    actor: str


def _holder_id() -> str:
    # This process, told apart from a restarted one on the same host.
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class ScanGate:
    def __init__(
        self,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] | None = None,
        *,
        claims: ScanClaims | None = None,
        holder: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        """`clock` gives seconds; with `claims` they must be wall-clock seconds (the default,
        `time.time`), since other replicas compare them, otherwise `time.monotonic` will do."""
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock if clock is not None else (time.time if claims is not None else time.monotonic)
        self._claims = claims
        self._holder = holder or _holder_id()
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._locks: dict[str, asyncio.Lock] = {}
        self._running: dict[str, _Running] = {}
        self._finished: dict[tuple[str, str], float] = {}

    def running(self, instance: str) -> str | None:
        """What this process is scanning `instance` for (`/hub review`, the scheduled digest), if anything."""
        current = self._running.get(instance)
        return current.what if current is not None else None

    def cooldown_left(self, instance: str, actor: str) -> float:
        """Seconds before `actor` may scan `instance` again (0: now), as far as this process knows;
        `run` also asks the store, which knows of scans on other replicas."""
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
            # Another replica's scan ends (or its claim expires) in its own time, and no event of ours
            # tells of it: the store is asked again every few seconds.
            while True:
                if await self._claim(instance, what, ""):
                    break
                await asyncio.sleep(self._poll)
            self._running[instance] = _Running(what, "")  # `what` is said as it is: "the scheduled digest"
            try:
                async with self._renewing(instance):
                    yield
            finally:
                del self._running[instance]
                await self._release(instance)

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
        left = await self._cooldown_everywhere(instance, actor) if cooldown else 0.0
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
            # None while this process waits for the claim: then the store says who holds it.
            return _busy(instance, running.what if running is not None else await self._elsewhere(instance))
        async with lock:
            doing = f"`/hub {what}`"
            if not await self._claim(instance, doing, actor):
                return _busy(instance, await self._elsewhere(instance))
            self._running[instance] = _Running(doing, actor)
            try:
                async with self._renewing(instance):
                    return await scan()
            finally:
                del self._running[instance]
                await self._release(instance)
                if cooldown:
                    # It starts when the scan ends, failed or not: its requests were spent either way.
                    await self._finish(instance, actor)

    # -- the store's side (nothing to do without one) ------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _cooldown_everywhere(self, instance: str, actor: str) -> float:
        left = self.cooldown_left(instance, actor)
        if self._claims is None or self.cooldown_seconds <= 0:
            return left
        finished = await self._claims.last_finished(instance, actor)
        if finished is None:
            return left
        return max(left, finished.timestamp() + self.cooldown_seconds - self._clock())

    async def _claim(self, instance: str, what: str, actor: str) -> bool:
        if self._claims is None:
            return True  # the lock held by the caller is the whole turn
        now = self._now()
        return await self._claims.claim(
            instance, self._holder, what, actor, now=now, until=now + timedelta(seconds=self._lease)
        )

    async def _elsewhere(self, instance: str) -> str | None:
        return await self._claims.holding(instance, now=self._now()) if self._claims is not None else None

    @asynccontextmanager
    async def _renewing(self, instance: str) -> AsyncIterator[None]:
        """Keep our claim alive while a long scan reads: renewed at a third of the lease, so two
        renewals can fail (a slow database) before it lapses."""
        claims = self._claims
        if claims is None:
            yield
            return

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._lease / 3)
                try:
                    until = self._now() + timedelta(seconds=self._lease)
                    if not await claims.renew(instance, self._holder, until=until):
                        logger.warning("the scan claim on %s lapsed and was taken over", instance)
                        return
                except Exception:
                    logger.exception("could not renew the scan claim on %s", instance)

        renewer = asyncio.create_task(renew(), name=f"scan-claim-{instance}")
        try:
            yield
        finally:
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer

    async def _release(self, instance: str) -> None:
        if self._claims is None:
            return
        try:
            await self._claims.release(instance, self._holder)
        except Exception:
            # The claim expires on its own; the scan's outcome matters more than this.
            logger.exception("could not release the scan claim on %s; it expires on its own", instance)

    async def _finish(self, instance: str, actor: str) -> None:
        now = self._clock()
        self._finished[(instance, actor)] = now
        if self._claims is None:
            return
        try:
            await self._claims.finished(instance, actor, at=datetime.fromtimestamp(now, UTC))
        except Exception:
            logger.exception("could not store the end of %s's scan on %s", actor, instance)


def _busy(instance: str, what: str | None) -> Reply:
    doing = f" ({what})" if what else ""
    return Reply(f"A full-org scan is already running for {bk.code(instance, 60)}{doing}; try again in a moment.")


def _seconds(left: float) -> str:
    whole = max(1, math.ceil(left))
    if whole < 120:
        return bk.plural(whole, "second")
    return bk.plural(math.ceil(whole / 60), "minute")
