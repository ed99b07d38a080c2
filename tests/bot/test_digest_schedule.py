"""The scheduled digest's period is the time it was scheduled to fire, and a failed run is retried
within that period (against the sandbox's real bot, emulator and Slack stand-in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.fire_times import last_scheduled_run
from bot.sandbox.run import Sandbox
from bot.scheduler import DIGEST_RETRY_AFTER, digest_job, digest_retry_time
from bot.store.digest_store import SqlDigestStore
from handlers.digest.post import Outcome
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import HUB_OPS

MONDAY_0900 = datetime(2030, 5, 20, 9, 0, tzinfo=UTC)


def test_the_last_fire_time_in_the_digest_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 07:30 UTC is 09:30 in Berlin: this Monday's 09:00 run; at 06:30 UTC it is still last week's.
    assert last_scheduled_run("0 9 * * MON", "Europe/Berlin", datetime(2030, 5, 20, 7, 30, tzinfo=UTC)) == datetime(
        2030, 5, 20, 9, 0, tzinfo=berlin
    )
    assert last_scheduled_run("0 9 * * MON", "Europe/Berlin", datetime(2030, 5, 20, 6, 30, tzinfo=UTC)) == datetime(
        2030, 5, 13, 9, 0, tzinfo=berlin
    )
    assert last_scheduled_run("*/10 * * * *", "UTC", datetime(2030, 5, 20, 7, 34, 5, tzinfo=UTC)) == datetime(
        2030, 5, 20, 7, 30, tzinfo=UTC
    )


def test_retries_only_for_a_failed_or_held_run_and_only_within_the_period() -> None:
    next_week = MONDAY_0900 + timedelta(weeks=1)
    soon = MONDAY_0900 + timedelta(minutes=1)
    assert digest_retry_time(Outcome.FAILED, MONDAY_0900, next_week, soon) == soon + DIGEST_RETRY_AFTER
    assert digest_retry_time(Outcome.HELD, MONDAY_0900, next_week, soon) == soon + DIGEST_RETRY_AFTER
    assert digest_retry_time(Outcome.POSTED, MONDAY_0900, next_week, soon) is None
    assert digest_retry_time(Outcome.ALREADY_POSTED, MONDAY_0900, next_week, soon) is None
    assert digest_retry_time(Outcome.FAILED, MONDAY_0900, next_week, MONDAY_0900 + timedelta(hours=13)) is None
    # An hourly digest is retried; one every five minutes is not: its next run comes before a retry would.
    assert digest_retry_time(Outcome.FAILED, MONDAY_0900, MONDAY_0900 + timedelta(hours=1), soon) is not None
    assert digest_retry_time(Outcome.FAILED, MONDAY_0900, MONDAY_0900 + timedelta(minutes=5), soon) is None


async def test_a_failed_scheduled_digest_is_retried_for_the_same_period(
    sandbox: Sandbox, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    store = SqlDigestStore(sandbox.bot.store.engine)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        trigger = CronTrigger.from_crontab("0 9 * * MON", timezone=UTC)
        # The job runs 20 minutes late (a busy loop, a restart): its period is still Monday 09:00.
        late = MONDAY_0900 + timedelta(minutes=20)
        job = digest_job(scheduler, sandbox.bot.post_scheduled_digest, "acme", trigger, clock=lambda: late)
        emulator_state.fail_next(1, 403, method="GET", path="/v2/orgs/acme/members")
        assert await job() is Outcome.FAILED
        assert sandbox.slack.messages(HUB_OPS) == []
        retry = scheduler.get_job("digest-retry:acme")
        assert retry is not None and tuple(retry.args) == (MONDAY_0900,)
        assert retry.next_run_time == late + DIGEST_RETRY_AFTER
        assert await retry.func(*retry.args) is Outcome.POSTED
        assert await store.posted("acme", "weekly", "2030-05-20T09:00") is not None
        # The same period fired again (a second replica, a misfire) posts nothing more and retries nothing.
        scheduler.remove_job("digest-retry:acme")
        assert await job() is Outcome.ALREADY_POSTED
        assert scheduler.get_job("digest-retry:acme") is None
        assert len([m for m in sandbox.slack.messages(HUB_OPS) if "thread_ts" not in m]) == 1
    finally:
        scheduler.shutdown(wait=False)


async def test_the_running_bot_schedules_the_digest_job(sandbox: Sandbox) -> None:
    assert sandbox.scheduler is not None
    job = sandbox.scheduler.get_job("digest:acme")
    assert job is not None and "day_of_week='mon'" in str(job.trigger)
