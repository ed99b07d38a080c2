"""`hubkeeper digest [--dry-run]`: build the digest now, and post it (or print it)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from bot.cli.output import echo, fail_config
from bot.settings import ConfigError, InstanceConfig, Settings, SlackConfig, load_settings
from bot.store.activity_store import SqlActivityStore
from bot.store.digest_store import SqlDigestStore
from bot.store.sql_store import SqlRequestStore
from handlers.digest.model import fire_period_key
from handlers.digest.post import Org, Outcome, run_digest
from hub.client import HubClient
from hub.errors import HubError

if TYPE_CHECKING:
    from bot.slack_io import SlackMessenger


@click.command()
@click.option("--instance", "label", help="Only this instance (by its label).")
@click.option("--dry-run", is_flag=True, help="Print the digest instead of posting it (claims nothing).")
def digest(label: str | None, dry_run: bool) -> None:
    """Build the digest now and post it to the digest channel (or print it with --dry-run)."""
    try:
        settings = load_settings()
        instances = settings.select_instances(label)
        timezone = settings.digest_timezone()
        slack = None if dry_run else settings.slack_for_posting()
        # A dry run claims no period, so it needs no schedule (and does not load APScheduler).
        schedule = None if dry_run else settings.digest_schedule()
    except ConfigError as error:
        fail_config(error)
    posted = asyncio.run(_digest(settings, instances, timezone, schedule, slack))
    sys.exit(0 if posted else 1)


def _poster(slack: SlackConfig) -> SlackMessenger:
    # Imported here: a dry run never talks to Slack, so it does not load slack_sdk.
    from bot.slack_io import SlackMessenger, web_client

    return SlackMessenger(web_client(slack))


async def _digest(
    settings: Settings,
    instances: Sequence[InstanceConfig],
    timezone: str,
    schedule: str | None,
    slack: SlackConfig | None,
) -> bool:
    """Post (or print) each instance's digest for the current period: the schedule's last fire time, so
    this posts the period's digest when the scheduled run did not, and moves the baseline as it would."""
    store = await SqlRequestStore.open(settings.database_url())
    poster = _poster(slack) if slack is not None else None
    now = datetime.now(UTC)
    period = None
    if schedule is not None:
        from bot.fire_times import last_scheduled_run  # here: a dry run does not load APScheduler

        fired = last_scheduled_run(schedule, timezone, now)
        period = fire_period_key(fired, timezone) if fired is not None else None
    all_done = True
    try:
        for instance in instances:
            channel = settings.digest_channel(instance)
            if poster is not None and not channel:
                click.echo(f"hubkeeper: {instance.label}: no HUBKEEPER_DIGEST_CHANNEL to post to", err=True)
                all_done = False
                continue
            async with HubClient(instance.connection()) as hub:
                outcome = await run_digest(
                    Org(hub, instance.label),
                    SqlDigestStore(store.engine),
                    poster,
                    channel,
                    claimed_by=f"cli:{socket.gethostname()}:{os.getpid()}",
                    now=now,
                    period=period,
                    activity=SqlActivityStore(store.engine),
                    stale_after_days=settings.hubkeeper_stale_after_days,
                    timezone=timezone,
                    dry_run=poster is None,
                    echo=echo,
                )
            if poster is not None:
                click.echo(f"{instance.label}: {_said(outcome)}")
                all_done = all_done and outcome in (Outcome.POSTED, Outcome.ALREADY_POSTED)
    except HubError as error:
        click.echo(f"hubkeeper: {error.message}", err=True)
        return False
    finally:
        await store.close()
    return all_done


def _said(outcome: Outcome) -> str:
    if outcome is Outcome.POSTED:
        return "posted"
    if outcome is Outcome.ALREADY_POSTED:
        return "already posted for this period"
    return "another run is posting this period's digest (try again in a few minutes if it does not appear)"
