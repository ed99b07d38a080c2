"""The scheduler inside `hubkeeper serve`: the sweep (request expiries, time-bound grants), per process.

APScheduler keeps its jobs in memory, rebuilt from settings at start: sharing a job store between
replicas is unsupported (its FAQ), and unnecessary here because every effect of a job goes through
the store's compare-and-set, so two replicas sweeping at once still change each thing once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import Bot

SWEEP_JOB = "sweep"


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
    scheduler.start()
    return scheduler
