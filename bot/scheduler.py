"""The scheduler inside `hubkeeper serve`: the sweep (request expiries, time-bound grants), each
instance's digest and the policy drift check (HUBKEEPER_POLICY_SCHEDULE), per process.

APScheduler keeps its jobs in memory, rebuilt from settings at start: sharing a job store between
replicas is unsupported (its FAQ), and unnecessary here because every effect of a job goes through
the store's compare-and-set, so two replicas sweeping at once still change each thing once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.access_jobs import schedule_access_jobs
from bot.app import Bot, InFlight
from bot.fire_times import latest_fire_time
from handlers.digest.post import CLAIM_LEASE, Outcome

SWEEP_JOB = "sweep"
POLICY_DRIFT_JOB = "policy-drift"
READINESS_JOB = "readiness"
DIGEST_MISFIRE_SECONDS = 3600
"""A digest an hour late is still worth posting; the claim keeps it to one."""
DIGEST_RETRY_AFTER = CLAIM_LEASE + timedelta(minutes=1)
"""A failed digest is tried again after this long, and so is one whose claim another run holds without
having posted (by then its lease is over, should that run have died)."""
DIGEST_RETRY_WITHIN = timedelta(hours=12)
"""Retries stop this long after the scheduled time (or at the next scheduled run, if sooner)."""


def digest_retry_time(
    outcome: Outcome, fire_time: datetime, next_fire: datetime | None, now: datetime
) -> datetime | None:
    """When to run a scheduled digest again, or None: it posted (or someone did), or the period is over."""
    if outcome not in (Outcome.FAILED, Outcome.HELD):
        return None
    at = now + DIGEST_RETRY_AFTER
    if at > fire_time + DIGEST_RETRY_WITHIN or (next_fire is not None and at >= next_fire):
        return None
    return at


def digest_job(
    scheduler: AsyncIOScheduler,
    post: Callable[[str, datetime | None], Awaitable[Outcome]],
    instance: str,
    trigger: BaseTrigger,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[datetime | None], Awaitable[Outcome]]:
    """The digest job of one instance: runs the digest for the time it was scheduled to fire, and
    schedules a retry within the period when it failed or another run's claim is still open."""

    async def run(fire_time: datetime | None = None) -> Outcome:
        now = clock()
        fire = fire_time or latest_fire_time(trigger, now, timedelta(seconds=DIGEST_MISFIRE_SECONDS + 60)) or now
        outcome = await post(instance, fire)
        retry = digest_retry_time(outcome, fire, trigger.get_next_fire_time(fire, fire + timedelta(seconds=1)), clock())
        if retry is not None:
            scheduler.add_job(
                run,
                "date",
                run_date=retry,
                args=[fire],
                id=f"digest-retry:{instance}",
                replace_existing=True,
                misfire_grace_time=DIGEST_MISFIRE_SECONDS,
            )
        return outcome

    return run


def start_scheduler(bot: Bot) -> AsyncIOScheduler:
    """Start from inside the running loop (APScheduler takes the loop it is started on)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        bot.sweep,
        "interval",
        seconds=bot.sweep_seconds,
        id=SWEEP_JOB,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        # A stalled loop should still sweep late rather than skip a round.
        misfire_grace_time=bot.sweep_seconds,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        bot.refresh_readiness,
        "interval",
        seconds=bot.readiness_seconds,
        id=READINESS_JOB,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=bot.readiness_seconds,
    )
    if bot.digests is not None:
        for instance in bot.digests.settings.channels:
            trigger = CronTrigger.from_crontab(bot.digest_schedule, timezone=ZoneInfo(bot.digest_timezone))
            scheduler.add_job(
                digest_job(scheduler, bot.post_scheduled_digest, instance, trigger),
                trigger,
                id=f"digest:{instance}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=DIGEST_MISFIRE_SECONDS,
            )
    if bot.access_jobs is not None:
        schedule_access_jobs(scheduler, bot.access_jobs)
    if bot.drift is not None and bot.policy_schedule:
        scheduler.add_job(
            bot.check_policy_drift,
            CronTrigger.from_crontab(bot.policy_schedule, timezone=ZoneInfo(bot.digest_timezone)),
            id=POLICY_DRIFT_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # A late check is still a check; the fingerprint claim keeps each drift to one post.
            misfire_grace_time=3600,
        )
    scheduler.start()
    return scheduler


async def stop_scheduler(scheduler: AsyncIOScheduler, work: InFlight, grace: float) -> None:
    """Stop starting jobs, let a job under way finish (up to `grace`), then shut the scheduler down.

    `shutdown()` cancels the jobs still running: a sweep cancelled in the middle of a database call
    leaves its connection neither returned nor closed, and marks nothing it meant to.
    """
    scheduler.pause()
    await work.wait_idle(grace)
    scheduler.shutdown(wait=False)
