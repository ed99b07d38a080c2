"""The bot's scheduled work for issue 12: each instance's access index refresh (a cron line) and the
activity feed (every HUBKEEPER_ACTIVITY_SECONDS). Built by bot/app.py, scheduled by bot/scheduler.py.

Both are safe on every replica at once: the refresh is claimed in the store (one replica runs it,
a stopped one is resumed), and each audit-log event is claimed before it is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.store.access_store import SqlAccessIndexStore
from bot.store.activity_store import SqlActivityStore
from handlers.access_index import DEFAULT_RATE_SHARE, DEFAULT_SCHEDULE, refresh_index
from handlers.activity.feed import DEFAULT_INTERVAL_SECONDS, KEEP_HANDLED, LOOKBACK, poll_activity
from handlers.context import Messenger
from hub.client import HubClient

logger = logging.getLogger("hubkeeper.jobs")

ACTIVITY_JOB = "activity"


@dataclass
class AccessJobs:
    hubs: Mapping[str, HubClient]
    index: SqlAccessIndexStore
    activity: SqlActivityStore
    messenger: Messenger | None
    audit_channel: str
    claimed_by: str
    track: Callable[[], AbstractAsyncContextManager[None]]
    """Marks running work, so shutdown waits for it (the bot's InFlight.track)."""
    rate_share: float = DEFAULT_RATE_SHARE
    index_schedule: str = DEFAULT_SCHEDULE
    activity_seconds: int = DEFAULT_INTERVAL_SECONDS

    async def refresh(self, instance: str) -> None:
        """One instance's scheduled refresh (the claim keeps it to one replica)."""
        hub = self.hubs.get(instance)
        if hub is None:
            return
        async with self.track():
            try:
                result = await refresh_index(
                    hub, self.index, instance, claimed_by=self.claimed_by, rate_share=self.rate_share
                )
            except Exception:  # the next run resumes where this one stopped
                logger.exception("the %s access index refresh failed", instance)
                return
        if result.ran:
            logger.info(
                "%s: access index refreshed: %d pairs in %.0f s, %d grants",
                instance,
                result.pairs_read,
                result.seconds,
                result.grants,
            )

    async def poll(self) -> None:
        """The activity feed's round over every instance."""
        # The look-back spans a few rounds, so an event whose claimant died is still re-read after its lease.
        lookback = max(LOOKBACK, timedelta(seconds=3 * self.activity_seconds))
        async with self.track():
            for instance, hub in self.hubs.items():
                try:
                    result = await poll_activity(
                        hub,
                        self.activity,
                        instance,
                        messenger=self.messenger,
                        channel=self.audit_channel,
                        claimed_by=self.claimed_by,
                        lookback=lookback,
                    )
                except Exception:
                    logger.exception("the %s activity feed failed", instance)
                    continue
                if result.posted:
                    logger.info("%s: posted %d change(s) made outside hubkeeper", instance, len(result.posted))
            try:
                await self.activity.forget_events(datetime.now(UTC) - KEEP_HANDLED)
            except Exception:
                logger.exception("could not forget old audit-log events")


def schedule_access_jobs(scheduler: AsyncIOScheduler, jobs: AccessJobs) -> None:
    for instance in jobs.hubs:
        scheduler.add_job(
            jobs.refresh,
            CronTrigger.from_crontab(jobs.index_schedule, timezone=UTC),
            args=[instance],
            id=f"index:{instance}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # Late is fine (the claim keeps it to one); a refresh of a large org runs for a while.
            misfire_grace_time=3600,
        )
    if not jobs.audit_channel or jobs.messenger is None:
        logger.debug("HUBKEEPER_AUDIT_CHANNEL is not set: changes made outside hubkeeper are not posted")
        return
    scheduler.add_job(
        jobs.poll,
        "interval",
        seconds=jobs.activity_seconds,
        id=ACTIVITY_JOB,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=jobs.activity_seconds,
        next_run_time=datetime.now(UTC),
    )
