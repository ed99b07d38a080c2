"""`hubkeeper log`: the request log for auditors, as CSV or JSON, from the store.

Wiring only: what a request is about and the rows live in handlers/request_log.py. Reads the
database of HUBKEEPER_DATABASE_URL (the bot's default otherwise); with SLACK_BOT_TOKEN set, each row
gets its approval message's permalink (Slack is asked once, the rest follow its form).
Exit 0 with the rows (none is fine), 2 for bad input or configuration, 1 when the store cannot be read.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import click

from bot.cli.output import PrintableText, printable
from bot.settings import ConfigError, Settings, load_settings
from handlers.request_log import COLUMNS, LogEntry, Permalink, log_entries, parse_subject
from handlers.requests.subjects import Subject
from hub.errors import InvalidInput

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
_RELATIVE = re.compile(r"(\d+)([hdw])")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_BACK = timedelta(days=3650)


def _usage(message: str) -> NoReturn:
    click.echo(f"hubkeeper: {message}", err=True)
    sys.exit(EXIT_USAGE)


def parse_since(text: str, now: datetime) -> datetime:
    """`30d`, `12h`, `2w`, or a date/time (`2026-11-01`, `2026-11-01T09:00Z`; UTC unless it says)."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value.lower())
    if relative is not None:
        back = int(relative.group(1)) * _UNIT[relative.group(2)]
        if not timedelta(0) < back <= MAX_BACK:
            raise ValueError(f"--since {text!r}: give from 1h up to {MAX_BACK.days}d back")
        return now - back
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since {text[:40]!r} is not a time: give 30d, 12h, 2w or a date such as 2026-11-01"
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    if when > now:
        raise ValueError(f"--since {text!r} is in the future")
    return when


def write_csv(entries: list[LogEntry]) -> None:
    # Summaries and reasons are people's own text: no control character reaches the terminal.
    writer = csv.DictWriter(PrintableText(sys.stdout), fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(entry.row())


def write_json(entries: list[LogEntry]) -> None:
    click.echo(printable(json.dumps([entry.row() for entry in entries], indent=2, ensure_ascii=False)))


def _permalink(settings: Settings) -> Permalink | None:
    """Slack's chat.getPermalink when a bot token is configured (Slack is imported only then)."""
    if not settings.slack_bot_token:
        return None
    from bot.slack_io import SlackMessenger, web_client

    return SlackMessenger(web_client(settings.slack_for_posting())).permalink


async def _read(
    url: str, since: datetime, subject: Subject | None, instance: str | None, permalink: Permalink | None
) -> list[LogEntry]:
    from bot.store.sql_store import SqlRequestStore

    store = await SqlRequestStore.open(url)
    try:
        return await log_entries(store, since, subject=subject, instance=instance, permalink=permalink)
    finally:
        await store.close()


@click.command("log")
@click.argument("subject", required=False)
@click.option("--since", "since_text", default="30d", show_default=True, help="30d, 12h, 2w, or a date (UTC).")
@click.option("--instance", "instance_label", help="Only this instance (by label).")
@click.option(
    "--format",
    "output",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: a header row, then one row per request; json: one array of objects with the same keys.",
)
def log(subject: str | None, since_text: str, instance_label: str | None, output: str) -> None:
    """Decided requests (about SUBJECT: a username, team, email or namespace/repository), newest first."""
    now = datetime.now(UTC)
    try:
        since = parse_since(since_text, now)
        wanted = parse_subject(subject) if subject is not None else None
    except ValueError as error:  # InvalidInput is a ValueError too
        _usage(error.message if isinstance(error, InvalidInput) else str(error))
    try:
        settings = load_settings()
        if instance_label is not None and instance_label not in (known := settings.instances()):
            _usage(f"--instance {instance_label!r} is not configured; known instances: {', '.join(sorted(known))}")
        permalink = _permalink(settings)
        url = settings.database_url()
    except ConfigError as error:
        _usage(str(error))
    try:
        entries = asyncio.run(_read(url, since, wanted, instance_label, permalink))
    except Exception as error:  # the database: unreachable, unreadable
        click.echo(f"hubkeeper: cannot read the request log ({type(error).__name__}: {error})", err=True)
        sys.exit(EXIT_ERROR)
    (write_json if output == "json" else write_csv)(entries)
    about = f" about {wanted}" if wanted else ""
    click.echo(f"{len(entries)} decided request(s){about} since {since:%Y-%m-%d %H:%M} UTC", err=True)
    sys.exit(EXIT_OK)


__all__ = ["log", "parse_since"]
