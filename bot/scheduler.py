"""The scheduler inside `hubkeeper serve`: the sweep (request expiries, time-bound grants), each
instance's digest and the policy drift check (HUBKEEPER_POLICY_SCHEDULE), per process.

APScheduler keeps its jobs in memory, rebuilt from settings at start: sharing a job store between
replicas is unsupported (its FAQ), and unnecessary here because every effect of a job goes through
the store's compare-and-set, so two replicas sweeping at once still change each thing once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.access_jobs import schedule_access_jobs
from bot.app import Bot, InFlight

SWEEP_JOB = "sweep"
POLICY_DRIFT_JOB = "policy-drift"
READINESS_JOB = "readiness"


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
            scheduler.add_job(
                bot.post_scheduled_digest,
                CronTrigger.from_crontab(bot.digest_schedule, timezone=ZoneInfo(bot.digest_timezone)),
                args=[instance],
                id=f"digest:{instance}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                # A digest an hour late is still worth posting; the claim keeps it to one.
                misfire_grace_time=3600,
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
