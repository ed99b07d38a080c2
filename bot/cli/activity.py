"""`hubkeeper activity`: the org's audit log, one line per event (changes made outside hubkeeper, or
every event with --all, hubkeeper's own marked with their request); and `hubkeeper emulator-web-ui`,
which makes a change in the emulator as a person in Docker Hub's web UI would (for the sandbox)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import click
import httpx

from bot.cli.index import select_instances
from bot.settings import ConfigError, InstanceConfig, Settings, load_settings, parse_duration
from bot.store.activity_store import SqlActivityStore
from bot.store.sql_store import SqlRequestStore
from handlers.activity.feed import activity_report
from hub.client import HubClient
from hub.emulator import DEMO
from hub.errors import HubError

EXIT_CONFIG = 2
EXIT_FAILED = 1


async def _activity(settings: Settings, instances: list[InstanceConfig], since: datetime, everything: bool) -> bool:
    store = await SqlRequestStore.open(settings.database_url())
    activity = SqlActivityStore(store.engine)
    ok = True
    try:
        for instance in instances:
            try:
                async with HubClient(instance.connection()) as hub:
                    lines = await activity_report(hub, activity, instance.label, since=since, everything=everything)
            except HubError as error:
                click.echo(f"hubkeeper: {instance.label}: {error.message}", err=True)
                ok = False
                continue
            prefix = f"{instance.label}  " if len(instances) > 1 else ""
            for line in lines:
                click.echo(prefix + line)
            what = "events" if everything else "changes made outside hubkeeper"
            click.echo(f"{instance.label}: {len(lines)} {what} since {since:%Y-%m-%d %H:%M} UTC", err=True)
    finally:
        await store.close()
    return ok


@click.command()
@click.option("--since", "since_text", default="7d", show_default=True, help="How far back: 30m, 72h, 7d…")
@click.option("--instance", "label", metavar="LABEL", help="Only this instance (by its label).")
@click.option("--all", "everything", is_flag=True, help="Every event, hubkeeper's own marked with their request.")
def activity(since_text: str, label: str | None, everything: bool) -> None:
    """Print the audit log's member, invite and team changes made outside hubkeeper, one line each."""
    try:
        settings = load_settings()
        instances = select_instances(settings, label)
        since = datetime.now(UTC) - parse_duration("--since", since_text)
    except ConfigError as error:
        click.echo(f"hubkeeper: {error}", err=True)
        sys.exit(EXIT_CONFIG)
    sys.exit(0 if asyncio.run(_activity(settings, instances, since, everything)) else EXIT_FAILED)


@click.command("emulator-web-ui")
@click.option("--url", default="http://127.0.0.1:8765", show_default=True, help="The emulator's base URL.")
@click.option("--org", default=DEMO.org, show_default=True)
@click.option("--actor", default="carolsmith", show_default=True, help="Who makes the change in the web UI.")
@click.argument("action")
@click.argument("arguments", nargs=-1, metavar="KEY=VALUE...")
def emulator_web_ui(url: str, org: str, actor: str, action: str, arguments: tuple[str, ...]) -> None:
    """Make a change in the emulator as a person in Docker Hub's web UI would.

    For example `member.role.change username=ivanpetrov role=owner`; it shows in the audit log under --actor.
    """
    body: dict[str, str] = {"actor": actor, "action": action}
    for argument in arguments:
        key, separator, value = argument.partition("=")
        if not separator or not key:
            click.echo(f"hubkeeper: {argument!r} is not KEY=VALUE", err=True)
            sys.exit(EXIT_CONFIG)
        body[key] = value
    try:
        response = httpx.post(f"{url.rstrip('/')}/emulator/web-ui/{org}", json=body, timeout=10)
    except httpx.TransportError as error:
        click.echo(f"hubkeeper: cannot reach the emulator at {url} ({type(error).__name__})", err=True)
        sys.exit(EXIT_FAILED)
    if response.status_code != 200:
        detail = (
            response.json().get("detail", response.text)
            if "json" in response.headers.get("content-type", "")
            else response.text
        )
        click.echo(f"hubkeeper: the emulator refused it: {detail}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"{actor} did {action} in {org} (as in the web UI)")
