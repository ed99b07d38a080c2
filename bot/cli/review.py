"""`hubkeeper review`: the access review as a CSV, from the command line (`/hub review` DMs the same
CSV; its Slack uploader is `bot.slack_io.bot_upload`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, cast

import click

from bot.cli.output import PrintableText, fail_config
from bot.settings import ConfigError, InstanceConfig, load_settings
from handlers.review import ReviewSummary, write_review_csv
from handlers.stale import STALE_AFTER_DAYS
from hub.client import HubClient
from hub.errors import HubError

EXIT_HUB = 1
MAX_STALE_DAYS = 36_500


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
        # Names and descriptions reach a terminal or a file as text: without their control characters.
        # (A TextIOBase is not typing.TextIO to mypy, though it is every method the CSV writer calls.)
        with PrintableText(out) as text:
            return await write_review_csv(hub, cast(TextIO, text), stale_after_days=stale_after_days)


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
    help=f"Days without activity before stale [default: HUBKEEPER_STALE_AFTER_DAYS or {STALE_AFTER_DAYS}].",
)
def review(target: str, label: str | None, access: bool, stale_after_days: int | None) -> None:
    """Write the access review CSV (one row per member, then pending invites); summary on stderr."""
    if access:
        from bot.cli.index import access_review_cli

        access_review_cli(target, label)
        return
    try:
        settings = load_settings()
        # A review of the wrong org would look plausible: with several, make the person choose.
        instance = settings.one_instance(label, hint="choose one with --instance")
        days = stale_after_days if stale_after_days is not None else settings.hubkeeper_stale_after_days
    except ConfigError as error:
        fail_config(error)
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
