"""When a cron schedule last fired: the period a scheduled digest (or `hubkeeper digest`) belongs to.

Apart from `bot.scheduler` so that the CLI can use it without loading the bot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

LOOK_BACK = (timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367))


def latest_fire_time(trigger: BaseTrigger, now: datetime, within: timedelta) -> datetime | None:
    """The trigger's last fire time at or before `now`, looking back `within`: the run a job executing
    now was scheduled for (with coalescing, APScheduler runs the latest of the times it missed)."""
    fire = trigger.get_next_fire_time(None, now - within)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def last_scheduled_run(schedule: str, timezone: str, now: datetime) -> datetime | None:
    """When the cron `schedule` (in `timezone`) last fired at or before `now`, within a year."""
    trigger = CronTrigger.from_crontab(schedule, timezone=ZoneInfo(timezone))
    for within in LOOK_BACK:
        # A short look-back first: an hourly schedule would otherwise walk a year of fire times.
        found = latest_fire_time(trigger, now, within)
        if found is not None:
            return found
    return None
