"""The `hubkeeper` command line: wiring only; the behaviour lives in handlers/ and hub/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import click
from pydantic import SecretStr

from bot import logs
from bot.activity_cli import activity, emulator_web_ui
from bot.app import Bot, open_bot
from bot.index_cli import index
from bot.policy_cli import policy
from bot.review_cli import review
from bot.sandbox.run import run_sandbox
from bot.serve import serve_http, serve_socket_mode
from bot.settings import ConfigError, InstanceConfig, Settings, SlackConfig, load_settings
from bot.slack_io import SlackMessenger, web_client
from bot.store.db import default_database_url
from bot.store.digest_store import SqlDigestStore
from bot.store.sql_store import SqlRequestStore
from handlers.context import HandlerContext
from handlers.digest import post_digest
from handlers.health import CheckResult, run_health_checks
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo, seed_large, serve_forever
from hub.errors import HubError

EXIT_CONFIG = 2
LARGE_ORG = "bigcorp"


def _fail_config(error: ConfigError) -> None:
    click.echo(f"hubkeeper: {error}", err=True)
    sys.exit(EXIT_CONFIG)


def _select(instances: dict[str, InstanceConfig], label: str | None) -> list[InstanceConfig]:
    if label is None:
        return list(instances.values())
    if label not in instances:
        known = ", ".join(sorted(instances))
        raise ConfigError(f"--instance {label!r} is not configured; known instances: {known}")
    return [instances[label]]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log Docker Hub requests (credentials are never logged).")
def main(verbose: bool) -> None:
    """hubkeeper: run a Docker Hub organization from Slack."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _print_results(instance: InstanceConfig, results: Sequence[CheckResult]) -> None:
    click.echo(f"{instance.label} ({instance.organization_name} at {instance.api_url})")
    for result in results:
        mark = click.style("PASS", fg="green") if result.ok else click.style("FAIL", fg="red")
        click.echo(f"  {mark}  {result.name}: {result.detail}")


async def _check_instances(instances: Sequence[InstanceConfig]) -> bool:
    all_ok = True
    for instance in instances:
        async with HubClient(instance.connection()) as hub:
            results = await run_health_checks(hub)
        _print_results(instance, results)
        all_ok = all_ok and all(result.ok for result in results)
    return all_ok


