"""`hubkeeper review` (the access review as a CSV, from the command line) and the Slack uploader
that `/hub review` uses to DM the same CSV to whoever asked.

Registered by bot/cli.py (`main.add_command(review)`); also runnable alone as
`python -m bot.review_cli --csv FILE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import ConfigError, InstanceConfig, load_settings
from handlers.review import DEFAULT_STALE_AFTER_DAYS, ReviewSummary, Upload, UploadFailed, write_review_csv
from hub.client import HubClient
from hub.errors import HubError

EXIT_CONFIG = 2
EXIT_HUB = 1
MAX_STALE_DAYS = 36_500


def bot_upload(client: AsyncWebClient) -> Upload:
    """The `upload` that handlers.review.review wants, over slack_sdk's files_upload_v2.

    The DM channel comes from conversations.open: files_upload_v2 shares into a channel ID, and a
    user ID is not one.
    """

    async def upload(user_id: str, filename: str, content: bytes | Path, comment: str) -> None:
        try:
            opened = await client.conversations_open(users=user_id)
            channel = str(opened["channel"]["id"])
            await client.files_upload_v2(
                channel=channel,
                # slack_sdk reads a path itself; a str, since it takes bytes as content, not a Path.
                file=str(content) if isinstance(content, Path) else content,
                filename=filename,
                title=filename,
                initial_comment=comment,
            )
        except SlackApiError as error:
            raise UploadFailed(f"Slack refused the upload ({error.response.get('error', 'unknown error')})") from None

    return upload


def _select(instances: dict[str, InstanceConfig], label: str | None) -> InstanceConfig:
    if label is not None:
        if label not in instances:
            raise ConfigError(
                f"--instance {label!r} is not configured; known instances: {', '.join(sorted(instances))}"
            )
        return instances[label]
    if len(instances) > 1:
        # A review of the wrong org would look plausible: with several, make the person choose.
        raise ConfigError(
            f"several instances are configured; choose one with --instance: {', '.join(sorted(instances))}"
        )
    return next(iter(instances.values()))


@contextlib.contextmanager
def _output(target: str) -> Iterator[TextIO]:
    """stdout for `-`; else a temporary file beside FILE, renamed over it only once complete, so a
    failed review never leaves a half-written CSV that looks like a whole one (special files such
    as /dev/null are written directly)."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    final = Path(target)
    if final.exists() and not final.is_file():
        # /dev/null, a FIFO, a terminal: nothing to rename over, and no sibling file to create.
        with final.open("w", encoding="utf-8", newline="") as out:
            yield out
        return
    partial = final.with_name(f".{final.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            yield out
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)


async def _review(instance: InstanceConfig, out: TextIO, stale_after_days: int) -> ReviewSummary:
    async with HubClient(instance.connection()) as hub:
        return await write_review_csv(hub, out, stale_after_days=stale_after_days)


@click.command()
@click.option(
    "--csv",
    "target",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write the CSV (`-`: standard output).",
)
@click.option("--instance", "label", metavar="LABEL", help="The instance to review (needed when several are set).")
@click.option("--access", is_flag=True, help="One row per (member, repository) reached through teams, from the index.")
@click.option(
    "--stale-after-days",
    type=click.IntRange(1, MAX_STALE_DAYS),
    default=None,
    help=f"Days without activity before stale [default: HUBKEEPER_STALE_AFTER_DAYS or {DEFAULT_STALE_AFTER_DAYS}].",
)
def review(target: str, label: str | None, access: bool, stale_after_days: int | None) -> None:
    """Write the access review CSV (one row per member, then pending invites); summary on stderr."""
    if access:
        from bot.index_cli import access_review_cli

        access_review_cli(target, label)
        return
    try:
        settings = load_settings()
        instance = _select(settings.instances(), label)
        days = stale_after_days if stale_after_days is not None else settings.hubkeeper_stale_after_days
    except ConfigError as error:
        click.echo(f"hubkeeper: {error}", err=True)
        sys.exit(EXIT_CONFIG)
    try:
        with _output(target) as out:
            summary = asyncio.run(_review(instance, out, days))
    except HubError as error:
        click.echo(f"hubkeeper: {instance.label}: {error}", err=True)
        sys.exit(EXIT_HUB)
    except OSError as error:
        click.echo(f"hubkeeper: cannot write {target}: {error.strerror or error}", err=True)
        sys.exit(EXIT_HUB)
    click.echo(summary.text(), err=True)


if __name__ == "__main__":  # pragma: no cover
    review()