@main.command()
@click.option("--instance", "label", help="Check only this instance (by its label).")
def check(label: str | None) -> None:
    """Run the health checks: exchange the OAT, list one member, list one team."""
    try:
        instances = _select(load_settings().instances(), label)
    except ConfigError as error:
        _fail_config(error)
        return
    sys.exit(0 if asyncio.run(_check_instances(instances)) else 1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", type=click.Choice(["demo", "large", "none"]), default="demo", show_default=True)
@click.option("--members", default=5000, show_default=True, type=click.IntRange(1), help="With --seed large.")
@click.option("--teams", default=300, show_default=True, type=click.IntRange(1), help="With --seed large.")
@click.option("--repositories", default=0, show_default=True, type=click.IntRange(0), help="With --seed large.")
@click.option("--token-ttl", default=600.0, show_default=True, type=click.FloatRange(min=1), help="JWT lifetime, s.")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--rate-limit", default=None, type=click.IntRange(1), help="Requests a minute; none by default.")
def emulator(
    host: str,
    port: int,
    seed: str,
    members: int,
    teams: int,
    repositories: int,
    token_ttl: float,
    latency_ms: float,
    rate_limit: int | None,
) -> None:
    """Serve the Docker Hub emulator (for the sandbox, demos and benchmarks)."""
    state = EmulatorState(
        EmulatorConfig(token_ttl_seconds=token_ttl, latency_ms=latency_ms, rate_limit_per_minute=rate_limit)
    )
    if seed == "demo":
        seed_demo(state)
        click.echo(f"demo org {DEMO.org!r}: DOCKERHUB_ORG={DEMO.org} DOCKERHUB_OAT={DEMO.oat} (emulator only)")
    elif seed == "large":
        oat = seed_large(state, members=members, teams=teams, repositories=repositories, org=LARGE_ORG)
        click.echo(f"large org {LARGE_ORG!r}: {members} members, {teams} teams; OAT {oat} (emulator only)")
    click.echo(f"Docker Hub emulator on http://{host}:{port} (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(state, host=host, port=port))


@main.command()
@click.option("--http", "http_mode", is_flag=True, help="Serve Slack's HTTP endpoint instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="With --http.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="With --http.")
def serve(http_mode: bool, host: str, port: int) -> None:
    """Run the bot: Socket Mode by default (needs SLACK_APP_TOKEN), or HTTP at POST /slack/events.

    Probes and metrics: GET /healthz, /readyz, /metrics on the Slack port in HTTP mode, on
    HUBKEEPER_ADMIN_PORT in Socket Mode.
    """
    # Configured before the settings are read, so that even their error is a line in the asked format.
    log_format = logs.requested_format()
    logs.configure(log_format, level=min(logging.getLogger().level or logging.WARNING, logging.WARNING))
    try:
        settings = load_settings()
        slack = settings.slack(http=http_mode)
        logs.add_secrets(_secret_values(slack))
        app_token = slack.app_token.get_secret_value() if slack.app_token else ""
        asyncio.run(_serve(settings, http_mode, host, port, app_token))
    except ConfigError as error:
        if log_format == "json":
            logging.getLogger("hubkeeper.serve").error("%s", error)
            sys.exit(EXIT_CONFIG)
        _fail_config(error)


def _secret_values(slack: SlackConfig, bot: Bot | None = None) -> list[str]:
    secrets = [slack.bot_token, slack.signing_secret, slack.app_token]
    if bot is not None:
        secrets += [secret for i in bot.instances.values() for secret in (i.organization_access_token, i.pat)]
    return [secret.get_secret_value() for secret in secrets if secret is not None]


async def _serve(settings: Settings, http_mode: bool, host: str, port: int, app_token: str) -> None:
    bot = await open_bot(settings, http=http_mode)
    logs.add_secrets(_secret_values(settings.slack(http=http_mode), bot))
    if http_mode:
        await serve_http(bot, host, port)
    else:
        await serve_socket_mode(bot, app_token, admin_port=settings.hubkeeper_admin_port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="The console's port.")
def sandbox(host: str, port: int) -> None:
    """Try the whole bot locally: Docker Hub emulator, Slack stand-in, the bot, and a console page."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sandbox(host, port))


def demo_instance(base_url: str) -> InstanceConfig:
    return InstanceConfig(
        label="demo",
        organization_name=DEMO.org,
        organization_access_token=SecretStr(DEMO.oat),
        api_url=base_url,
        pat_username=DEMO.pat_username,
        pat=SecretStr(DEMO.pat),
    )


async def _demo_tour(instance: InstanceConfig) -> bool:
    ok = await _check_instances([instance])
    async with HubClient(instance.connection()) as hub:
        members = await hub.list_members()
        teams = await hub.list_groups()
        invites = await hub.list_invites()
        repositories = await hub.list_repositories()
    owners = sorted(m.username for m in members if m.role_key == "owner")
    click.echo(
        f"\n{instance.organization_name}: {len(members)} members ({len(owners)} owners: {', '.join(owners)}), "
        f"{len(teams)} teams, {len(repositories)} repositories, {len(invites)} pending invites"
    )
    for team in teams:
        click.echo(f"  team {team.name:<14} {team.member_count or 0:>3} members  {team.description or ''}")
    return ok


@main.command()
def demo() -> None:
    """Start the emulator with the demo org and run the health checks and a short tour against it."""
    state = EmulatorState(EmulatorConfig())
    seed_demo(state)
    with EmulatorServer(state, host="127.0.0.1", port=0) as server:
        click.echo(f"Docker Hub emulator with the demo org at {server.base_url}\n")
        ok = asyncio.run(_demo_tour(demo_instance(server.base_url)))
    sys.exit(0 if ok else 1)


@main.command()
@click.option("--instance", "label", help="Only this instance (by its label).")
@click.option("--dry-run", is_flag=True, help="Print the digest instead of posting it (claims nothing).")
def digest(label: str | None, dry_run: bool) -> None:
    """Build the digest now and post it to the digest channel (or print it with --dry-run)."""
    try:
        settings = load_settings()
        instances = _select(settings.instances(), label)
        timezone = settings.digest_timezone()
        slack = None if dry_run else settings.slack_for_posting()
    except ConfigError as error:
        _fail_config(error)
        return
    posted = asyncio.run(_digest(settings, instances, timezone, slack))
    sys.exit(0 if posted else 1)


async def _digest(
    settings: Settings, instances: Sequence[InstanceConfig], timezone: str, slack: SlackConfig | None
) -> bool:
    store = await SqlRequestStore.open(settings.hubkeeper_database_url or default_database_url())
    poster = SlackMessenger(web_client(slack)) if slack is not None else None
    all_done = True
    try:
        for instance in instances:
            channel = instance.digest_channel or settings.hubkeeper_digest_channel
            if poster is not None and not channel:
                click.echo(f"hubkeeper: {instance.label}: no HUBKEEPER_DIGEST_CHANNEL to post to", err=True)
                all_done = False
                continue
            async with HubClient(instance.connection()) as hub:
                posted = await post_digest(
                    HandlerContext(hub=hub, instance=instance.label, actor="hubkeeper", store=store),
                    SqlDigestStore(store.engine),
                    poster,
                    channel,
                    claimed_by=f"cli:{socket.gethostname()}:{os.getpid()}",
                    now=datetime.now(UTC),
                    stale_after_days=settings.hubkeeper_stale_after_days,
                    timezone=timezone,
                    dry_run=poster is None,
                    echo=click.echo,
                )
            if poster is not None:
                click.echo(f"{instance.label}: " + ("posted" if posted else "already posted for this period"))
    except HubError as error:
        click.echo(f"hubkeeper: {error.message}", err=True)
        return False
    finally:
        await store.close()
    return all_done


main.add_command(review)
main.add_command(policy)
main.add_command(index)
main.add_command(activity)
main.add_command(emulator_web_ui)


if __name__ == "__main__":  # pragma: no cover
    main()
